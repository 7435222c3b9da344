"""Each booking change commits with its message: a stored change always has it, a refused or
repeated one adds none, and a message made stale by a later change is never sent late."""

from __future__ import annotations

import json

import pytest

from functions.core import queues
from functions.notifications import worker
from tests.bookings.conftest import headers, request, uid
from tests.conftest import relay_outbox, wait_for
from tests.notifications.conftest import deliver_again, drain_notifications, fault, record, sent_to

SEND = "cgi-bin/message/template/send"


def messages(openid: str) -> list[str]:
    """The customer's notification ids, oldest first."""
    from functions.notifications.domain import customer_notifications

    return [n["notification_id"] for n in reversed(customer_notifications(openid))]


def own_order(openid: str) -> str:
    """An order recorded for the customer (a booking is for one of their orders)."""
    from functions.core import clock
    from functions.orders.models import OrderRow

    order_id = uid("SO")
    OrderRow(
        f"ORDER#{order_id}",
        "ORDER",
        order_id=order_id,
        openid=openid,
        items=[{"sku": "WASHER-1", "qty": 1, "price_cents": 299900}],
        total_cents=299900,
        purchased_at=clock.iso(clock.now()),
    ).save()
    return order_id


def book(client, openid: str, slot_id: str, **extra: str):
    body = json.dumps(request(slot_id, own_order(openid)))
    return client.http.post("/bookings", headers=headers(openid, **extra), body=body)


def test_every_stored_change_has_its_message_and_a_refused_or_repeated_one_none(client, make_slots):
    first, second = make_slots(capacity=1, windows=("09:00-12:00", "13:00-17:00"))
    me, neighbour = uid("o"), uid("o")
    # A booking: its confirmation
    booking_id = book(client, me, first).json_body["booking_id"]
    confirmed = f"booking-{booking_id}-confirmed"
    assert messages(me) == [confirmed]
    # A refused booking and a refused move (both slots full): nothing
    theirs = book(client, neighbour, second).json_body["booking_id"]
    assert book(client, me, first).status_code == 409
    assert _move(client, me, booking_id, second) == 409
    assert messages(me) == [confirmed]
    # A move: its message, which makes the confirmation (and the old day's reminder) stale
    assert client.http.delete(f"/bookings/{theirs}", headers=headers(neighbour)).status_code == 200
    assert _move(client, me, booking_id, second) == 200
    rescheduled = f"booking-{booking_id}-rescheduled-v2"
    assert messages(me) == [confirmed, rescheduled]
    day = first.split("|")[1]
    assert _supersedes(rescheduled) == [confirmed, f"booking-{booking_id}-reminder-{day}"]
    # A move to the slot it holds: nothing new
    assert _move(client, me, booking_id, second) == 200
    # A cancel: its message; the same cancel again: nothing new
    for _ in range(2):
        assert client.http.delete(f"/bookings/{booking_id}", headers=headers(me)).status_code == 200
    assert messages(me) == [confirmed, rescheduled, f"booking-{booking_id}-cancelled"]
    assert _supersedes(f"booking-{booking_id}-cancelled") == [
        rescheduled,
        f"booking-{booking_id}-reminder-{day}",
    ]


def _move(client, openid: str, booking_id: str, slot_id: str) -> int:
    response = client.http.post(
        f"/bookings/{booking_id}/reschedule", headers=headers(openid), body=json.dumps({"slot_id": slot_id})
    )
    return response.status_code


def _supersedes(notification_id: str) -> list[str]:
    from functions.notifications.models import NOTIFICATION, NotificationRow

    return list(NotificationRow.get(notification_id, NOTIFICATION).supersedes or [])


def test_a_booking_made_while_sqs_is_down_is_confirmed_once_sqs_is_back(
    client, make_slots, sandbox, monkeypatch
):
    relay_outbox()  # whatever earlier tests left
    (slot_id,) = make_slots(capacity=2)
    me = uid("o")
    # Given SQS refuses every send
    real_send_many = queues.send_many

    def refused(logical, bodies):
        raise RuntimeError("AWS.SimpleQueueService.NonExistentQueue")

    monkeypatch.setattr(queues, "send_many", refused)
    # When I book, and my retry with the same Idempotency-Key replays the answer
    body = json.dumps(request(slot_id, own_order(me)))
    key = headers(me, **{"Idempotency-Key": "k-outbox-1"})
    first = client.http.post("/bookings", headers=key, body=body)
    again = client.http.post("/bookings", headers=key, body=body)
    assert first.status_code == 201 and again.json_body == first.json_body
    booking_id = first.json_body["booking_id"]
    # Then the confirmation is recorded once and waits while the relay cannot enqueue it
    assert messages(me) == [f"booking-{booking_id}-confirmed"]
    assert relay_outbox() == 0
    drain_notifications()
    assert sent_to(sandbox, me) == []
    # And once SQS is back it reaches me, once
    monkeypatch.setattr(queues, "send_many", real_send_many)
    assert wait_for(lambda: relay_outbox(), timeout=20)
    drain_notifications()
    assert [m["client_msg_id"] for m in sent_to(sandbox, me)] == [f"booking-{booking_id}-confirmed"]


@pytest.fixture
def requeued(monkeypatch):
    captured: list[tuple[dict, int]] = []
    monkeypatch.setattr(worker, "requeue", lambda body, delay: captured.append((body, delay)))
    return captured


def test_a_confirmation_deferred_by_the_quota_is_dropped_once_the_booking_is_cancelled(
    client, make_slots, sandbox, requeued
):
    (slot_id,) = make_slots(capacity=2)
    me = uid("o")
    # Given my confirmation is deferred: WeChat's daily quota is reached
    fault(sandbox, api=SEND, errcode=45009, count=1, openid=me)
    booking_id = book(client, me, slot_id).json_body["booking_id"]
    drain_notifications()
    confirmed = f"booking-{booking_id}-confirmed"
    assert record(confirmed)["status"] == "deferred:quota"
    [(deferred, _)] = requeued
    # When I cancel meanwhile, the cancellation is sent
    assert client.http.delete(f"/bookings/{booking_id}", headers=headers(me)).status_code == 200
    drain_notifications()
    # Then the deferred confirmation, back after the quota reset, is dropped, never sent late
    deliver_again({**deferred, "not_before": None})
    assert record(confirmed)["status"] == "skipped:superseded"
    assert [m["client_msg_id"] for m in sent_to(sandbox, me)] == [f"booking-{booking_id}-cancelled"]
