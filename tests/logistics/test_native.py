"""Native pushes (JSON + HMAC) and the status machine over HTTP: in order, out of order,
repeated, and an unknown tracking number attached when its order arrives later."""

from __future__ import annotations

import json

import pytest

from functions.logistics.shipments import get_shipment, notification_id
from functions.notifications.domain import get_notification
from tests.logistics.support import native_body, native_headers, order_body, unique

MAIN = [
    ("picked_up", "2024-05-01T08:00:00+08:00", 10),
    ("in_transit", "2024-05-01T20:00:00+08:00", 20),
    ("out_for_delivery", "2024-05-02T08:00:00+08:00", 30),
    ("delivered", "2024-05-02T11:00:00+08:00", 50),
]


def send(client, tracking_no: str, status: str, at: str, event_id: str | None = None, carrier="yuantong"):
    raw = native_body(
        tracking_no, status, at, carrier=carrier, event_id=event_id, location="上海", detail=status
    )
    return client.http.post("/logistics/events", headers=native_headers(raw), body=raw)


def messages(shipment: dict) -> dict[str, dict]:
    """The customer's shipment notifications that exist, by status."""
    found = {}
    for status, _, position in [*MAIN, ("failed_attempt", "", 40), ("returned", "", 60)]:
        note = get_notification(notification_id("yuantong", shipment["tracking_no"], status, position))
        if note is not None:
            found[status] = note
    return found


def test_events_in_order_message_once_per_status(client, shipment):
    for status, at, _ in MAIN:
        response = send(client, shipment["tracking_no"], status, at)
        assert response.status_code == 202
        assert json.loads(response.body)["changed_to"] == status
    stored = get_shipment("yuantong", shipment["tracking_no"])
    assert stored.status == "delivered"
    assert [h["status"] for h in stored.history] == [
        "delivered",
        "out_for_delivery",
        "in_transit",
        "picked_up",
    ]
    assert set(messages(shipment)) == {"picked_up", "in_transit", "out_for_delivery", "delivered"}


def test_out_of_order_and_repeated_events_never_move_back(client, shipment):
    ids = {status: unique("ev-") for status, _, _ in MAIN}
    # delivered arrives first, then the older events late, then everything again
    for status, at, _ in [MAIN[3], MAIN[1], MAIN[0], MAIN[2], *MAIN]:
        assert send(client, shipment["tracking_no"], status, at, event_id=ids[status]).status_code == 202
    stored = get_shipment("yuantong", shipment["tracking_no"])
    assert stored.status == "delivered"
    assert len(stored.history) == 4  # each event once
    assert set(messages(shipment)) == {"delivered"}


def test_failed_attempt_links_to_rebooking(client, shipment):
    send(client, shipment["tracking_no"], "out_for_delivery", MAIN[2][1])
    send(client, shipment["tracking_no"], "failed_attempt", "2024-05-02T12:00:00+08:00")
    note = messages(shipment)["failed_attempt"]
    assert note["url"] == f"http://127.0.0.1:8000/h5/book?order_id={shipment['order_id']}"
    assert note["fields"]["status"] == "派送未成功"


def test_unknown_tracking_number_is_kept_and_attached_when_the_order_arrives(client, admin_headers):
    tracking_no, openid, order_id = unique("YT"), unique("o-"), unique("ord-")
    # Given pushes for a tracking number no order mentions yet
    send(client, tracking_no, "picked_up", MAIN[0][1])
    send(client, tracking_no, "in_transit", MAIN[1][1])
    assert get_shipment("yuantong", tracking_no).status == "in_transit"
    shipment = {"tracking_no": tracking_no}
    assert messages(shipment) == {}
    # When the order arrives
    body = order_body(order_id, openid, "yuantong", tracking_no)
    assert client.http.post("/admin/orders", headers=admin_headers, body=body).status_code == 201
    # Then the customer hears the current status once, and a repeat changes nothing
    assert client.http.post("/admin/orders", headers=admin_headers, body=body).status_code == 200
    send(client, tracking_no, "in_transit", MAIN[1][1])
    found = messages(shipment)
    assert set(found) == {"in_transit"}
    assert found["in_transit"]["openid"] == openid


