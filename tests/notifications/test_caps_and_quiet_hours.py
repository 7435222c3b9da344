"""Reminder kinds: at most 1 per 7 days and 4 per calendar month, even under racing workers;
quiet hours defer them to the morning. Transactional kinds ignore both."""

from __future__ import annotations

import json
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.core import clock
from functions.core.config import reset_settings
from functions.notifications import caps, worker
from functions.notifications.domain import notify
from functions.notifications.quiet import quiet_until
from tests.notifications.conftest import VALUES, customer, drain_notifications, record, sent_to
from tests.races import ask

SHANGHAI = ZoneInfo("Asia/Shanghai")
REMINDER = VALUES


def at(day: int, hhmm: str = "10:00", month: int = 5) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2031, month, day, hour, minute, tzinfo=SHANGHAI)


def as_record(notification_id: str) -> dict:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "not-a-real-handle",
        "body": json.dumps({"notification_id": notification_id}),
        "attributes": {"ApproximateReceiveCount": "1"},
    }


def race_reminders(openid: str, n: int) -> list[str]:
    """`n` workers each handle a different reminder to `openid` at the same moment."""
    nids = [notify(openid, "repurchase_reminder", REMINDER) for _ in range(n)]
    with ThreadPoolExecutor(max_workers=n) as pool:
        # A worker whose DynamoDB call got no answer has its message redelivered, as SQS does.
        list(pool.map(lambda nid: ask(lambda: worker.process(as_record(nid))), nids))
    drain_notifications()  # their queued messages: already decided, acknowledged
    return [record(nid)["status"] for nid in nids]


@pytest.mark.slow
@pytest.mark.usefixtures("patient_clients")
def test_twenty_racing_workers_send_one_reminder_a_week(sandbox, aws):
    # Given a consenting customer with nothing sent yet
    openid = customer(consent=True)
    clock.set_now(at(3))
    # When 20 workers handle 20 reminders to them at once
    outcome = race_reminders(openid, 20)
    # Then exactly one is sent and the rest are capped
    assert sorted(outcome) == ["sent"] + ["skipped:capped"] * 19
    assert len(sent_to(sandbox, openid)) == 1


@pytest.mark.slow
@pytest.mark.usefixtures("patient_clients")
def test_twenty_racing_workers_cannot_both_take_the_last_monthly_slot(sandbox, aws):
    # Given three reminders this month, a week apart
    openid = customer(consent=True)
    for day in (1, 8, 15):
        clock.set_now(at(day))
        assert race_reminders(openid, 1) == ["sent"]
    assert caps.would_allow(openid, at(22))
    # When 20 workers race for the fourth and last slot of the month
    clock.set_now(at(22))
    outcome = race_reminders(openid, 20)
    # Then exactly one takes it, and the month is closed even a week later
    assert outcome.count("sent") == 1
    assert not caps.would_allow(openid, at(29))
    clock.set_now(at(29))
    assert race_reminders(openid, 1) == ["skipped:capped"]
    # And a new month opens again
    clock.set_now(at(5, month=6))
    assert caps.would_allow(openid, at(5, month=6))
    assert race_reminders(openid, 1) == ["sent"]


def test_would_allow_reads_the_weekly_window(sandbox, aws):
    # Given a reminder on the 3rd at 10:00
    openid = customer(consent=True)
    clock.set_now(at(3))
    assert race_reminders(openid, 1) == ["sent"]
    # Then the next is allowed exactly 7 days later, not before
    assert not caps.would_allow(openid, at(10, "09:59"))
    assert caps.would_allow(openid, at(10, "10:00"))
    assert caps.would_allow(customer(), at(3))  # someone else is unaffected


def test_a_retried_reminder_does_not_take_a_second_slot(sandbox, aws, monkeypatch):
    # Given a reminder whose first send fails transiently
    openid = customer(consent=True)
    clock.set_now(at(3))
    from tests.notifications.conftest import fault

    fault(sandbox, api="cgi-bin/message/template/send", errcode=-1, count=1, openid=openid)
    nid = notify(openid, "repurchase_reminder", REMINDER)
    drain_notifications()
    # Then the retry sends it, using the slot it already took
    assert record(nid)["status"] == "sent" and record(nid)["attempts"] == 2


