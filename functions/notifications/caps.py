"""Frequency caps for reminder kinds: at most 1 per 7 days and 4 per calendar month
(business time zone) per customer.

One item per customer (pk "CAP#<openid>", sk "CAPS") holds the last reminder's time and the
current month's count and ids, so taking a slot is ONE conditional update: two workers can
never both take the last slot, and a notification that already took its slot (a retry, or a
crash between taking and claiming) is recognised by its id and not counted twice.

Single-item writes rather than a transaction on purpose: each counter lives on one item, so
a transaction would not be more atomic here, only twice the write cost.
`would_allow` is the read-only pre-check the reminders job uses.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import UpdateError

from functions.core import clock
from functions.core.models import condition_failed
from functions.notifications.models import CAPS, CapRow

WEEK_S = 7 * 86400
PER_MONTH = 4
KEEP_S = 40 * 86400  # TTL: past both windows (moto never expires; the logic does not need it)
ATTEMPTS = 5


def cap_key(openid: str) -> str:
    return f"CAP#{openid}"


def month_of(moment: datetime) -> str:
    return clock.business_date(moment).strftime("%Y-%m")


def _read(openid: str) -> CapRow | None:
    try:
        return CapRow.get(cap_key(openid), CAPS, consistent_read=True)
    except CapRow.DoesNotExist:
        return None


def _blocked(row: CapRow | None, ts: int, month: str) -> bool:
    if row is None:
        return False
    if row.last_ts is not None and row.last_ts > ts - WEEK_S:
        return True
    return row.month == month and (row.month_count or 0) >= PER_MONTH


def would_allow(openid: str, moment: datetime) -> bool:
    """Whether a reminder to `openid` at `moment` fits both caps (reads only; the worker decides)."""
    return not _blocked(_read(openid), int(moment.timestamp()), month_of(moment))


def take(openid: str, notification_id: str, moment: datetime) -> bool:
    """Take a slot for `notification_id` at `moment`; True if it has one (now or already)."""
    ts, month = int(moment.timestamp()), month_of(moment)
    week_free = CapRow.last_ts.does_not_exist() | (CapRow.last_ts <= ts - WEEK_S)
    common = [
        CapRow.last_ts.set(ts),
        CapRow.last_id.set(notification_id),
        CapRow.expires_at.set(ts + KEEP_S),
    ]
    same_month = (
        common + [CapRow.month_count.add(1), CapRow.month_ids.add({notification_id})],
        week_free & (CapRow.month == month) & (CapRow.month_count < PER_MONTH),
    )
    new_month = (
        common
        + [
            CapRow.month.set(month),
            CapRow.month_count.set(1),
            CapRow.month_ids.set({notification_id}),
        ],
        week_free & (CapRow.month.does_not_exist() | (CapRow.month != month)),
    )
    for _ in range(ATTEMPTS):
        for actions, condition in (same_month, new_month):
            try:
                CapRow(cap_key(openid), CAPS).update(actions=actions, condition=condition)
                return True
            except UpdateError as error:
                if not condition_failed(error):
                    raise
        row = _read(openid)
        if row is not None and (
            row.last_id == notification_id or notification_id in (row.month_ids or set())
        ):
            return True  # taken by this notification before
        if _blocked(row, ts, month):
            return False
        # Neither condition held yet nothing blocks: the item changed between our writes.
    return False
