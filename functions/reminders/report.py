"""Do repurchase reminders sell? Reminded customers against the product's holdout.

For the due dates in [from, to], every due purchase decided `sent` (reminded) or
`skipped:holdout` (kept back) is one member of its group; it is a buyer if the customer
bought that SKU again within `window_days` from the start of its due date, and the revenue is
what those orders' lines of that SKU came to. The due items are read by their keys (one
Query per date and shard), the orders by customer and date (functions/orders/domain.py);
nothing scans. The arithmetic is functions/core/measure.py, shared with broadcasts.

Due items are kept DUE_TTL_DAYS after their date (reminders/due.py): older dates report empty.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any

from functions.core import clock, measure
from functions.core.errors import RuleBroken
from functions.orders.domain import orders_between
from functions.reminders.due import SHARDS, due_pk
from functions.reminders.models import DueRow

MAX_RANGE_DAYS = 92
THREADS = 8
REMINDED, HOLDOUT = "sent", "skipped:holdout"


def _start_of(day: str) -> datetime:
    return clock.business_datetime(date.fromisoformat(day), "00:00")


def _bought(row: DueRow, window_days: int) -> int | None:
    """What the customer spent on the reminded SKU in the window; None if they did not buy it."""
    start = _start_of(row.due_date)
    spent, bought = 0, False
    for order in orders_between(row.openid, start, start + timedelta(days=window_days)):
        for item in order.items:
            if item.get("sku") == row.sku:
                bought = True
                spent += int(item.get("qty") or 0) * int(item.get("price_cents") or 0)
    return spent if bought else None


def _group(rows: list[DueRow], window_days: int) -> measure.Group:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(lambda row: _bought(row, window_days), rows))
    bought = [r for r in results if r is not None]
    return measure.Group(members=len(rows), buyers=len(bought), revenue_cents=sum(bought))


def reminders_report(start: date, end: date, window_days: int = 7) -> dict[str, Any]:
    if end < start or (end - start).days >= MAX_RANGE_DAYS:
        raise RuleBroken(f"from must not be after to, at most {MAX_RANGE_DAYS} days", code="invalid_range")
    groups: dict[str, list[DueRow]] = {REMINDED: [], HOLDOUT: []}
    for offset in range((end - start).days + 1):  # never past `end` (date.max + 1 overflows)
        day = start + timedelta(days=offset)
        for shard in range(SHARDS):
            for row in DueRow.query(due_pk(day.isoformat(), shard)):
                if row.status in groups:
                    groups[row.status].append(row)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "window_days": window_days,
        **measure.compare(_group(groups[REMINDED], window_days), _group(groups[HOLDOUT], window_days)),
    }
