"""The outbox: records relayed from the table's stream to the queue, never lost, never sent
twice, and a stale message dropped instead of sent late."""

from __future__ import annotations

import logging
import uuid

import pytest

from functions.core import queues
from functions.core.http import decode_json
from functions.logistics import pushes, shipments
from functions.logistics.requests import NativeEvent
from functions.notifications import outbox, worker
from functions.notifications.domain import notify
from functions.orders.domain import OrderInput, record_order
from tests.conftest import relay_outbox, wait_for
from tests.logistics.support import native_body
from tests.notifications.conftest import (
    VALUES,
    customer,
    deliver_again,
    drain_notifications,
    fault,
    record,
    sent_to,
)

SEND = "cgi-bin/message/template/send"
FIELDS = VALUES


def insert(notification_id: str, openid: str, kind: str = "shipment_status", **image: dict) -> dict:
    """A stream record as Lambda delivers it for a new notification record."""
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": "INSERT",
        "dynamodb": {
            "NewImage": {
                "pk": {"S": notification_id},
                "sk": {"S": "N"},
                "status": {"S": "queued"},
                "openid": {"S": openid},
                "kind": {"S": kind},
                **image,
            }
        },
    }


@pytest.fixture
def requeued(monkeypatch):
    """Deferred messages re-enqueued by the worker, captured instead of waiting out their delay."""
    captured: list[tuple[dict, int]] = []
    monkeypatch.setattr(worker, "requeue", lambda body, delay: captured.append((body, delay)))
    return captured


def test_a_record_the_stream_delivers_twice_is_sent_once(sandbox, aws):
    # Given a recorded message, relayed from the stream
    openid = customer()
    nid = notify(openid, "shipment_status", FIELDS)
    relay_outbox()
    # When the stream delivers its record again (Lambda retries a batch, or bisects one)
    assert outbox.relay([insert(nid, openid), insert(nid, openid)]) == 2
    drain_notifications()
    # Then WeChat got it once, and the record was claimed once
    assert len(sent_to(sandbox, openid)) == 1
    assert [h["status"] for h in record(nid)["history"]] == ["queued", "sending", "sent"]


def test_a_relay_that_cannot_enqueue_gets_the_same_records_again_until_it_can(
    sandbox, aws, monkeypatch, caplog
):
    caplog.set_level(logging.WARNING, logger=outbox.__name__)
    relay_outbox()  # whatever earlier tests left
    # Given SQS refuses every send
    real_send_many = queues.send_many

    def refused(logical, bodies):
        raise RuntimeError("AWS.SimpleQueueService.NonExistentQueue")

    monkeypatch.setattr(queues, "send_many", refused)
    # When a message is recorded and the relay runs
    openid = customer()
    nid = notify(openid, "coupon_issued", FIELDS)
    assert relay_outbox() == 0
    # Then it says so, and the record waits, queued
    assert f"could not enqueue notifications {nid}" in caplog.text
    drain_notifications()
    assert record(nid)["status"] == "queued" and sent_to(sandbox, openid) == []
    # And once SQS is back, the stream's retry delivers it, once
    monkeypatch.setattr(queues, "send_many", real_send_many)
    assert wait_for(lambda: relay_outbox() or sent_to(sandbox, openid), timeout=20)
    drain_notifications()
    assert len(sent_to(sandbox, openid)) == 1 and record(nid)["status"] == "sent"


def test_only_new_notification_records_are_relayed(aws, monkeypatch):
    sent: list[dict] = []
    monkeypatch.setattr(queues, "send_many", lambda logical, bodies: sent.extend(bodies))
    # Given the worker's own updates, other items of the table and a record not queued
    modify = insert("n-1", "o-1") | {"eventName": "MODIFY"}
    cap_item = insert("CAP#o-1", "o-1")
    cap_item["dynamodb"]["NewImage"]["sk"] = {"S": "CAPS"}
    settled = insert("n-2", "o-1", status={"S": "skipped:unsubscribed"})
    # When they come through the stream, nothing is enqueued
    assert outbox.relay([modify, cap_item, settled]) == 0
    assert sent == []
    # And a new record is enqueued with what the worker needs to decide without reading it
    assert outbox.relay([insert("n-3", "o-3", kind="booking_confirmed")]) == 1
    assert sent == [{"notification_id": "n-3", "openid": "o-3", "kind": "booking_confirmed"}]


# -- stale messages ----------------------------------------------------------------------


def linked_shipment(openid: str) -> str:
    tracking_no = f"T{uuid.uuid4().hex[:10].upper()}"
    record_order(
        OrderInput(
            order_id=f"ord-{uuid.uuid4().hex[:10]}",
            openid=openid,
            store_id=None,
            items=[{"sku": "AC-1", "qty": 1, "price_cents": 100}],
            total_cents=100,
            purchased_at="2024-05-01T00:00:00Z",
            reminder_consent=None,
            shipment={"carrier": "acme", "tracking_no": tracking_no},
        )
    )
    return tracking_no


def push(tracking_no: str, status: str, at: str) -> None:
    event = decode_json(native_body(tracking_no, status, at), NativeEvent)
    shipments.ingest(pushes.native_push(event))


