"""POST /admin/orders: one transaction, idempotent per order_id, and the order_recorded event."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from unittest import mock

import pytest

from app import app
from functions.core import queues
from functions.core.http import decode_json
from functions.customers.domain import get_customer
from functions.orders import domain, subscribers
from functions.orders.domain import OrderInput, bought_since, get_order, record_order
from functions.orders.models import OrderRow
from functions.orders.requests import OrderRequest
from infra.local.runtime import LambdaContext
from tests.races import ask


def uid(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def body(order_id: str, openid: str, **extra) -> str:
    data = {
        "order_id": order_id,
        "openid": openid,
        "store_id": "S1",
        "items": [
            {"sku": "FILTER", "qty": 2, "price_cents": 5000},
            {"sku": "AC-100", "qty": 1, "price_cents": 399900},
            {"sku": "FILTER", "qty": 1, "price_cents": 5000},
        ],
        "total_cents": 414900,
        "purchased_at": "2024-03-01T10:00:00+08:00",
        **extra,
    }
    return json.dumps(data)


def test_an_order_is_recorded_once(client, admin_headers):
    order_id, openid = uid("ord-"), uid("o-")
    # When ops record an order
    first = client.http.post("/admin/orders", headers=admin_headers, body=body(order_id, openid))
    # Then it is stored with its purchase lines
    assert first.status_code == 201
    created = json.loads(first.body)
    assert created["purchased_at"] == "2024-03-01T02:00:00.000000Z"
    order = get_order(order_id)
    assert order.openid == openid and order.total_cents == 414900 and order.store_id == "S1"
    assert bought_since(openid, "FILTER", datetime(2024, 2, 29, tzinfo=UTC))
    assert not bought_since(openid, "FILTER", datetime(2024, 3, 2, tzinfo=UTC))
    line = domain.PurchaseLineRow.get(f"ORDER#{order_id}", "LINE#FILTER")
    assert line.qty == 3  # repeated SKUs add up
    # And the same order_id again is a no-op that answers with the stored order
    again = client.http.post(
        "/admin/orders", headers=admin_headers, body=body(order_id, openid, total_cents=1)
    )
    assert again.status_code == 200
    assert {**json.loads(again.body), "created": True} == created


@pytest.mark.usefixtures("patient_clients")
def test_racing_posts_of_one_order_create_it_once(aws):
    order_id, openid = uid("ord-"), uid("o-")
    data = OrderInput(
        order_id,
        openid,
        None,
        [{"sku": "X", "qty": 1, "price_cents": 1}],
        1,
        "2024-03-01T00:00:00Z",
        None,
        None,
    )
    barrier = threading.Barrier(12)

    def one(_: int) -> bool:
        barrier.wait()
        return ask(lambda: record_order(data)).value[1]

    with ThreadPoolExecutor(12) as pool:
        created = list(pool.map(one, range(12)))
    assert created.count(True) == 1


def test_consent_is_recorded_with_the_order(client, admin_headers):
    openid = uid("o-")
    response = client.http.post(
        "/admin/orders", headers=admin_headers, body=body(uid("ord-"), openid, reminder_consent=True)
    )
    assert response.status_code == 201
    assert get_customer(openid).reminder_consent is True


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"order_id": ""}, "invalid_order_id"),
        ({"openid": None}, "invalid_openid"),
        ({"items": []}, "invalid_items"),
        ({"items": [{"sku": "A", "qty": 0, "price_cents": 1}]}, "invalid_qty"),
        ({"items": [{"sku": "A", "qty": True, "price_cents": 1}]}, "invalid_qty"),
        ({"items": [{"sku": "A", "qty": 1, "price_cents": -1}]}, "invalid_price_cents"),
        ({"total_cents": "10"}, "invalid_total_cents"),
        ({"purchased_at": "last tuesday"}, "invalid_purchased_at"),
        ({"purchased_at": "0001-01-01T00:00:00+14:00"}, "invalid_purchased_at"),
        ({"reminder_consent": "yes"}, "invalid_reminder_consent"),
        ({"shipment": {"carrier": "sf"}}, "invalid_tracking_no"),
        ({"order_id": "a#b"}, "invalid_order_id"),
        ({"items": [{"sku": f"S{i}", "qty": 1, "price_cents": 1} for i in range(51)]}, "invalid_items"),
    ],
)
def test_bad_input_is_400_and_changes_nothing(client, admin_headers, change, code):
    order_id = uid("ord-")
    data = {**json.loads(body(order_id, uid("o-"))), **change}
    response = client.http.post("/admin/orders", headers=admin_headers, body=json.dumps(data))
    assert response.status_code == 400
    assert json.loads(response.body)["error"] == code
    assert get_order(order_id) is None


def test_a_chinese_sku_is_refused_by_orders_as_by_reminders(client, admin_headers):
    # The one SKU grammar (CONTRACT §1): an order cannot hold a SKU reminders would refuse.
    data = {
        **json.loads(body(uid("ord-"), uid("o-"))),
        "items": [{"sku": "神仙水", "qty": 1, "price_cents": 1}],
    }
    response = client.http.post("/admin/orders", headers=admin_headers, body=json.dumps(data))
    assert (response.status_code, json.loads(response.body)["error"]) == (400, "invalid_sku")


def test_admin_key_is_required(client):
    order_id = uid("ord-")
    response = client.http.post(
        "/admin/orders", headers={"Content-Type": "application/json"}, body=body(order_id, uid("o-"))
    )
    assert response.status_code == 401
    assert get_order(order_id) is None


def test_an_event_lost_on_the_first_attempt_is_published_by_the_retry(client, admin_headers):
    order_id, openid = uid("ord-"), uid("o-")
    sent: list[dict] = []

    def broken(logical, message, delay_s=0):
        raise RuntimeError("SQS unavailable")

    def capture(logical, message, delay_s=0):
        sent.append(message)
        return "id"

    # Given the queue fails right after the order is stored
    with mock.patch.object(queues, "send", broken), pytest.raises(RuntimeError):
        domain.record_order(domain_input(order_id, openid))
    assert get_order(order_id) is not None
    # When ops retry the POST, the event goes out; a further retry does not repeat it
    with mock.patch.object(queues, "send", capture):
        assert (
            client.http.post("/admin/orders", headers=admin_headers, body=body(order_id, openid)).status_code
            == 200
        )
        assert (
            client.http.post("/admin/orders", headers=admin_headers, body=body(order_id, openid)).status_code
            == 200
        )
    assert [m["order_id"] for m in sent] == [order_id]
    assert sent[0]["type"] == "order_recorded"
    assert OrderRow.get(f"ORDER#{order_id}", "ORDER").event_published_at is not None


def domain_input(order_id: str, openid: str) -> OrderInput:
    return decode_json(body(order_id, openid).encode(), OrderRequest).to_input()


# -- the order-events consumer -----------------------------------------------------------

CALLS: list[dict] = []


def record_call(event: dict) -> None:
    CALLS.append(event)


def fail_for_bad(event: dict) -> None:
    if event["order_id"].startswith("bad"):
        raise ValueError("subscriber failed")


def test_consumer_calls_every_subscriber_and_reports_failed_records(aws):
    CALLS.clear()
    specs = (record_call, fail_for_bad)
    records = [
        {
            "messageId": f"m-{name}",
            "receiptHandle": "r",
            "body": json.dumps({"type": "order_recorded", "order_id": name}),
            "attributes": {},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q",
            "awsRegion": "us-east-1",
        }
        for name in ("good-1", "bad-2", "good-3")
    ]
    with mock.patch.object(subscribers, "SUBSCRIBERS", specs):
        result = app.handler_map["order_events"]({"Records": records}, LambdaContext("order_events"))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-bad-2"}]}
    assert [c["order_id"] for c in CALLS] == ["good-1", "bad-2", "good-3"]  # every subscriber tried


def test_recorded_order_reaches_subscribers_through_the_queue(client, admin_headers):
    from tests.conftest import drain

    CALLS.clear()
    order_id = uid("ord-")
    with mock.patch.object(subscribers, "SUBSCRIBERS", (record_call,)):
        client.http.post("/admin/orders", headers=admin_headers, body=body(order_id, uid("o-")))
        drain("order-events", "order_events")
    mine = [c for c in CALLS if c.get("order_id") == order_id]  # the queue is shared with other tests
    assert len(mine) == 1
    assert mine[0]["items"][0]["sku"] == "FILTER" and mine[0]["total_cents"] == 414900


def test_a_tracking_number_linked_to_another_order_is_409_and_records_nothing(client, admin_headers):
    # Given an order linked to a shipment
    tracking_no = uid("SF")
    first = body(uid("ord-"), uid("o-"), shipment={"carrier": "SF", "tracking_no": tracking_no})
    assert client.http.post("/admin/orders", headers=admin_headers, body=first).status_code == 201
    # When another order claims the same tracking number (the carrier normalised alike)
    other, openid = uid("ord-"), uid("o-")
    second = body(
        other, openid, reminder_consent=True, shipment={"carrier": "sf", "tracking_no": tracking_no}
    )
    response = client.http.post("/admin/orders", headers=admin_headers, body=second)
    # Then it is refused, and nothing of it is stored: no order, no purchase line, no consent
    assert (response.status_code, json.loads(response.body)["error"]) == (409, "shipment_linked_elsewhere")
    assert get_order(other) is None
    assert not bought_since(openid, "FILTER", datetime(2024, 1, 1, tzinfo=UTC))
    assert get_customer(openid) is None
