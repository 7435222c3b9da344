"""How each kind of notification goes out: the WeChat API and the body it takes.

A kind names its channel (`Kind.channel`); the worker asks here for the call and handles
WeChat's answer the same way for every channel. Errcodes that mean something particular to a
channel map to a final status in `FINAL_ERRCODES`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.core.config import get_settings
from functions.notifications.kinds import Kind
from functions.notifications.models import NotificationRow
from functions.notifications.templates import template_message

Outbound = tuple[str, dict[str, Any]]  # (API path, JSON body)


def _template(row: NotificationRow, kind: Kind, client_msg_id: str) -> Outbound:
    template_id = kind.template_id(get_settings())
    body = template_message(row.openid, template_id, row.fields or {}, row.url, client_msg_id)
    return "cgi-bin/message/template/send", body


def _custom(row: NotificationRow, kind: Kind, client_msg_id: str) -> Outbound:
    """A customer-service text (the store inbox's replies): allowed for 48 hours after the
    follower's last message. WeChat's custom/send takes no client_msg_id."""
    text = (row.fields or {}).get("text", "")
    return "cgi-bin/message/custom/send", {"touser": row.openid, "msgtype": "text", "text": {"content": text}}


CHANNELS: dict[str, Callable[[NotificationRow, Kind, str], Outbound]] = {
    "template": _template,
    "custom": _custom,
}

# errcode -> the final status it gives a notification (not retried).
FINAL_ERRCODES: dict[int, str] = {
    45015: "failed:window_closed",  # custom/send: the follower last wrote more than 48 hours ago
}


def outbound(row: NotificationRow, kind: Kind, client_msg_id: str) -> Outbound:
    return CHANNELS[kind.channel](row, kind, client_msg_id)
