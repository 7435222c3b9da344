"""The outbox: a message is a `queued` record written together with the change that causes it.

`notify_op(...)` is that record as an item of the caller's transaction (`functions.core.txn`):
the booking, the coupon or the status change commits with its message or not at all. The
table's stream hands every new record to the outbox relay (`outbox.py`), which enqueues it for
the notification worker. Nothing here talks to SQS, so a queue that is down delays a message
but never loses it.

A deterministic `notification_id` (e.g. "booking-<id>-confirmed") makes the item idempotent:
a record already there is left exactly as it is, whatever its state, so repeating a change's
transaction or a job never queues a message twice. `supersedes` names older messages about the
same subject that this one makes stale; the worker drops those unsent (`skipped:superseded`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from pynamodb.exceptions import UpdateError

from functions.core import clock, txn
from functions.core.models import condition_failed
from functions.notifications.kinds import KINDS
from functions.notifications.models import CLAIMABLE, NOTIFICATION, HistoryEntry, NotificationRow

LABEL = "notification"


def notify_op(
    openid: str,
    kind: str,
    fields: dict[str, str],
    *,
    url: str | None = None,
    notification_id: str | None = None,
    supersedes: Sequence[str] = (),
    label: str = LABEL,
) -> txn.Op:
    """The `queued` record of a template message of `kind` to `openid`, as a transaction item
    (label "notification"). It never fails the transaction: an existing id is left alone."""
    row, actions = _record(openid, kind, fields, url, notification_id, supersedes)
    return txn.update(label, row, actions)


def notify(
    openid: str,
    kind: str,
    fields: dict[str, str],
    *,
    url: str | None = None,
    notification_id: str | None = None,
    supersedes: Sequence[str] = (),
) -> str:
    """Record a message that no other write causes (one item, no transaction); returns its id."""
    row, actions = _record(openid, kind, fields, url, notification_id, supersedes)
    row.update(actions=actions)
    return row.pk


def _record(
    openid: str,
    kind: str,
    fields: dict[str, str],
    url: str | None,
    notification_id: str | None,
    supersedes: Sequence[str],
) -> tuple[NotificationRow, list[Any]]:
    """The record's key and the update that creates it, each attribute `if_not_exists`, so an
    existing record is left as it is (no condition: it never cancels the caller's change)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    notification_id = notification_id or uuid.uuid4().hex
    at = clock.iso(clock.now())
    values: list[tuple[Any, Any]] = [
        (NotificationRow.openid, openid),
        (NotificationRow.kind, kind),
        (NotificationRow.fields, {k: str(v) for k, v in fields.items()}),
        (NotificationRow.status, "queued"),
        (NotificationRow.attempts, 0),
        (NotificationRow.created_at, at),
        (NotificationRow.updated_at, at),
        (NotificationRow.history, [HistoryEntry(at=at, status="queued")]),
        (NotificationRow.gsi2pk, openid),
        (NotificationRow.gsi2sk, f"{at}#{notification_id}"),
    ]
    if url is not None:
        values.append((NotificationRow.url, url))
    others = [s for s in dict.fromkeys(supersedes) if s != notification_id]
    if others:
        values.append((NotificationRow.supersedes, others))
    actions = [attribute.set(attribute | value) for attribute, value in values]
    return NotificationRow(notification_id, NOTIFICATION), actions


def mark_superseded(notification_id: str, by: str) -> bool:
    """Tell a message not yet sent that `by` made it stale; False if it was decided already
    (sent, skipped, failed) or does not exist. The worker drops it when it meets it."""
    try:
        NotificationRow(notification_id, NOTIFICATION).update(
            actions=[NotificationRow.superseded_by.set(by)],
            condition=NotificationRow.pk.exists()
            & NotificationRow.superseded_by.does_not_exist()
            & NotificationRow.status.is_in(*CLAIMABLE, "sending"),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def get_notification(notification_id: str) -> dict[str, Any] | None:
    try:
        row = NotificationRow.get(notification_id, NOTIFICATION, consistent_read=True)
    except NotificationRow.DoesNotExist:
        return None
    return to_view(row)


def customer_notifications(openid: str, limit: int = 50) -> list[dict[str, Any]]:
    """A customer's notifications, newest first (gsi2: openid, created_at#id)."""
    rows = NotificationRow.by_openid.query(openid, scan_index_forward=False, limit=limit)
    return [to_view(row) for row in rows]


def to_view(row: NotificationRow) -> dict[str, Any]:
    return {
        "notification_id": row.pk,
        "openid": row.openid,
        "kind": row.kind,
        "fields": row.fields,
        "url": row.url,
        "status": row.status,
        "msgid": row.msgid,
        "attempts": row.attempts,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "not_before": row.not_before,
        "last_error": row.last_error,
        "superseded_by": row.superseded_by,
        "history": [{"at": h.at, "status": h.status, "detail": h.detail} for h in row.history or []],
    }
