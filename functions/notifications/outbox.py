"""The outbox relay: every new notification record, from the table's stream to the queue.

A record is written `queued` in the transaction of the change that causes it (`notify_op`);
DynamoDB Streams delivers its INSERT here, and the relay
- marks the older messages it `supersedes` (the worker then drops them unsent), and
- enqueues it for the notification worker, in batches of ten, with its content (openid, kind,
  named values, link), so that the worker need not read it.

If SQS or DynamoDB fails, the relay raises: Lambda's event source mapping (and locally the
event runtime) delivers the same records again until they go through. A record relayed twice
is harmless: the worker's conditional claim sends each notification once.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from functions.core import queues
from functions.notifications.domain import mark_superseded
from functions.notifications.models import NOTIFICATION

log = logging.getLogger(__name__)

QUEUE = "notifications"


def relay(records: list[dict[str, Any]]) -> int:
    """Enqueue the new records of one stream batch; returns how many. Raises to be retried."""
    messages = []
    for record in records:
        message = _message(record)
        if message is None:
            continue
        for older in message.pop("supersedes"):
            mark_superseded(older, by=message["notification_id"])
        messages.append(message)
    if not messages:
        return 0
    try:
        queues.send_many(QUEUE, messages)
    except Exception:
        ids = ", ".join(m["notification_id"] for m in messages)
        log.warning("could not enqueue notifications %s; the stream delivers them again", ids)
        raise
    return len(messages)


def _message(record: dict[str, Any]) -> dict[str, Any] | None:
    """The worker's message for an INSERT of a notification record (None for anything else:
    the worker's own updates, caps, the token item)."""
    if record.get("eventName") != "INSERT":
        return None
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    if _text(image, "sk") != NOTIFICATION or _text(image, "status") != "queued":
        return None
    notification_id, openid, kind = _text(image, "pk"), _text(image, "openid"), _text(image, "kind")
    if not (notification_id and openid and kind):
        log.warning("notification record without id, openid or kind in the stream: %s", record.get("eventID"))
        return None
    older = (image.get("supersedes") or {}).get("L") or []
    message: dict[str, Any] = {
        # The record's content lets the worker claim and send a transactional message without
        # reading the record: the claim's conditions decide, not a read before it.
        "notification_id": notification_id,
        "openid": openid,
        "kind": kind,
        "supersedes": [item["S"] for item in older if "S" in item],
    }
    try:
        fields = json.loads(_text(image, "fields") or "null")
    except ValueError:
        fields = None
    if isinstance(fields, dict):
        message["fields"] = fields
    url = _text(image, "url")
    if url:
        message["url"] = url
    return message


def _text(image: dict[str, Any], name: str) -> str | None:
    return (image.get(name) or {}).get("S")
