"""The daily `booking_reminders` job: one reminder per booking for tomorrow, however often it runs."""

from __future__ import annotations

import json
import random
import threading
from datetime import date, timedelta

import pytest

from tests.bookings.conftest import headers, record_order, request, uid
from tests.races import Answer, ask


@pytest.fixture
def far_day() -> date:
    # A business date nobody else uses, so the day's index holds only this test's bookings.
    return date(2040, 1, 1) + timedelta(days=random.randrange(20_000))


def invoke(client, detail: dict | None = None) -> dict:
    event = client.events.generate_cw_event(
        source="aws.events",
        detail_type="Scheduled Event",
        detail=detail or {},
        resources=["arn:aws:events:local:000000000000:rule/booking_reminders"],
    )
    response = client.lambda_.invoke("booking_reminders", event)
    return response.payload


def reminder(booking_id: str, day: date) -> dict | None:
    from functions.notifications.domain import get_notification

    return get_notification(f"booking-{booking_id}-reminder-{day.isoformat()}")


def book(client, openid: str, slot_id: str) -> str:
    body = request(slot_id, record_order(openid))
    response = client.http.post("/bookings", headers=headers(openid), body=json.dumps(body))
    assert response.status_code == 201, response.json_body
    return response.json_body["booking_id"]


def test_tomorrows_bookings_are_reminded_once_and_a_rerun_sends_nothing(client, make_slots, far_day):
    # Given two bookings for the day after the run date, one cancelled, one for another day
    tomorrow = far_day + timedelta(days=1)
    (slot_id,) = make_slots(capacity=5, day=tomorrow.isoformat())
    (later_slot,) = make_slots(capacity=5, day=(tomorrow + timedelta(days=1)).isoformat())
    alice, bob, carol, dave = (uid("o") for _ in range(4))
    a, b = book(client, alice, slot_id), book(client, bob, slot_id)
    c = book(client, carol, slot_id)
    client.http.delete(f"/bookings/{c}", headers=headers(carol))
    d = book(client, dave, later_slot)
    # When ops run the job for the run date
    first = invoke(client, {"date": far_day.isoformat()})
    # Then the two confirmed bookings of tomorrow got one reminder each, and nobody else
    assert (first["date"], first["reminded"]) == (tomorrow.isoformat(), 2)
    assert reminder(a, tomorrow)["kind"] == reminder(b, tomorrow)["kind"] == "booking_reminder"
    assert reminder(a, tomorrow)["openid"] == alice
    assert reminder(c, tomorrow) is None and reminder(d, tomorrow) is None
    # When it runs again (a retry, or ops running it by hand)
    again = invoke(client, {"date": far_day.isoformat()})
    # Then nothing is sent twice
    assert (again["reminded"], again["already"]) == (0, 2)


def test_a_run_that_fails_mid_way_leaves_no_claim_without_its_message(
    client, make_slots, far_day, monkeypatch
):
    from functions.bookings import reminders
    from functions.bookings.models import BookingRow

    # Given a booking for tomorrow, and DynamoDB failing the claim's transaction once
    tomorrow = far_day + timedelta(days=1)
    (slot_id,) = make_slots(capacity=5, day=tomorrow.isoformat())
    booking_id = book(client, uid("o"), slot_id)
    real_run = reminders.txn.run

    def unavailable(ops, *args, **kwargs):
        monkeypatch.setattr(reminders.txn, "run", real_run)
        raise RuntimeError("DynamoDB unavailable")

    monkeypatch.setattr(reminders.txn, "run", unavailable)
    # When the job runs, it fails
    with pytest.raises(RuntimeError):
        reminders.send_day_before(far_day)
    # Then neither the claim nor the message is stored
    assert BookingRow.get(f"BOOKING#{booking_id}", "BOOKING").reminded_for is None
    assert reminder(booking_id, tomorrow) is None
    # And the scheduler's retry reminds it, once
    assert invoke(client, {"date": far_day.isoformat()})["reminded"] == 1
    assert reminder(booking_id, tomorrow)["status"] == "queued"


