"""Per-store and per-staff, per-business-day counters, kept with atomic ADDs in the transaction
of the event they count (never a scan of events)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from functions.core import clock, txn
from functions.core.errors import NotFound, RuleBroken
from functions.stores.domain import UNKNOWN_STORE, get_store
from functions.stores.models import StaffStatsRow, StoreStatsRow

COUNTERS = ("scans", "new_followers", "unsubscribes", "bookings", "redemptions")
STAFF_COUNTERS = ("scans", "new_followers", "bookings")
MAX_DAYS = 366
DEFAULT_DAYS = 7


def _row(store_id: str, day: date | None) -> StoreStatsRow:
    return StoreStatsRow(f"STATS#{store_id}", (day or clock.business_date()).isoformat())


def _action(counter: str, n: int) -> Any:
    if counter not in COUNTERS:
        raise ValueError(f"unknown store counter {counter!r}")
    return getattr(StoreStatsRow, counter).add(n)


def store_report(store_id: str, start: date | None = None, end: date | None = None) -> dict[str, Any]:
    """The store's counters per business day from `start` to `end` (default: the last seven
    days); `_unknown` counts scans of scenes that are not ours."""
    end = end or clock.business_date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end or (end - start).days >= MAX_DAYS:
        raise RuleBroken(f"need from <= to, at most {MAX_DAYS} days", code="invalid_range")
    if store_id != UNKNOWN_STORE and get_store(store_id) is None:
        raise NotFound(f"store {store_id} does not exist", code="store_not_found")
    return {
        "store_id": store_id,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "days": daily_stats(store_id, start, end),
    }


def daily_stats(store_id: str, start: date, end: date) -> list[dict[str, Any]]:
    """One entry per day in [start, end], zeros where nothing happened."""
    rows = {
        row.sk: row
        for row in StoreStatsRow.query(
            f"STATS#{store_id}", StoreStatsRow.sk.between(start.isoformat(), end.isoformat())
        )
    }
    result = []
    day = start
    while day <= end:
        row = rows.get(day.isoformat())
        result.append(
            {"date": day.isoformat(), **{c: int(getattr(row, c) or 0) if row else 0 for c in COUNTERS}}
        )
        day = date.fromordinal(day.toordinal() + 1)
    return result


def counters_op(store_id: str, counters: dict[str, int], day: date | None = None) -> txn.Op:
    """The increments of one store and business day, as an item of the caller's transaction,
    so that a counter commits with the effect it counts (one item: a transaction may touch
    an item only once)."""
    return txn.update(f"stats#{store_id}", _row(store_id, day), [_action(c, n) for c, n in counters.items()])


def staff_counters_op(
    store_id: str, staff_id: str, counters: dict[str, int], day: date | None = None
) -> txn.Op:
    """The increments of one staff member and business day, as an item of the caller's
    transaction (beside the store's own counters_op item)."""
    for counter in counters:
        if counter not in STAFF_COUNTERS:
            raise ValueError(f"unknown staff counter {counter!r}")
    row = StaffStatsRow(f"STAFFSTATS#{store_id}", f"{(day or clock.business_date()).isoformat()}#{staff_id}")
    return txn.update(
        f"staffstats#{store_id}#{staff_id}",
        row,
        [getattr(StaffStatsRow, c).add(n) for c, n in counters.items()],
    )


def staff_totals(store_id: str, start: date, end: date) -> dict[str, dict[str, int]]:
    """Each staff member's counters summed over [start, end]: one Query of the store's staff rows."""
    totals: dict[str, dict[str, int]] = {}
    rows = StaffStatsRow.query(
        f"STAFFSTATS#{store_id}", StaffStatsRow.sk.between(f"{start.isoformat()}#", f"{end.isoformat()}#~")
    )
    for row in rows:
        staff_id = row.sk.split("#", 1)[1]
        entry = totals.setdefault(staff_id, dict.fromkeys(STAFF_COUNTERS, 0))
        for counter in STAFF_COUNTERS:
            entry[counter] += int(getattr(row, counter) or 0)
    return totals
