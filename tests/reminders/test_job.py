"""The daily job reminds exactly the customers who are due, want it, and have not bought again."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from functions.core import clock
from functions.customers.domain import set_reminder_consent
from functions.notifications import caps
from functions.reminders import job
from functions.reminders.due import SHARDS, shard_of
from functions.reminders.stats import run_stats
from tests.conftest import drain
from tests.notifications.conftest import shown_as_wechat_accepts
from tests.races import ask
from tests.reminders import support


@pytest.fixture
def day(aws, _sandbox_server):
    """A unique business date; the clock stands at 10:00 that day, as the scheduled run does."""
    day = support.fresh_day()
    clock.set_now(support.at(day))
    return day


def _due(day, openid, sku, *, days=90, consent=True, subscribed=True):
    """Given a customer whose purchase of a `days`-day SKU is due on `day`."""
    support.customer(openid, subscribed=subscribed, consent=consent)
    support.product(sku, days)
    return support.bought(openid, sku, support.at(day - timedelta(days=days), "15:00"))


def test_a_due_consenting_subscriber_is_reminded_once(day):
    # Given a subscribed customer with consent whose 90-day purchase is due today
    openid, sku = support.openid(), support.sku()
    event = _due(day, openid, sku)
    # When the day runs
    stats = support.run_day(day)
    # Then one repurchase reminder is queued for them, with template-safe fields
    note = support.reminder_notification(day, openid, sku)
    assert note["kind"] == "repurchase_reminder" and note["openid"] == openid
    assert shown_as_wechat_accepts("repurchase_reminder", note["fields"])
    assert support.due_status(openid, sku, event["order_id"], day) == "sent"
    assert stats["due"] == 1 and stats["sent"] == 1 and stats["pending"] == 0
    assert stats["read"] == 1 and stats["shards_done"] == SHARDS


def test_a_purchase_not_due_today_is_not_read(day):
    # Given a purchase due tomorrow
    openid, sku = support.openid(), support.sku()
    _due(day + timedelta(days=1), openid, sku)
    # When today runs, nothing is read or sent
    stats = support.run_day(day)
    assert stats["read"] == 0 and stats["sent"] == 0
    assert support.reminder_notification(day + timedelta(days=1), openid, sku) is None


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ({"subscribed": False}, "unsubscribed"),
        ({"consent": False}, "no_consent"),
    ],
)
def test_who_is_skipped_and_who_is_not(day, given, reason):
    # Given one customer who should be reminded and one who should not
    yes_id, no_id, sku = support.openid(), support.openid(), support.sku()
    _due(day, yes_id, sku)
    skipped = _due(day, no_id, sku, **given)
    # When the day runs
    stats = support.run_day(day)
    # Then only the first gets a reminder; the second is recorded with its reason
    assert support.reminder_notification(day, yes_id, sku) is not None
    assert support.reminder_notification(day, no_id, sku) is None
    assert support.due_status(no_id, sku, skipped["order_id"], day) == f"skipped:{reason}"
    assert stats["sent"] == 1 and stats["skipped"][reason] == 1 and stats["due"] == 2


def test_an_unknown_customer_counts_as_unsubscribed(day):
    openid, sku = support.openid(), support.sku()
    support.product(sku, 90)
    support.bought(openid, sku, support.at(day - timedelta(days=90)))
    assert support.run_day(day)["skipped"]["unsubscribed"] == 1


def test_a_repurchase_cancels_the_pending_reminder(day):
    # Given two customers due today; one bought the SKU again last week
    yes_id, again_id, sku = support.openid(), support.openid(), support.sku()
    _due(day, yes_id, sku)
    first = _due(day, again_id, sku)
    support.purchase_line(again_id, sku, support.at(day - timedelta(days=7)))
    # When the day runs
    stats = support.run_day(day)
    # Then only the customer who has not bought again is reminded
    assert support.reminder_notification(day, yes_id, sku) is not None
    assert support.reminder_notification(day, again_id, sku) is None
    assert support.due_status(again_id, sku, first["order_id"], day) == "skipped:repurchased"
    assert stats["skipped"]["repurchased"] == 1


def test_a_purchase_of_another_sku_does_not_cancel(day):
    openid, sku = support.openid(), support.sku()
    _due(day, openid, sku)
    support.purchase_line(openid, support.sku(), support.at(day - timedelta(days=3)))
    support.run_day(day)
    assert support.reminder_notification(day, openid, sku) is not None


def test_a_capped_customer_is_skipped(day):
    # Given two due customers, one of whom had a reminder two days ago (cap: 1 per 7 days)
    yes_id, capped_id, sku = support.openid(), support.openid(), support.sku()
    _due(day, yes_id, sku)
    capped = _due(day, capped_id, sku)
    assert caps.take(capped_id, f"earlier-{capped_id}", clock.now() - timedelta(days=2))
    # When the day runs
    stats = support.run_day(day)
    # Then the capped one is skipped and recorded
    assert support.reminder_notification(day, yes_id, sku) is not None
    assert support.reminder_notification(day, capped_id, sku) is None
    assert support.due_status(capped_id, sku, capped["order_id"], day) == "skipped:capped"
    assert stats["skipped"]["capped"] == 1


def test_withdrawn_consent_skips_a_reminder_that_was_already_fanned_out(day, sandbox):
    # Given the day's shard tasks are on the queue
    drain("reminder-shards", "reminder_shard_worker")
    openid, sku = support.openid(), support.sku()
    _due(day, openid, sku)
    job.fan_out(day)
    # When the customer withdraws consent before the workers get to it
    set_reminder_consent(openid, False)
    drain("reminder-shards", "reminder_shard_worker")
    # Then no reminder is queued for them
    assert support.reminder_notification(day, openid, sku) is None
    assert run_stats(day)["skipped"]["no_consent"] == 1


@pytest.mark.usefixtures("patient_clients")
def test_overlapping_runs_send_each_reminder_once(day, monkeypatch):
    # Given 30 due customers in many shards
    sku = support.sku()
    people = [support.openid() for _ in range(30)]
    for openid in people:
        _due(day, openid, sku)
    committed: list[int] = []
    lock = threading.Lock()
    real_run = job.txn.run

    def counting_run(ops, *args, **kwargs):
        real_run(ops, *args, **kwargs)
        with lock:
            committed.append(len(ops))  # a decision and its reminder, committed together

    monkeypatch.setattr(job.txn, "run", counting_run)
    # When four runs of the whole day race each other
    shards = sorted({shard_of(o, sku) for o in people})
    tasks = [s for s in shards for _ in range(4)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda s: ask(lambda: job.process_shard(day.isoformat(), s)), tasks))
    # Then one reminder was committed per customer, and the stats count each once
    assert len(committed) == 30
    assert all(support.reminder_notification(day, o, sku)["status"] == "queued" for o in people)
    stats = run_stats(day)
    assert stats["sent"] == 30 and stats["due"] == 30 and stats["pending"] == 0
    # And a later re-run sends nothing more
    support.run_day(day)
    assert len(committed) == 30 and run_stats(day)["sent"] == 30


def test_a_run_that_fails_mid_way_leaves_no_decision_without_its_reminder(day, monkeypatch):
    # Given a due customer, and DynamoDB failing the decision's transaction once
    openid, sku = support.openid(), support.sku()
    bought = _due(day, openid, sku)
    real_run = job.txn.run

    def unavailable(ops, *args, **kwargs):
        monkeypatch.setattr(job.txn, "run", real_run)
        raise RuntimeError("DynamoDB unavailable")

    monkeypatch.setattr(job.txn, "run", unavailable)
    # When the day runs, it fails
    with pytest.raises(RuntimeError):
        support.run_day(day)
    # Then the item is undecided and no reminder exists
    assert support.due_status(openid, sku, bought["order_id"], day) is None
    assert support.reminder_notification(day, openid, sku) is None
    # And the queue's retry decides it, with its reminder, counted once
    stats = support.run_day(day)
    assert support.due_status(openid, sku, bought["order_id"], day) == "sent"
    assert support.reminder_notification(day, openid, sku) is not None
    assert stats["sent"] == 1


def test_a_claim_left_by_a_run_from_before_the_outbox_is_completed_once(day):
    from functions.reminders.due import due_pk, due_sk, shard_of
    from functions.reminders.models import DueRow

    # Given an item an older run claimed and died before notifying (no message recorded)
    openid, sku = support.openid(), support.sku()
    bought = _due(day, openid, sku)
    row = DueRow(due_pk(day, shard_of(openid, sku)), due_sk(openid, sku, bought["order_id"]))
    row.update(actions=[DueRow.status.set(job.CLAIMED), DueRow.decided_at.set(clock.iso(clock.now()))])
    # When the day runs again, the claim is completed with its reminder
    support.run_day(day)
    assert support.due_status(openid, sku, bought["order_id"], day) == "sent"
    reminder = support.reminder_notification(day, openid, sku)
    assert reminder is not None and [h["status"] for h in reminder["history"]] == ["queued"]
    # And another run changes nothing
    support.run_day(day)
    assert [h["status"] for h in support.reminder_notification(day, openid, sku)["history"]] == ["queued"]


def test_a_shard_too_big_for_one_invocation_continues_in_a_new_message(day, monkeypatch):
    # Given 12 due purchases in one shard and pages of 5
    monkeypatch.setattr(job, "PAGE_SIZE", 5)
    sku = support.sku()
    people, shard = [], None
    while len(people) < 12:
        openid = support.openid()
        if shard is None:
            shard = shard_of(openid, sku)
        if shard_of(openid, sku) == shard:
            people.append(openid)
            _due(day, openid, sku)
    drain("reminder-shards", "reminder_shard_worker")
    # When the worker runs short of time after each page
    first = job.process_shard(day.isoformat(), shard, remaining_ms=lambda: 0)
    assert first.continued and first.read == 5
    # Then the rest of the shard arrives as a message with the cursor, and completes
    drain("reminder-shards", "reminder_shard_worker")
    stats = run_stats(day)
    assert stats["sent"] == 12 and stats["due"] == 12 and stats["read"] == 12
    assert all(support.reminder_notification(day, o, sku) for o in people)


def test_the_scheduled_job_fans_out_one_task_per_shard(client, day, caplog):
    # Given a due customer
    openid, sku = support.openid(), support.sku()
    _due(day, openid, sku)
    drain("reminder-shards", "reminder_shard_worker")
    # When the schedule fires with a date in its detail
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={"date": day.isoformat()}, resources=[]
    )
    caplog.set_level(logging.INFO, logger="functions.reminders.background")
    result = client.lambda_.invoke("repurchase_reminders", event)
    assert result.payload == {"date": day.isoformat(), "shards": SHARDS}
    # Then the shard workers process the day
    assert drain("reminder-shards", "reminder_shard_worker") == SHARDS
    assert support.reminder_notification(day, openid, sku) is not None
    # And the log has the fan-out's line and one for the only shard with due items, none for empty ones
    said = [
        r.getMessage() for r in caplog.records if r.levelno >= logging.INFO and "reminder" in r.getMessage()
    ]
    assert said == [
        f"repurchase reminders for {day}: {SHARDS} shard tasks enqueued",
        f"reminder shard {day}/{shard_of(openid, sku):02d}: read 1, {{'sent': 1}}",
    ]


def test_the_run_stats_are_readable_by_ops(client, admin_headers, day):
    openid, sku = support.openid(), support.sku()
    _due(day, openid, sku)
    _due(day, support.openid(), sku, consent=False)
    support.run_day(day)
    response = client.http.get(f"/admin/reminders/runs/{day.isoformat()}", headers=admin_headers)
    assert response.status_code == 200
    body = response.json_body
    assert body["due"] == 2 and body["sent"] == 1 and body["skipped"]["no_consent"] == 1
    assert client.http.get(f"/admin/reminders/runs/{day.isoformat()}").status_code == 401
    assert client.http.get("/admin/reminders/runs/yesterday", headers=admin_headers).status_code == 400


def test_a_malformed_shard_task_is_dropped(client):
    event = client.events.generate_sqs_event(
        queue_name="reminder-shards", message_bodies=[json.dumps({"x": 1})]
    )
    assert client.lambda_.invoke("reminder_shard_worker", event).payload == {"batchItemFailures": []}


def test_the_date_comes_from_the_detail_or_the_top_level_or_today(day):
    assert job.resolve_date({"detail": {"date": "2031-02-03"}}).isoformat() == "2031-02-03"
    assert job.resolve_date({"date": "2031-02-04"}).isoformat() == "2031-02-04"
    assert job.resolve_date({"detail": {}}) == clock.business_date()
