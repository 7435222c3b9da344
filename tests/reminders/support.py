"""Givens shared by the reminder tests: customers, products, purchases and unique business dates."""

from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from functions.core import clock

_lock = threading.Lock()
_used: set[date] = set()


def fresh_day() -> date:
    """A business date no other test in this process uses (the moto server is shared)."""
    with _lock:
        while True:
            day = date(2031, 1, 1) + timedelta(days=uuid.uuid4().int % 20000)
            if day not in _used:
                _used.add(day)
                return day


def at(day: date, hhmm: str = "10:00") -> datetime:
    return clock.business_datetime(day, hhmm)


def openid() -> str:
    return f"o-rem-{uuid.uuid4().hex[:12]}"


def sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:8]}"


def customer(openid: str, *, subscribed: bool = True, consent: bool = True) -> None:
    # The callback capability owns subscription; here the row is written as it would leave it.
    from functions.customers.models import CustomerRow

    CustomerRow(openid, subscribed=subscribed, reminder_consent=consent).save()


def product(sku: str, replenish_days: int | None = 90, name: str = "SK-II 神仙水 230ml") -> None:
    from functions.reminders.products import Product, put_product

    put_product(Product(sku=sku, name=name, replenish_days=replenish_days))


def purchase_line(openid: str, sku: str, purchased_at: datetime, order_id: str | None = None) -> str:
    """A purchase as the orders capability records it (what bought_since reads)."""
    from functions.orders.models import PurchaseLineRow

    order_id = order_id or f"ord-{uuid.uuid4().hex[:10]}"
    when = clock.iso(purchased_at)
    PurchaseLineRow(
        f"ORDER#{order_id}",
        f"LINE#{sku}",
        order_id=order_id,
        openid=openid,
        sku=sku,
        qty=1,
        purchased_at=when,
        gsi1pk=f"BOUGHT#{openid}#{sku}",
        gsi1sk=f"{when}#{order_id}",
    ).save()
    return order_id


def order_event(
    openid: str,
    skus: list[str],
    purchased_at: datetime,
    consent: bool | None = None,
    order_id: str | None = None,
) -> dict[str, Any]:
    order_id = order_id or f"ord-{uuid.uuid4().hex[:10]}"
    return {
        "type": "order_recorded",
        "order_id": order_id,
        "openid": openid,
        "store_id": None,
        "items": [{"sku": s, "qty": 1, "price_cents": 9900} for s in skus],
        "total_cents": 9900 * len(skus),
        "purchased_at": clock.iso(purchased_at),
        "reminder_consent": consent,
    }


def bought(openid: str, sku: str, purchased_at: datetime, consent: bool | None = None) -> dict[str, Any]:
    """Record a purchase and index it, as the order_recorded event does."""
    from functions.reminders.due import on_order_recorded

    event = order_event(openid, [sku], purchased_at, consent)
    purchase_line(openid, sku, purchased_at, event["order_id"])
    on_order_recorded(event)
    return event


def run_day(day: date) -> dict[str, Any]:
    """Process every shard of `day` (what the fanned-out workers do), then return the run stats."""
    from functions.reminders.due import SHARDS
    from functions.reminders.job import process_shard
    from functions.reminders.stats import run_stats

    for shard in range(SHARDS):
        process_shard(day.isoformat(), shard)
    return run_stats(day)


def due_status(openid: str, sku: str, order_id: str, day: date) -> str | None:
    from functions.reminders.due import due_pk, due_sk, shard_of
    from functions.reminders.models import DueRow

    row = DueRow.get(due_pk(day, shard_of(openid, sku)), due_sk(openid, sku, order_id), consistent_read=True)
    return row.status


def reminder_notification(day: date, openid: str, sku: str) -> dict[str, Any] | None:
    from functions.notifications.domain import get_notification
    from functions.reminders.job import notification_id

    return get_notification(notification_id(day.isoformat(), openid, sku))
