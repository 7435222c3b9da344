"""The monthly cap of mass messages: a follower receives at most 4 broadcasts a calendar month
(business time zone), as WeChat itself enforces for a service account.

Counted the way reminder caps are (functions/notifications/caps.py): one item per follower
(pk "MCAP#<openid>", sk "MASS") holding this month's count and the ids of the broadcasts it
counted, so taking a place is ONE conditional update. Two broadcasts freezing their audiences
at once can never both take the fourth place, and a broadcast whose job is retried is
recognised by its id and not counted twice.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import UpdateError

from functions.broadcasts.models import MASS, MassCapRow
from functions.core import clock
from functions.core.models import condition_failed

PER_MONTH = 4
KEEP_S = 40 * 86400  # TTL: past the month (moto never expires; the logic does not need it)
ATTEMPTS = 5


def cap_key(openid: str) -> str:
    return f"MCAP#{openid}"


def month_of(moment: datetime) -> str:
    return clock.business_date(moment).strftime("%Y-%m")


def _read(openid: str) -> MassCapRow | None:
    try:
        return MassCapRow.get(cap_key(openid), MASS, consistent_read=True)
    except MassCapRow.DoesNotExist:
        return None


def _counted(row: MassCapRow | None, broadcast_id: str, month: str) -> bool:
    return row is not None and row.month == month and broadcast_id in (row.month_ids or set())


def _full(row: MassCapRow | None, month: str) -> bool:
    return row is not None and row.month == month and (row.month_count or 0) >= PER_MONTH


def would_allow(openid: str, moment: datetime) -> bool:
    """Whether one more broadcast fits `openid`'s month (reads only; `take` decides)."""
    return not _full(_read(openid), month_of(moment))


def take(openid: str, broadcast_id: str, moment: datetime) -> bool:
    """Count `broadcast_id` for `openid` in the month of `moment`; True if it has a place (now
    or from an earlier attempt), False if the month is full."""
    month = month_of(moment)
    expires = int(moment.timestamp()) + KEEP_S
    same_month = (
        [
            MassCapRow.month_count.add(1),
            MassCapRow.month_ids.add({broadcast_id}),
            MassCapRow.expires_at.set(expires),
        ],
        (MassCapRow.month == month)
        & (MassCapRow.month_count < PER_MONTH)
        & ~MassCapRow.month_ids.contains(broadcast_id),
    )
    new_month = (
        [
            MassCapRow.month.set(month),
            MassCapRow.month_count.set(1),
            MassCapRow.month_ids.set({broadcast_id}),
            MassCapRow.expires_at.set(expires),
        ],
        MassCapRow.month.does_not_exist() | (MassCapRow.month != month),
    )
    for _ in range(ATTEMPTS):
        for actions, condition in (same_month, new_month):
            try:
                MassCapRow(cap_key(openid), MASS).update(actions=actions, condition=condition)
                return True
            except UpdateError as error:
                if not condition_failed(error):
                    raise
        row = _read(openid)
        if _counted(row, broadcast_id, month):
            return True  # counted by this broadcast before (a retried job)
        if _full(row, month):
            return False
        # Neither condition held yet nothing blocks: the item changed between our writes.
    return False


def release(openid: str, broadcast_id: str, moment: datetime) -> bool:
    """Give back the place `broadcast_id` took (it was not sent after all); False if it held none."""
    month = month_of(moment)
    try:
        MassCapRow(cap_key(openid), MASS).update(
            actions=[MassCapRow.month_count.add(-1), MassCapRow.month_ids.delete({broadcast_id})],
            condition=(MassCapRow.month == month) & MassCapRow.month_ids.contains(broadcast_id),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def received_this_month(openid: str, moment: datetime) -> int:
    row = _read(openid)
    return int(row.month_count or 0) if row is not None and row.month == month_of(moment) else 0
