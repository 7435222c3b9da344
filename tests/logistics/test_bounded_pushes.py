"""Bounded work (issue 14 §5): one Kuaidi100 push carries at most MAX_PUSH_BYTES and is stored
as its newest MAX_PUSH_ENTRIES entries, so a push costs a bounded number of DynamoDB calls and a
re-push reads a bounded number of items, however long the history it carries. Counted in calls
and items, never in seconds."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from unittest import mock
from urllib.parse import urlencode

from functions.logistics import pushes, shipments
from functions.logistics.shipments import get_shipment, notification_id
from functions.notifications.domain import get_notification
from tests.conftest import customer_headers
from tests.logistics.support import FORM_HEADERS, DynamoCalls, sign

OK = {"result": True, "returnCode": "200", "message": "成功"}
START = datetime(2024, 5, 1, 8, 0, 0)


def long_history(tracking_no: str, entries: int) -> str:
    """A compact `param` of `entries` history entries `c0`, `c1`, ... a minute apart, sent newest
    first, in state 3 (delivered)."""
    data = [
        {"time": (START + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S"), "context": f"c{i}"}
        for i in range(entries)
    ][::-1]
    body = {
        "status": "polling",
        "lastResult": {"state": "3", "com": "yuantong", "nu": tracking_no, "data": data},
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def form(param: str) -> str:
    # JSON's own punctuation left unescaped (parse_qs reads it as is), as the 489 KB push was sent.
    return urlencode({"param": param, "sign": sign(param)}, safe='{}[]":,')


def post(client, body: str):
    return client.http.post("/logistics/kuaidi100", headers=FORM_HEADERS, body=body)


def test_a_10000_entry_push_is_answered_in_a_bounded_number_of_calls(client, shipment):
    # Given a signed push carrying 10,000 history entries, under the byte cap
    body = form(long_history(shipment["tracking_no"], 10_000))
    assert len(body.encode()) <= pushes.MAX_PUSH_BYTES
    # When Kuaidi100 pushes it
    with DynamoCalls() as calls:
        response = post(client, body)
    # Then it is answered in Kuaidi100's shape after a bounded number of DynamoDB calls:
    # one read, one put per kept entry, the status write with its message (one transaction)
    assert (response.status_code, json.loads(response.body)) == (200, OK)
    assert len(calls.calls) <= 1 + pushes.MAX_PUSH_ENTRIES + 2, calls.calls
    # And the newest MAX_PUSH_ENTRIES entries are the stored history, newest first
    stored = get_shipment("yuantong", shipment["tracking_no"])
    assert stored.status == "delivered"
    assert len(stored.history) == pushes.MAX_PUSH_ENTRIES
    assert stored.history[0]["context"] == "c9999"
    assert stored.history[-1]["context"] == f"c{10_000 - pushes.MAX_PUSH_ENTRIES}"
    # And the customer is told once: the status change recorded its message (the outbox)
    assert get_notification(notification_id("yuantong", shipment["tracking_no"], "delivered", 50))


def test_a_repush_of_a_long_history_reads_a_bounded_number_of_items(client, shipment):
    tracking_no = shipment["tracking_no"]
    assert post(client, form(long_history(tracking_no, 10_000))).status_code == 200
    # When the same history is pushed again, and then with one more entry
    for entries, new in ((10_000, 0), (10_001, 1)):
        with DynamoCalls() as calls:
            response = post(client, form(long_history(tracking_no, entries)))
        assert (response.status_code, json.loads(response.body)) == (200, OK)
        # Then it reads one page of at most the kept entries and the shipment row
        assert calls.reads == ["Query"], calls.calls
        assert calls.items_read <= pushes.MAX_PUSH_ENTRIES + 1
        # And writes only what is new (the oldest kept entry, now past the cap, stays stored)
        assert len([c for c in calls.writes if c == "PutItem"]) == new
    assert len(shipments.history(shipments.shipment_pk("yuantong", tracking_no), None)) == (
        pushes.MAX_PUSH_ENTRIES + 1
    )


def test_the_customer_sees_the_newest_history_of_a_long_push(client, shipment):
    assert post(client, form(long_history(shipment["tracking_no"], 10_000))).status_code == 200
    with DynamoCalls() as calls:
        response = client.http.get("/shipments", headers=customer_headers(shipment["openid"]))
    assert response.status_code == 200
    [mine] = json.loads(response.body)
    assert mine["status"] == "delivered"
    assert len(mine["history"]) == shipments.HISTORY_VIEW_LIMIT
    assert mine["history"][0]["context"] == "c9999"
    times = [h["time"] for h in mine["history"]]
    assert times == sorted(times, reverse=True)
    assert calls.items_read <= 1 + shipments.HISTORY_VIEW_LIMIT


def test_a_push_over_the_byte_cap_is_refused_in_kuaidi100s_shape_and_stores_nothing(client, shipment):
    param = long_history(shipment["tracking_no"], 3)
    padded = urlencode({"param": param, "sign": sign(param), "pad": "x" * pushes.MAX_PUSH_BYTES})
    response = post(client, padded)
    body = json.loads(response.body)
    assert (response.status_code, body["result"], body["returnCode"]) == (413, False, "500")
    assert get_shipment("yuantong", shipment["tracking_no"]).history == []


def test_entries_past_the_cap_are_not_read(client, shipment):
    # An entry Kuaidi100 would not send (no time) beyond the newest MAX_PUSH_ENTRIES is never
    # decoded: the push is taken on its newest entries.
    body = json.loads(long_history(shipment["tracking_no"], pushes.MAX_PUSH_ENTRIES))
    body["lastResult"]["data"].append({"context": "no time"})
    param = json.dumps(body, ensure_ascii=False)
    response = post(client, urlencode({"param": param, "sign": sign(param)}))
    assert (response.status_code, json.loads(response.body)) == (200, OK)
    assert len(get_shipment("yuantong", shipment["tracking_no"]).history) == pushes.MAX_PUSH_ENTRIES


def test_a_push_that_runs_out_of_time_asks_for_a_retry_and_the_retry_completes_it(client, shipment):
    tracking_no = shipment["tracking_no"]
    body = form(long_history(tracking_no, 50))
    # Given a DynamoDB that answers each put 20 ms late, and a 0.2 s budget for the history
    real_put = shipments._put_event

    def slow_put(*args, **kwargs):
        time.sleep(0.02)
        return real_put(*args, **kwargs)

    with (
        mock.patch.object(shipments, "_put_event", slow_put),
        mock.patch.object(shipments, "HISTORY_BUDGET_S", 0.2),
    ):
        response = post(client, body)
    # Then the answer comes before the work is done, in Kuaidi100's failure shape, so it re-pushes
    answer = json.loads(response.body)
    assert (response.status_code, answer["result"], answer["returnCode"]) == (503, False, "500")
    partial = get_shipment("yuantong", tracking_no)
    assert 0 < len(partial.history) < 50
    assert partial.status is None  # persist first: the status moves only once the history is in
    # When Kuaidi100 re-pushes with DynamoDB healthy again
    assert post(client, body).status_code == 200
    # Then the history is complete, each entry once, and the customer is told once
    stored = get_shipment("yuantong", tracking_no)
    assert len(stored.history) == 50 and stored.status == "delivered"
    assert get_notification(notification_id("yuantong", tracking_no, "delivered", 50))
