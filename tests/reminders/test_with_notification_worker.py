"""The reminders job and the notification worker together: quiet hours and late withdrawals."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from functions.core import clock
from functions.core.config import reset_settings
from functions.customers.domain import set_reminder_consent
from functions.notifications import worker
from tests.conftest import drain
from tests.reminders import support


@pytest.fixture
def quiet_hours(monkeypatch):
    monkeypatch.setenv("QUIET_HOURS", "21:00-09:00")
    reset_settings()
    yield
    monkeypatch.undo()
    reset_settings()


def _due_customer(day, days=90):
    openid, sku = support.openid(), support.sku()
    support.customer(openid)
    support.product(sku, days)
    support.bought(openid, sku, support.at(day - timedelta(days=days)))
    return openid, sku


def _deliver(notification_id: str, not_before: str | None = None) -> None:
    """The notification queue delivering one message to the worker (e.g. a deferred one, later)."""
    body = {"notification_id": notification_id, **({"not_before": not_before} if not_before else {})}
    record = {
        "messageId": f"m-{notification_id}",
        "receiptHandle": "r",
        "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1"},
    }
    assert worker.handle_batch([record]) == {"batchItemFailures": []}


def test_a_reminder_created_in_quiet_hours_is_deferred_not_dropped(aws, sandbox, quiet_hours):
    # Given a customer due today, and ops running the job at 22:00 business time
    day = support.fresh_day()
    openid, sku = _due_customer(day)
    drain("notifications", "notification_worker")
    clock.set_now(support.at(day, "22:00"))
    support.run_day(day)
    # When the notification worker picks it up
    drain("notifications", "notification_worker")
    # Then nothing is sent during quiet hours, and the reminder waits for 09:00 the next day
    note = support.reminder_notification(day, openid, sku)
    assert note["status"] == "deferred:quiet_hours"
    assert clock.parse_iso(note["not_before"]) == support.at(day + timedelta(days=1), "09:00")
    assert [m for m in sandbox.state.messages if m["touser"] == openid] == []
    # And when the deferred message comes back after the window, it is sent once
    clock.set_now(support.at(day + timedelta(days=1), "09:01"))
    _deliver(note["notification_id"], note["not_before"])
    _deliver(note["notification_id"], note["not_before"])  # SQS may deliver twice
    sent = [m for m in sandbox.state.messages if m["touser"] == openid]
    assert len(sent) == 1 and sent[0]["template_id"] == "TPL_REMINDER_SANDBOX"
    assert support.reminder_notification(day, openid, sku)["status"] == "sent"


def test_withdrawing_consent_stops_a_reminder_already_queued(aws, sandbox):
    # Given a reminder the job has queued for a consenting customer
    day = support.fresh_day()
    clock.set_now(support.at(day))
    openid, sku = _due_customer(day)
    kept_id, kept_sku = _due_customer(day)
    drain("notifications", "notification_worker")
    support.run_day(day)
    assert support.reminder_notification(day, openid, sku)["status"] == "queued"
    # When the customer withdraws consent before the worker sends it
    set_reminder_consent(openid, False)
    drain("notifications", "notification_worker")
    # Then it is not sent; the other customer's reminder is
    assert support.reminder_notification(day, openid, sku)["status"] == "skipped:no_consent"
    assert [m for m in sandbox.state.messages if m["touser"] == openid] == []
    assert len([m for m in sandbox.state.messages if m["touser"] == kept_id]) == 1
