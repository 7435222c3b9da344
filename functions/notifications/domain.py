"""`notify()`: the one way domain code sends a WeChat message.

It writes a `queued` notification record and enqueues its id; the notification worker does
the sending. Passing a deterministic `notification_id` (e.g. "booking-confirmed-<id>") makes
notify itself idempotent: a repeated call neither duplicates the record nor the message.
"""

from __future__ import annotations

import uuid
from typing import Any

from pynamodb.exceptions import PutError

from functions.core import clock, queues
from functions.core.models import condition_failed
from functions.notifications.kinds import KINDS
from functions.notifications.models import NOTIFICATION, HistoryEntry, NotificationRow

QUEUE = "notifications"


def notify(
    openid: str,
    kind: str,
    fields: dict[str, str],
    *,
    url: str | None = None,
    notification_id: str | None = None,
    delay_s: int = 0,
) -> str:
    """Queue a template message of `kind` to `openid`; returns the notification id."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    notification_id = notification_id or uuid.uuid4().hex
    at = clock.iso(clock.now())
    row = NotificationRow(
        notification_id,
        NOTIFICATION,
        openid=openid,
        kind=kind,
        fields={k: str(v) for k, v in fields.items()},
        url=url,
        status="queued",
        created_at=at,
        updated_at=at,
        history=[HistoryEntry(at=at, status="queued")],
        gsi2pk=openid,
        gsi2sk=f"{at}#{notification_id}",
    )
    try:
        row.save(condition=NotificationRow.pk.does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise
        existing = NotificationRow.get(notification_id, NOTIFICATION, consistent_read=True)
        if existing.status != "queued":
            return notification_id  # already handled: never send twice
    # Enqueue after the record exists; a crash before this line is healed by a repeated
    # call (same id), and the worker ignores ids that are no longer queued.
    # openid and kind let the worker decide a transactional message without reading the record first.
    queues.send(QUEUE, {"notification_id": notification_id, "openid": openid, "kind": kind}, delay_s=delay_s)
    return notification_id


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
        "history": [{"at": h.at, "status": h.status, "detail": h.detail} for h in row.history or []],
    }
