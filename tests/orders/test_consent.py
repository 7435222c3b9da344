"""Reminder consent has one writer (functions.customers) and the customer's withdrawal wins.

An order's consent is stored in the order's own transaction; the order_recorded event, however
often it is delivered, writes no consent. A withdrawal (H5 preferences, 退订/TD, REMINDERS_OFF)
is never undone by an order recorded before it, re-delivered after it, or recorded after it
with a consent given earlier. Only the customer's own opt-in turns reminders back on.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from functions.customers.domain import get_customer, set_reminder_consent
from functions.orders.domain import OrderInput, get_order, record_order
from functions.reminders.due import on_order_recorded
from infra.local.wechat_sim import WeChat, deliver
from tests.conftest import customer_headers, drain

sim = WeChat()


def uid(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def order(openid: str, consent: bool | None, order_id: str | None = None) -> OrderInput:
    return OrderInput(
        order_id or uid("ord-"),
        openid,
        None,
        [{"sku": "FILTER", "qty": 1, "price_cents": 100}],
        100,
        "2031-01-01T02:00:00Z",
        consent,
        None,
    )


def withdraw_on_h5(client, openid: str) -> None:  # type: ignore[no-untyped-def]
    response = client.http.put(
        "/me/preferences", headers=customer_headers(openid), body=json.dumps({"reminders": False})
    )
    assert response.status_code == 200


def withdraw_by_keyword(client, openid: str) -> None:  # type: ignore[no-untyped-def]
    assert deliver(client, sim, sim.text(openid, "TD"))[0] == 200


def withdraw_by_menu(client, openid: str) -> None:  # type: ignore[no-untyped-def]
    assert deliver(client, sim, sim.event(openid, "CLICK", "REMINDERS_OFF"))[0] == 200


WITHDRAWALS = [withdraw_on_h5, withdraw_by_keyword, withdraw_by_menu]


def test_consent_given_with_an_order_is_stored(aws):
    openid = uid("o-")
    record_order(order(openid, True))
    assert get_customer(openid).reminder_consent is True


def test_an_order_without_a_consent_answer_leaves_consent_alone(aws):
    openid = uid("o-")
    set_reminder_consent(openid, True)
    event = record_order(order(openid, None))[0].to_event()
    on_order_recorded(event)
    assert get_customer(openid).reminder_consent is True


def test_an_order_saying_no_withdraws(aws):
    openid = uid("o-")
    set_reminder_consent(openid, True)
    record_order(order(openid, False))
    assert get_customer(openid).reminder_consent is False


@pytest.mark.parametrize("withdraw", WITHDRAWALS, ids=lambda w: w.__name__)
def test_a_withdrawal_between_recording_and_the_event_stands(client, withdraw):
    # Given an order recorded with consent, its event still on the queue
    openid = uid("o-")
    recorded, created = record_order(order(openid, True))
    assert created and get_customer(openid).reminder_consent is True
    # When the customer withdraws before the event is delivered
    withdraw(client, openid)
    # And the event is delivered, then delivered again (SQS: at least once)
    drain("order-events", "order_events")
    on_order_recorded(recorded.to_event())
    # Then the withdrawal stands
    assert get_customer(openid).reminder_consent is False


@pytest.mark.parametrize("withdraw", WITHDRAWALS, ids=lambda w: w.__name__)
def test_an_order_recorded_after_a_withdrawal_does_not_undo_it(client, withdraw):
    # Given a customer who consented, then withdrew
    openid = uid("o-")
    set_reminder_consent(openid, True)
    withdraw(client, openid)
    # When an order carrying a consent (given at the till, before the withdrawal) is recorded
    recorded, created = record_order(order(openid, True))
    # Then the order is recorded (the consent item never cancels it) and consent stays withdrawn
    assert created and get_order(recorded.order_id) is not None
    assert get_customer(openid).reminder_consent is False
    on_order_recorded(recorded.to_event())
    assert get_customer(openid).reminder_consent is False


def test_an_order_recorded_over_http_after_a_withdrawal_does_not_undo_it(client, admin_headers):
    openid = uid("o-")
    withdraw_by_keyword(client, openid)
    body = {
        "order_id": uid("ord-"),
        "openid": openid,
        "items": [{"sku": "FILTER", "qty": 1, "price_cents": 100}],
        "total_cents": 100,
        "purchased_at": datetime(2031, 1, 1, tzinfo=UTC).isoformat(),
        "reminder_consent": True,
    }
    assert client.http.post("/admin/orders", headers=admin_headers, body=json.dumps(body)).status_code == 201
    assert get_customer(openid).reminder_consent is False


def test_the_customers_own_opt_in_lets_orders_consent_again(client):
    # Given a withdrawal, then the customer's own opt-in on the menu
    openid = uid("o-")
    withdraw_on_h5(client, openid)
    assert deliver(client, sim, sim.event(openid, "CLICK", "REMINDERS_ON"))[0] == 200
    assert get_customer(openid).reminder_consent is True
    # When they say no with one order and yes with a later one
    record_order(order(openid, False))
    assert get_customer(openid).reminder_consent is False
    record_order(order(openid, True))
    # Then the "no" counts as a withdrawal: only the customer's own opt-in lifts it
    assert get_customer(openid).reminder_consent is False
    set_reminder_consent(openid, True)
    record_order(order(openid, True))
    assert get_customer(openid).reminder_consent is True


def test_a_redelivered_event_writes_no_consent(aws):
    # The subscriber of order_recorded never writes consent, whatever the event says
    openid = uid("o-")
    event = {
        "type": "order_recorded",
        "order_id": uid("ord-"),
        "openid": openid,
        "store_id": None,
        "items": [],
        "total_cents": 0,
        "purchased_at": "2031-01-01T00:00:00Z",
        "reminder_consent": True,
    }
    on_order_recorded(event)
    on_order_recorded(event)
    assert get_customer(openid) is None
