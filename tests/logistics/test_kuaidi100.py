"""Kuaidi100 pushes: signed form posts carrying the whole history, newest first."""

from __future__ import annotations

import json

from functions.logistics.shipments import get_shipment, notification_id
from functions.notifications.domain import get_notification
from functions.notifications.templates import template_for
from infra.local.sandbox import data_errcode
from tests.logistics.support import (
    FORM_HEADERS,
    KUAIDI100_SAMPLE,
    DynamoCalls,
    kuaidi100_form,
    kuaidi100_param,
    sign,
    unique,
)

OK = {"result": True, "returnCode": "200", "message": "成功"}


def push(client, param: str, signature: str | None = None):
    return client.http.post(
        "/logistics/kuaidi100", headers=FORM_HEADERS, body=kuaidi100_form(param, signature)
    )


def sample_for(tracking_no: str) -> str:
    body = json.loads(json.dumps(KUAIDI100_SAMPLE))
    body["lastResult"]["nu"] = tracking_no
    return json.dumps(body, ensure_ascii=False)


def test_documented_sample_is_stored_and_the_customer_told_once(client, shipment):
    # Given the customer's order ships with the tracking number of Kuaidi100's sample
    param = sample_for(shipment["tracking_no"])
    # When Kuaidi100 pushes its final result (state 3, ischeck 1, two entries)
    response = push(client, param)
    # Then it gets Kuaidi100's success answer, after the push is stored
    assert response.status_code == 200
    assert json.loads(response.body) == OK
    stored = get_shipment("yuantong", shipment["tracking_no"])
    assert stored.status == "delivered"
    assert [e["context"] for e in stored.history] == ["上海分拨中心/已签收", "上海分拨中心/装件入车扫描"]
    assert stored.history[0]["time"] == "2012-08-28T08:33:19.000000Z"  # business time (UTC+8) -> UTC
    # And exactly one template message is queued for the change
    note = get_notification(notification_id("yuantong", shipment["tracking_no"], "delivered", 50))
    assert note["openid"] == shipment["openid"]
    assert note["kind"] == "shipment_status"
    assert note["fields"]["status"] == "已签收"
    shown = template_for("shipment_status").render(note["fields"])  # as the worker sends it
    assert data_errcode(shown) == 0


def test_a_repush_with_nothing_new_costs_reads_only(client, shipment):
    param = sample_for(shipment["tracking_no"])
    assert push(client, param).status_code == 200
    with DynamoCalls() as calls:
        response = push(client, param)
    assert json.loads(response.body) == OK
    assert calls.writes == []
    assert calls.reads == ["Query"]


def test_uppercase_sign_is_accepted(client):
    tracking_no = unique("YT")
    param = kuaidi100_param(tracking_no, [("2024-05-01 10:00:00", "已揽收", "1")], "1")
    response = push(client, param, sign(param).upper())
    assert response.status_code == 200
    assert get_shipment("yuantong", tracking_no).status == "picked_up"


def test_a_bad_sign_is_refused_and_nothing_is_stored(client):
    tracking_no = unique("YT")
    param = kuaidi100_param(tracking_no, [("2024-05-01 10:00:00", "已揽收", "1")], "1")
    response = push(client, param, sign(param, salt="wrong"))
    assert response.status_code == 401
    body = json.loads(response.body)
    assert body["result"] is False and body["returnCode"] == "500" and body["message"]
    assert get_shipment("yuantong", tracking_no) is None


def test_a_malformed_param_is_refused_and_nothing_is_stored(client):
    tracking_no = unique("YT")
    for param in [
        "not json",
        json.dumps({"lastResult": {"com": "yuantong", "nu": tracking_no, "data": [{"time": "yesterday"}]}}),
    ]:
        response = push(client, param)
        assert response.status_code == 400
        assert json.loads(response.body)["result"] is False
    assert get_shipment("yuantong", tracking_no) is None


def test_a_malformed_param_names_its_field_in_kuaidi100s_answer(client):
    tracking_no = unique("YT")
    good = json.loads(kuaidi100_param(tracking_no, [("2024-05-01 10:00:00", "已揽收", "1")], "1"))
    cases = [
        ("not json", "invalid_json"),
        (json.dumps({"status": "polling"}), "invalid_lastResult"),
        (json.dumps({**good, "lastResult": {**good["lastResult"], "nu": ""}}), "invalid_nu"),
        (json.dumps({**good, "lastResult": {**good["lastResult"], "com": "yuan#tong"}}), "invalid_com"),
        (
            json.dumps({**good, "lastResult": {**good["lastResult"], "data": [{"context": "x"}]}}),
            "invalid_time",
        ),
    ]
    for param, error in cases:
        response = push(client, param)
        body = json.loads(response.body)
        assert (response.status_code, body["result"], body["returnCode"], body["error"]) == (
            400,
            False,
            "500",
            error,
        ), param
    assert get_shipment("yuantong", tracking_no) is None


def test_abort_is_recorded_and_does_not_message(client, shipment):
    tracking_no = shipment["tracking_no"]
    param = kuaidi100_param(
        tracking_no, [("2024-05-01 10:00:00", "已揽收", "1")], "1", status="abort", message="3天查询无记录"
    )
    assert push(client, param).status_code == 200
    stored = get_shipment("yuantong", tracking_no)
    assert stored.monitor_status == "abort"
    assert stored.status is None
    assert len(stored.history) == 1
    assert get_notification(notification_id("yuantong", tracking_no, "picked_up", 10)) is None


def test_status_code_refines_state(client, shipment):
    # state 2 (疑难) with statusCode 204 (派件异常) is a failed delivery attempt
    param = kuaidi100_param(
        shipment["tracking_no"],
        [("2024-05-01 08:00:00", "派件中", "5"), ("2024-05-01 18:00:00", "派件异常：联系不上收件人", "204")],
        "2",
    )
    assert push(client, param).status_code == 200
    assert get_shipment("yuantong", shipment["tracking_no"]).status == "failed_attempt"
    note = get_notification(notification_id("yuantong", shipment["tracking_no"], "failed_attempt", 40))
    assert note["url"].endswith(f"/h5/book?order_id={shipment['order_id']}")
