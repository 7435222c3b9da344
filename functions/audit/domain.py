"""The audit trail of the ops console: every state-changing action, who did it and when.

`record` is called by the console after the action it records has been stored (the action is
another capability's own transaction). Rows are kept for KEEP_DAYS and read by business day,
newest first: a Query per day, never a scan.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from functions.audit.models import AuditRow
from functions.core import clock

KEEP_DAYS = 400
DETAIL_MAX = 500


@dataclass(frozen=True)
class Entry:
    at: str
    who: str
    role: str
    action: str
    target: str
    store_id: str | None
    detail: str


def record(
    who: str, role: str, action: str, target: str, store_id: str | None = None, detail: str = ""
) -> Entry:
    moment = clock.now()
    at = clock.iso(moment)
    entry = Entry(at, who, role, action, target, store_id, detail[:DETAIL_MAX])
    AuditRow(
        f"AUDIT#{clock.business_date(moment).isoformat()}",
        f"{at}#{uuid.uuid4().hex[:8]}",
        at=at,
        who=who,
        role=role,
        action=action,
        target=target,
        store_id=store_id,
        detail=entry.detail or None,
        expires_at=int((moment + timedelta(days=KEEP_DAYS)).timestamp()),
    ).save()
    return entry


def recent(days: int = 7, limit: int = 200, today: date | None = None) -> list[Entry]:
    """The newest entries of the last `days` business days, newest first."""
    day = today or clock.business_date()
    found: list[Entry] = []
    for _ in range(days):
        for row in AuditRow.query(f"AUDIT#{day.isoformat()}", scan_index_forward=False, limit=limit):
            found.append(
                Entry(row.at, row.who, row.role, row.action, row.target, row.store_id, row.detail or "")
            )
        if len(found) >= limit:
            break
        day -= timedelta(days=1)
    return found[:limit]