def test_transactional_messages_ignore_caps(sandbox, aws):
    # Given a customer who just had a reminder
    openid = customer(consent=True)
    clock.set_now(at(3))
    assert race_reminders(openid, 1) == ["sent"]
    # When three shipment notices follow
    nids = [notify(openid, "shipment_status", VALUES) for _ in range(3)]
    drain_notifications()
    # Then all are sent
    assert {record(n)["status"] for n in nids} == {"sent"}


@pytest.fixture
def quiet_hours(monkeypatch):
    monkeypatch.setenv("QUIET_HOURS", "21:00-09:00")
    reset_settings()
    yield
    reset_settings()


def test_a_reminder_in_quiet_hours_waits_for_the_morning(sandbox, aws, quiet_hours, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger=worker.__name__)
    requeued: list[tuple[dict, int]] = []
    monkeypatch.setattr(worker, "requeue", lambda body, delay: requeued.append((body, delay)))
    # Given it is 22:30 business time
    openid = customer(consent=True)
    clock.set_now(at(3, "22:30"))
    # When a reminder and a shipment notice are queued
    reminder = notify(openid, "repurchase_reminder", REMINDER)
    shipment = notify(openid, "shipment_status", VALUES)
    drain_notifications()
    # Then the shipment notice went now, the reminder waits until 09:00 (in hops of <= 15 min)
    assert record(shipment)["status"] == "sent"
    view = record(reminder)
    assert view["status"] == "deferred:quiet_hours"
    assert view["not_before"] == clock.iso(at(4, "09:00"))
    [(body, delay)] = requeued
    assert body["notification_id"] == reminder and body["not_before"] == clock.iso(at(4, "09:00"))
    assert delay == 900
    line = f"reason=quiet_hours id={reminder} until={clock.iso(at(4, '09:00'))}"
    assert f"notification_outcome=deferred kind=repurchase_reminder errcode=- {line}\n" in caplog.text
    # When the hop arrives still at night, it hops again without touching the record
    clock.set_now(at(4, "08:55"))
    assert worker.process({**as_record(reminder), "body": json.dumps(body)}).retry is False
    assert requeued[-1][1] == 300 and record(reminder)["status"] == "deferred:quiet_hours"
    # When the morning comes
    clock.set_now(at(4, "09:00"))
    assert worker.process({**as_record(reminder), "body": json.dumps(body)}).retry is False
    # Then the reminder is sent
    assert record(reminder)["status"] == "sent"
    assert len(sent_to(sandbox, openid)) == 2


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(3, "20:59"), None),
        (at(3, "21:00"), at(4, "09:00")),
        (at(3, "23:59"), at(4, "09:00")),
        (at(4, "00:00"), at(4, "09:00")),
        (at(4, "08:59"), at(4, "09:00")),
        (at(4, "09:00"), None),
    ],
)
def test_quiet_until_overnight_window(quiet_hours, moment, expected):
    assert quiet_until(moment) == expected


def test_quiet_hours_off(monkeypatch):
    monkeypatch.setenv("QUIET_HOURS", "off")
    reset_settings()
    try:
        assert quiet_until(at(3, "23:00")) is None
    finally:
        reset_settings()


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1)))
def test_quiet_until_is_always_the_next_window_end(naive):
    # For any moment, the wake-up time is in the future, at 09:00 business time, within 12 h
    import os

    os.environ["QUIET_HOURS"] = "21:00-09:00"
    reset_settings()
    try:
        moment = naive.replace(tzinfo=SHANGHAI)
        wake = quiet_until(moment)
        local = moment.astimezone(SHANGHAI)
        quiet = local.hour >= 21 or local.hour < 9
        assert (wake is not None) == quiet
        if wake is not None:
            assert moment < wake <= moment + timedelta(hours=12)
            assert wake.astimezone(SHANGHAI).strftime("%H:%M") == "09:00"
    finally:
        os.environ["QUIET_HOURS"] = "off"
        reset_settings()