def test_a_status_deferred_by_the_quota_is_dropped_once_a_later_status_exists(sandbox, aws, requeued):
    # Given a linked shipment, and WeChat's daily quota reached for its customer's next send
    openid = customer()
    tracking_no = linked_shipment(openid)
    fault(sandbox, api=SEND, errcode=45009, count=1, openid=openid)
    # When it goes out for delivery, that message is deferred by the quota
    push(tracking_no, "out_for_delivery", "2024-05-02T08:00:00Z")
    drain_notifications()
    out_for_delivery = shipments.notification_id("acme", tracking_no, "out_for_delivery", 30)
    assert record(out_for_delivery)["status"] == "deferred:quota"
    [(deferred, _)] = requeued
    # And it is delivered meanwhile: that message is sent
    push(tracking_no, "delivered", "2024-05-02T11:00:00Z")
    drain_notifications()
    delivered = shipments.notification_id("acme", tracking_no, "delivered", 50)
    assert record(delivered)["status"] == "sent"
    # Then when the deferred message comes back after the quota reset, it is dropped, not sent late
    deliver_again({**deferred, "not_before": None})
    stale = record(out_for_delivery)
    assert stale["status"] == "skipped:superseded"
    assert stale["history"][-1]["detail"] == f"by {delivered}"
    assert [m["data"]["thing2"]["value"] for m in sent_to(sandbox, openid)] == ["已签收"]


def test_a_message_already_sent_is_never_marked_stale(sandbox, aws):
    # Given a status whose message was sent
    openid = customer()
    tracking_no = linked_shipment(openid)
    push(tracking_no, "picked_up", "2024-05-01T08:00:00Z")
    drain_notifications()
    picked_up = shipments.notification_id("acme", tracking_no, "picked_up", 10)
    assert record(picked_up)["status"] == "sent"
    # When a later status is announced
    push(tracking_no, "in_transit", "2024-05-01T12:00:00Z")
    drain_notifications()
    # Then the sent one keeps its story, and both reached the customer in order
    assert record(picked_up)["status"] == "sent" and record(picked_up)["superseded_by"] is None
    assert [m["data"]["thing2"]["value"] for m in sent_to(sandbox, openid)] == ["已揽收", "运输中"]


def test_a_later_status_before_the_first_was_sent_leaves_one_message(sandbox, aws):
    # Given two status changes recorded before the relay and the worker ran
    openid = customer()
    tracking_no = linked_shipment(openid)
    push(tracking_no, "picked_up", "2024-05-01T08:00:00Z")
    push(tracking_no, "in_transit", "2024-05-01T12:00:00Z")
    # When both are relayed and the worker runs
    drain_notifications()
    # Then only the newer reached the customer; the older is recorded as superseded
    picked_up = shipments.notification_id("acme", tracking_no, "picked_up", 10)
    assert record(picked_up)["status"] == "skipped:superseded"
    assert [m["data"]["thing2"]["value"] for m in sent_to(sandbox, openid)] == ["运输中"]


def test_a_status_write_that_loses_its_race_leaves_no_message(aws):
    from functions.core import clock
    from functions.logistics import status as machine
    from functions.notifications.domain import get_notification

    # Given a writer that read the shipment before another push moved it
    openid = customer()
    tracking_no = linked_shipment(openid)
    pk = shipments.shipment_pk("acme", tracking_no)
    stale = shipments._get(pk)
    push(tracking_no, "picked_up", "2024-05-01T08:00:00Z")
    # When it writes its own change on what it read
    change = pushes.native_push(
        decode_json(native_body(tracking_no, "in_transit", "2024-05-01T12:00:00Z"), NativeEvent)
    )
    target = machine.advance(shipments._state(stale), "in_transit", "2024-05-01T12:00:00Z")
    _, won = shipments._write_status(pk, change, stale, target, clock.iso(clock.now()))
    # Then its transaction is cancelled, and no message exists for that change
    assert won is False
    assert get_notification(shipments.notification_id("acme", tracking_no, "in_transit", 20)) is None


def test_an_order_retried_after_its_announcement_failed_announces_once(aws, monkeypatch):
    from functions.notifications.domain import customer_notifications
    from functions.orders.domain import get_order

    # Given a shipment that moved before its order arrived
    openid = customer()
    tracking_no = f"T{uuid.uuid4().hex[:10].upper()}"
    push(tracking_no, "in_transit", "2024-05-01T12:00:00Z")
    order = OrderInput(
        order_id=f"ord-{uuid.uuid4().hex[:10]}",
        openid=openid,
        store_id=None,
        items=[{"sku": "AC-1", "qty": 1, "price_cents": 100}],
        total_cents=100,
        purchased_at="2024-05-01T00:00:00Z",
        reminder_consent=None,
        shipment={"carrier": "acme", "tracking_no": tracking_no},
    )
    # When the order is recorded but its announcement fails (DynamoDB trouble), and it is retried
    real_announce = shipments.announce_current

    def unavailable(*args, **kwargs):
        monkeypatch.setattr(shipments, "announce_current", real_announce)
        raise RuntimeError("DynamoDB unavailable")

    monkeypatch.setattr(shipments, "announce_current", unavailable)
    with pytest.raises(RuntimeError):
        record_order(order)
    assert get_order(order.order_id) is not None and customer_notifications(openid) == []
    assert record_order(order)[1] is False
    record_order(order)
    # Then the customer is told the status once
    in_transit = shipments.notification_id("acme", tracking_no, "in_transit", 20)
    assert [n["notification_id"] for n in customer_notifications(openid)] == [in_transit]