def test_a_booking_cancelled_after_the_job_read_it_gets_no_reminder(client, make_slots, far_day):
    from functions.bookings import reminders
    from functions.bookings.models import BookingRow

    # Given the job read a confirmed booking for tomorrow
    tomorrow = far_day + timedelta(days=1)
    (slot_id,) = make_slots(capacity=5, day=tomorrow.isoformat())
    me = uid("o")
    booking_id = book(client, me, slot_id)
    read = BookingRow.get(f"BOOKING#{booking_id}", "BOOKING")
    # When the customer cancels before the job claims it
    assert client.http.delete(f"/bookings/{booking_id}", headers=headers(me)).status_code == 200
    # Then the claim's transaction is cancelled, and it leaves no message behind
    assert reminders._claim_with_message(read, tomorrow.isoformat()) is False
    assert reminder(booking_id, tomorrow) is None


def test_the_run_date_comes_from_the_detail_the_top_level_or_today():
    from functions.bookings.reminders import run_date
    from functions.core import clock

    assert run_date({"detail-type": "Scheduled Event", "detail": {"date": "2031-05-06"}}) == date(2031, 5, 6)
    assert run_date({"date": "2031-05-07"}) == date(2031, 5, 7)
    assert run_date({"detail": {}}) == clock.business_date()


def test_a_rescheduled_booking_is_reminded_for_its_new_day(client, make_slots, far_day):
    tomorrow = far_day + timedelta(days=1)
    (old_slot,) = make_slots(capacity=5, day=(tomorrow + timedelta(days=3)).isoformat())
    (new_slot,) = make_slots(capacity=5, day=tomorrow.isoformat())
    me = uid("o")
    booking_id = book(client, me, old_slot)
    moved = client.http.post(
        f"/bookings/{booking_id}/reschedule", headers=headers(me), body=json.dumps({"slot_id": new_slot})
    )
    assert moved.status_code == 200
    assert invoke(client, {"date": far_day.isoformat()})["reminded"] == 1
    assert reminder(booking_id, tomorrow) is not None


@pytest.mark.usefixtures("patient_clients")
def test_overlapping_runs_still_remind_each_booking_once(client, make_slots, far_day):
    from functions.bookings import reminders

    tomorrow = far_day + timedelta(days=1)
    (slot_id,) = make_slots(capacity=10, day=tomorrow.isoformat())
    booked = [book(client, uid("o"), slot_id) for _ in range(6)]
    results: list[Answer] = []
    start = threading.Barrier(4)

    def run() -> None:
        start.wait()
        results.append(ask(lambda: reminders.send_day_before(far_day)))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Each booking has its one reminder, and the runs' answers count each once (a run retried
    # after a transport failure did part of its work in an attempt that never answered)
    assert all(reminder(booking_id, tomorrow) for booking_id in booked)
    reminded = sum(r.value["reminded"] for r in results)
    assert reminded == 6 or (reminded < 6 and any(r.retries for r in results))


def test_the_job_is_a_daily_schedule_at_ten_business_time_named_booking_reminders(client):
    from chalice.app import ScheduledEventConfig

    from app import app

    (source,) = [s for s in app.event_sources if s.name == "booking_reminders"]
    assert isinstance(source, ScheduledEventConfig)
    expression = source.schedule_expression
    # 10:00 in TZ_BUSINESS: the schedule carries the business time zone (infra/template.py).
    assert (expression if isinstance(expression, str) else expression.to_string()) == "cron(0 10 * * ? *)"


def test_the_job_reads_by_query_not_scan(client, make_slots, far_day, monkeypatch):
    from pynamodb.connection.base import Connection

    (slot_id,) = make_slots(capacity=2, day=(far_day + timedelta(days=1)).isoformat())
    book(client, uid("o"), slot_id)
    calls: list[str] = []
    original = Connection.dispatch

    def spy(self, operation_name, operation_kwargs):
        calls.append(operation_name)
        return original(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "dispatch", spy)
    invoke(client, {"date": far_day.isoformat()})
    assert "Scan" not in calls and "Query" in calls
