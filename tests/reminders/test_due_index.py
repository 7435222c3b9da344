"""Purchases are filed under the business date they become due, once, in a stable shard."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from functions.core import clock
from functions.reminders.due import SHARDS, due_date, due_pk, due_sk, on_order_recorded, shard_of
from functions.reminders.models import DueRow
from tests.reminders import support


def _due_rows(openid: str, sku: str, order_id: str, day: date) -> list[DueRow]:
    return list(DueRow.query(due_pk(day, shard_of(openid, sku)), DueRow.sk == due_sk(openid, sku, order_id)))


def test_a_replenishable_purchase_is_indexed_under_its_due_date(aws):
    # Given a 90-day product and a product without a period
    replenish, plain = support.sku(), support.sku()
    support.product(replenish, 90)
    support.product(plain, None)
    openid = support.openid()
    # When an order with both is recorded at 01:00 Shanghai on 2031-03-02 (17:00 UTC the day before)
    purchased = datetime(2031, 3, 1, 17, 0, tzinfo=UTC)
    event = support.order_event(openid, [replenish, plain], purchased)
    written = on_order_recorded(event)
    # Then only the replenishable line is indexed, due 90 business days after 2031-03-02
    due = date(2031, 3, 2) + timedelta(days=90)
    assert len(written) == 1
    [row] = _due_rows(openid, replenish, event["order_id"], due)
    assert (row.openid, row.sku, row.due_date, row.status) == (openid, replenish, due.isoformat(), None)
    assert row.expires_at > clock.business_datetime(due, "00:00").timestamp()
    assert _due_rows(openid, plain, event["order_id"], date(2031, 3, 2) + timedelta(days=90)) == []


def test_a_product_defined_after_the_order_does_not_index_it(aws):
    # Given an order of a SKU nobody has defined yet
    sku, openid = support.sku(), support.openid()
    event = support.order_event(openid, [sku], datetime(2031, 1, 1, 4, tzinfo=UTC))
    assert on_order_recorded(event) == []
    # When the product gets a period afterwards, the earlier purchase stays unindexed (documented)
    support.product(sku, 30)
    assert _due_rows(openid, sku, event["order_id"], date(2031, 1, 31)) == []


def test_a_redelivered_event_does_not_reset_a_decided_reminder(aws):
    # Given an indexed purchase the job already decided
    sku, openid = support.sku(), support.openid()
    support.product(sku, 30)
    event = support.order_event(openid, [sku], datetime(2031, 1, 1, 4, tzinfo=UTC))
    on_order_recorded(event)
    [row] = _due_rows(openid, sku, event["order_id"], date(2031, 1, 31))
    row.update(actions=[DueRow.status.set("sent")])
    # When the same event arrives again
    on_order_recorded(event)
    # Then the item keeps its decision (a plain put would have made it due again)
    [again] = _due_rows(openid, sku, event["order_id"], date(2031, 1, 31))
    assert again.status == "sent"


# Consent given with an order: tests/orders/test_consent.py (the order's transaction stores it;
# this subscriber writes none).


@given(openid=st.text(min_size=1, max_size=40), sku=st.text(min_size=1, max_size=20))
def test_shards_are_stable_and_in_range(openid, sku):
    shard = shard_of(openid, sku)
    assert 0 <= shard < SHARDS
    assert shard == shard_of(openid, sku)


@given(
    moment=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
    days=st.integers(min_value=1, max_value=3650),
)
def test_the_due_date_is_the_business_date_plus_the_period(moment, days):
    assert due_date(clock.iso(moment), days) == clock.business_date(moment) + timedelta(days=days)


def test_shards_spread_a_busy_day(aws):
    # 1,600 customers due on one day land in every shard, none with more than twice its share
    counts = [0] * SHARDS
    for i in range(1600):
        counts[shard_of(f"o{i}", "SKU-1")] += 1
    assert min(counts) > 0 and max(counts) < 2 * 1600 / SHARDS
