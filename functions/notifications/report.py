"""What ops see of the notifications (the console's notifications page): counts by kind and
outcome per hour, and the failed and deferred ones with their reasons. Read by key, never a scan.

Each settled decision of the worker is counted exactly once: its count (and, for a failed or
deferred one, its problem row) is an item of the same transaction as the conditional write that
moved the record (`outcome_ops`), so the count costs no call of its own. A delivery report
counts with a separate write after its status update (`record_outcome`).

Rows (notifications table):
- OutcomeCountRow: pk "OUTCOMES#<UTC date>", sk "<HH>#<kind>#<outcome>[#<shard>]", count; the
  worker spreads each hour's count over SHARDS items (by notification id), so that concurrent
  transactions rarely meet on one item; readers add the shards up.
- ProblemRow: pk "PROBLEMS#<UTC date>", sk "<at>#<notification id>", kind, status, detail.
Both expire after KEEP_DAYS (the table's TTL).
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core import clock, txn
from functions.core.models import TableMeta

KEEP_DAYS = 14
SHARDS = 32
PROBLEMS = ("failed", "deferred")  # the outcomes ops must look at, with their reasons


class OutcomeCountRow(Model):
    class Meta(TableMeta):
        table = "notifications"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    count = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)


class ProblemRow(Model):
    class Meta(TableMeta):
        table = "notifications"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    notification_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    status = UnicodeAttribute()
    detail = UnicodeAttribute(null=True)
    at = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)


def _expires(moment: datetime) -> int:
    return int((moment + timedelta(days=KEEP_DAYS)).timestamp())


def _shard(notification_id: str) -> int:
    return zlib.crc32(notification_id.encode()) % SHARDS


def outcome_ops(
    notification_id: str, kind: str, status: str, detail: str | None = None, at: datetime | None = None
) -> list[txn.Op]:
    """The count of one decision (and its problem row, for a failed or deferred one) as items
    of the transaction that records the decision."""
    moment = (at or clock.now()).astimezone(UTC)
    outcome = status.partition(":")[0]
    day, hour = moment.strftime("%Y-%m-%d"), moment.strftime("%H")
    count = OutcomeCountRow(f"OUTCOMES#{day}", f"{hour}#{kind}#{outcome}#{_shard(notification_id)}")
    ops = [
        txn.update(
            "count",
            count,
            [OutcomeCountRow.count.add(1), OutcomeCountRow.expires_at.set(_expires(moment))],
        )
    ]
    if outcome in PROBLEMS:
        ops.append(txn.put("problem", _problem(notification_id, kind, status, detail, moment)))
    return ops


def _problem(
    notification_id: str, kind: str, status: str, detail: str | None, moment: datetime
) -> ProblemRow:
    return ProblemRow(
        f"PROBLEMS#{moment:%Y-%m-%d}",
        f"{clock.iso(moment)}#{notification_id}",
        notification_id=notification_id,
        kind=kind,
        status=status,
        detail=(detail or "")[:500] or None,
        at=clock.iso(moment),
        expires_at=_expires(moment),
    )


def record_outcome(
    notification_id: str, kind: str, status: str, detail: str | None = None, at: datetime | None = None
) -> None:
    """Count one decision (`status` is the record's new status, e.g. `sent`, `failed:<reason>`);
    a failed or deferred one is also listed with its reason."""
    moment = (at or clock.now()).astimezone(UTC)
    outcome = status.partition(":")[0]
    day, hour = moment.strftime("%Y-%m-%d"), moment.strftime("%H")
    OutcomeCountRow(f"OUTCOMES#{day}", f"{hour}#{kind}#{outcome}").update(
        actions=[OutcomeCountRow.count.add(1), OutcomeCountRow.expires_at.set(_expires(moment))]
    )
    if outcome in PROBLEMS:
        _problem(notification_id, kind, status, detail, moment).save()


def _days(since: datetime, until: datetime) -> list[str]:
    days, day = [], since.date()
    while day <= until.date():
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def last_day_counts(now: datetime | None = None) -> dict[tuple[str, str], int]:
    """(kind, outcome) -> count over the last 24 hours (whole hours): two Queries."""
    until = (now or clock.now()).astimezone(UTC)
    since = until - timedelta(hours=23)
    counts: dict[tuple[str, str], int] = {}
    for day in _days(since, until):
        low = since.strftime("%H") if day == since.date().isoformat() else "00"
        high = until.strftime("%H") if day == until.date().isoformat() else "23"
        for row in OutcomeCountRow.query(
            f"OUTCOMES#{day}", OutcomeCountRow.sk.between(f"{low}#", f"{high}#~")
        ):
            _, kind, outcome = row.sk.split("#")[:3]  # a shard's number may follow
            counts[(kind, outcome)] = counts.get((kind, outcome), 0) + int(row.count or 0)
    return counts


def recent_problems(now: datetime | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Failed and deferred decisions of the last 24 hours, newest first, with their reasons."""
    until = (now or clock.now()).astimezone(UTC)
    since = until - timedelta(hours=24)
    found: list[dict[str, Any]] = []
    for day in reversed(_days(since, until)):
        rows = ProblemRow.query(
            f"PROBLEMS#{day}", ProblemRow.sk >= clock.iso(since), scan_index_forward=False, limit=limit
        )
        for row in rows:
            found.append(
                {
                    "notification_id": row.notification_id,
                    "kind": row.kind,
                    "status": row.status,
                    "reason": row.status.partition(":")[2],
                    "detail": row.detail or "",
                    "at": row.at,
                }
            )
    return found[:limit]
