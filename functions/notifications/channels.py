"""How each kind of notification goes out: the WeChat API and the body it takes.

A kind names its channel (`Kind.channel`); the worker asks here for the call and handles
WeChat's answer the same way for every channel. Errcodes that mean something particular to a
channel map to a final status in `FINAL_ERRCODES`.

`template` kinds are rendered from infra/templates.yaml (functions/notifications/templates.py),
which also says whether the template goes out as a template message or as a subscribe
notification; a value its WeChat type cannot show raises `templates.InvalidField` before any
call (the worker records `failed:invalid_field`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.broadcasts.chunks import chunk_openids
from functions.core import wechat
from functions.notifications import templates
from functions.notifications.kinds import Kind
from functions.notifications.models import NotificationRow

Outbound = tuple[str, dict[str, Any]]  # (API path, JSON body)
TEMPLATE_SEND = "cgi-bin/message/template/send"
SUBSCRIBE_SEND = "cgi-bin/message/subscribe/bizsend"


def subscribe_template(kind: str) -> str | None:
    """The subscribe template id a kind's send uses a grant of, or None if it takes no grant."""
    template = templates.template_for(kind)
    if template is None or template.channel != "subscribe":
        return None
    return template.template_id()


def _template(row: NotificationRow, kind: Kind, client_msg_id: str) -> Outbound:
    template = templates.template_for(row.kind)
    if template is None:
        raise templates.InvalidField("-", f"no template for kind {row.kind}")
    data = template.render(row.fields or {})
    body: dict[str, Any] = {"touser": row.openid, "template_id": template.template_id(), "data": data}
    if template.channel == "subscribe":
        if row.url:
            body["page"] = row.url  # a service account's subscribe notification opens a web page
        return SUBSCRIBE_SEND, body
    body["client_msg_id"] = client_msg_id
    if row.url:
        body["url"] = row.url
    return TEMPLATE_SEND, body


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
    "subscribe": _template,
}

# errcode -> the final status it gives a notification (not retried).
FINAL_ERRCODES: dict[int, str] = {
    45015: "failed:window_closed",  # custom/send: the follower last wrote more than 48 hours ago
    40130: "failed:audience_too_small",  # mass/send of fewer than 2 openids (never built so)
    43101: "skipped:no_grant",  # bizsend: the follower has no grant left at WeChat's end
    47003: "failed:invalid_field",  # a value WeChat refused for its type (rendering should prevent it)
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