def test_a_tracking_number_of_another_order_is_refused(client, admin_headers, shipment):
    other = unique("ord-")
    body = order_body(other, unique("o-"), "yuantong", shipment["tracking_no"])
    response = client.http.post("/admin/orders", headers=admin_headers, body=body)
    assert response.status_code == 409
    assert json.loads(response.body)["error"] == "shipment_linked_elsewhere"
    from functions.orders.domain import get_order

    assert get_order(other) is None


def test_bad_signature_is_401_and_nothing_is_stored(client):
    tracking_no = unique("YT")
    raw = native_body(tracking_no, "picked_up", MAIN[0][1])
    for headers in (
        native_headers(raw, secret="wrong"),
        {"Content-Type": "application/json"},
        {**native_headers(raw), "X-Signature": native_headers(raw)["X-Signature"].replace("sha256=", "md5=")},
    ):
        response = client.http.post("/logistics/events", headers=headers, body=raw)
        assert response.status_code == 401
        assert json.loads(response.body)["error"] == "bad_signature"
    assert get_shipment("acme", tracking_no) is None


@pytest.mark.parametrize(
    ("mutate", "status_code"),
    [
        (lambda b: {**b, "status": "teleported"}, 422),
        (lambda b: {k: v for k, v in b.items() if k != "event_id"}, 400),
        (lambda b: {**b, "occurred_at": "not a time"}, 400),
        (lambda b: {**b, "tracking_no": ""}, 400),
        (lambda b: [b], 400),
    ],
)
def test_malformed_or_unknown_is_refused_and_nothing_is_stored(client, mutate, status_code):
    tracking_no = unique("YT")
    raw = json.dumps(mutate(json.loads(native_body(tracking_no, "picked_up", MAIN[0][1])))).encode()
    response = client.http.post("/logistics/events", headers=native_headers(raw), body=raw)
    assert response.status_code == status_code
    assert get_shipment("acme", tracking_no) is None


@pytest.mark.parametrize(
    ("mutate", "status_code", "error"),
    [
        (lambda b: {**b, "status": "teleported"}, 422, "unknown_status"),
        (lambda b: {**b, "status": 7}, 400, "invalid_status"),
        (lambda b: {k: v for k, v in b.items() if k != "event_id"}, 400, "invalid_event_id"),
        (lambda b: {**b, "event_id": "x" * 65}, 400, "invalid_event_id"),
        (lambda b: {**b, "carrier": "yuan tong"}, 400, "invalid_carrier"),
        (lambda b: {**b, "tracking_no": "YT#1"}, 400, "invalid_tracking_no"),
        (lambda b: {**b, "occurred_at": "not a time"}, 400, "invalid_occurred_at"),
        (lambda b: {**b, "occurred_at": "0001-01-01T00:00:00+08:00"}, 400, "invalid_occurred_at"),
        (lambda b: {**b, "detail": "x" * 1001}, 400, "invalid_detail"),
        (lambda b: [b], 400, "invalid_json"),
    ],
)
def test_each_fault_names_its_field(client, mutate, status_code, error):
    # Given a correctly signed body with one fault, Then the answer names the field (CONTRACT §1)
    tracking_no = unique("YT")
    raw = json.dumps(mutate(json.loads(native_body(tracking_no, "picked_up", MAIN[0][1])))).encode()
    response = client.http.post("/logistics/events", headers=native_headers(raw), body=raw)
    assert (response.status_code, json.loads(response.body)["error"]) == (status_code, error)
    assert get_shipment("acme", tracking_no) is None


def test_a_bad_signature_is_refused_before_the_body_is_read(client):
    raw = b'{"not": "an event"'
    response = client.http.post("/logistics/events", headers=native_headers(raw, secret="wrong"), body=raw)
    assert response.status_code == 401
    assert json.loads(response.body)["error"] == "bad_signature"


def test_a_time_without_offset_is_business_time_and_the_carrier_is_lower_case(client):
    tracking_no = unique("YT")
    raw = native_body(tracking_no, "picked_up", "2024-05-01T08:00:00", carrier="YuanTong", detail="  已揽收 ")
    assert client.http.post("/logistics/events", headers=native_headers(raw), body=raw).status_code == 202
    stored = get_shipment("yuantong", tracking_no)
    assert stored.status_at == "2024-05-01T00:00:00.000000Z"
    assert stored.history[0]["context"] == "已揽收"
