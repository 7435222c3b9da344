"""How each kind of notification goes out: the WeChat API and the body it takes.

A kind names its channel (`Kind.channel`); the worker asks here for the call and handles
WeChat's answer the same way for every channel. Errcodes that mean something particular to a
channel map to a final status in `FINAL_ERRCODES`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.broadcasts.chunks import chunk_openids
from functions.core import wechat
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


def _mass(row: NotificationRow, kind: Kind, client_msg_id: str) -> Outbound:
    """One chunk of a broadcast: its openids are stored by the broadcasts capability (a chunk's
    10,000 openids do not fit in a notification item); the record's fields name the chunk."""
    fields = row.fields or {}
    body: dict[str, Any] = {
        "touser": chunk_openids(fields["broadcast_id"], int(fields["chunk"])),
        "clientmsgid": client_msg_id,
        "send_ignore_reprint": 0,
    }
    if fields.get("text"):
        body.update(msgtype="text", text={"content": fields["text"]})
    else:
        body.update(msgtype="mpnews", mpnews={"media_id": fields.get("media_id", "")})
    return "cgi-bin/message/mass/send", body


CHANNELS: dict[str, Callable[[NotificationRow, Kind, str], Outbound]] = {
    "template": _template,
    "custom": _custom,
    "mass": _mass,
}

# errcode -> the final status it gives a notification (not retried).
FINAL_ERRCODES: dict[int, str] = {
    45015: "failed:window_closed",  # custom/send: the follower last wrote more than 48 hours ago
    40130: "failed:audience_too_small",  # mass/send of fewer than 2 openids (never built so)
}
# A mass/send whose clientmsgid WeChat already holds (a worker that died between its send and
# its write, sending again): not sent twice, and the answer names the first send's msg_id.
ALREADY_SENT_ERRCODES = {45065}


def outbound(row: NotificationRow, kind: Kind, client_msg_id: str) -> Outbound:
    return CHANNELS[kind.channel](row, kind, client_msg_id)


def already_sent(error: wechat.WeChatError) -> dict[str, Any] | None:
    """WeChat's answer when `error` means the message went out before; None otherwise."""
    if error.errcode in ALREADY_SENT_ERRCODES and error.answer.get("msg_id"):
        return error.answer
    return None


def msgid_of(answer: dict[str, Any]) -> str:
    """The id WeChat gave the send: `msgid` (template) or `msg_id` (mass)."""
    return str(answer.get("msgid") or answer.get("msg_id") or "")
