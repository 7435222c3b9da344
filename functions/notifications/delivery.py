"""Delivery reports (TEMPLATESENDJOBFINISH): found by msgid through gsi1, never a scan."""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from functions.core import clock
from functions.core.models import condition_failed
from functions.notifications import report
from functions.notifications.models import HistoryEntry, NotificationRow


def mark_delivery(msgid: str, status: str) -> bool:
    """`status` is WeChat's: "success" -> delivered, else failed:<status>. Returns False if unknown."""
    outcome = "delivered" if status.strip() == "success" else f"failed:{status.strip()}"
    at = clock.iso(clock.now())
    found = False
    for row in NotificationRow.by_msgid.query(f"MSGID#{msgid}"):
        found = True
        try:
            row.update(
                actions=[
                    NotificationRow.status.set(outcome),
                    NotificationRow.updated_at.set(at),
                    NotificationRow.history.set(
                        NotificationRow.history.append([HistoryEntry(at=at, status=outcome)])
                    ),
                ],
                # WeChat may report twice: history keeps the outcome once.
                condition=NotificationRow.status != outcome,
            )
        except UpdateError as error:
            if not condition_failed(error):
                raise
        else:
            report.record_outcome(row.pk, row.kind, outcome, status.strip())
    return found


def notifications_with_msgid(msgid: str) -> list[tuple[str, str]]:
    """(notification id, kind) of each record WeChat's `msgid` names (gsi1), for reports that
    carry more than a status (MASSSENDJOBFINISH's counts, which the broadcast keeps)."""
    return [(row.pk, row.kind) for row in NotificationRow.by_msgid.query(f"MSGID#{msgid}")]
