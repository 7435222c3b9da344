"""The due index: each purchase of a SKU with `replenish_days` is filed under the business date
it becomes due, so the daily job reads only what is due that day, never the history.

The index is sharded (`pk "DUE#<date>#<shard>"`) so that one busy day is spread over SHARDS
partitions and SHARDS workers. Subscriber of the `order_recorded` event
(functions/orders/subscribers.py); idempotent, because events can be delivered twice. The
consent given with an order is not this module's: the customers capability stores it in the
order's own transaction, so a redelivered event cannot undo a withdrawal made since.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from pynamodb.exceptions import PutError

from functions.core import clock
from functions.core.models import condition_failed
from functions.reminders.models import DueRow
from functions.reminders.products import get_product

# Partitions per business date. Changing it only affects purchases indexed afterwards if the
# job keeps reading the old shard count too: raise it by deploying the job first (it reads
# every shard < SHARDS; empty shards cost one query each).
SHARDS = 16
DUE_TTL_DAYS = 60  # a due item is kept this long after its date (ops can re-run the day meanwhile)


def shard_of(openid: str, sku: str) -> int:
    """Stable across processes and deployments (unlike Python's hash())."""
    digest = hashlib.sha256(f"{openid}#{sku}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % SHARDS


def due_date(purchased_at: str, replenish_days: int) -> date:
    return clock.business_date(clock.parse_iso(purchased_at)) + timedelta(days=replenish_days)


def due_pk(day: date | str, shard: int) -> str:
    text = day if isinstance(day, str) else day.isoformat()
    return f"DUE#{text}#{shard:02d}"


def due_sk(openid: str, sku: str, order_id: str) -> str:
    return f"{openid}#{sku}#{order_id}"


def _epoch(day: date) -> int:
    return int(clock.business_datetime(day, "00:00").timestamp())


def due_row(openid: str, sku: str, order_id: str, purchased_at: str, day: date) -> DueRow:
    return DueRow(
        due_pk(day, shard_of(openid, sku)),
        due_sk(openid, sku, order_id),
        openid=openid,
        sku=sku,
        order_id=order_id,
        purchased_at=clock.iso(clock.parse_iso(purchased_at)),
        due_date=day.isoformat(),
        expires_at=_epoch(day + timedelta(days=DUE_TTL_DAYS)),
    )


def _put_once(row: Any) -> bool:
    """Create the row unless it exists; a redelivered event must not reset a decided item."""
    try:
        row.save(condition=type(row).pk.does_not_exist())
    except PutError as error:
        if condition_failed(error):
            return False
        raise
    return True


def on_order_recorded(event: dict[str, Any]) -> list[str]:
    """Index the order's due purchases; returns the due keys written (new or not)."""
    order_id, openid = str(event["order_id"]), str(event["openid"])
    written: list[str] = []
    seen: set[str] = set()
    for item in event.get("items") or []:
        sku = str(item.get("sku") or "")
        if not sku or sku in seen:
            continue
        seen.add(sku)
        product = get_product(sku)
        if product is None or not product.replenish_days:
            continue  # not replenishable, or defined after this order: not indexed (see README)
        day = due_date(event["purchased_at"], product.replenish_days)
        row = due_row(openid, sku, order_id, event["purchased_at"], day)
        _put_once(row)
        written.append(f"{row.pk}|{row.sk}")
    return written
