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


CHANNELS: dict[str, Callable[[NotificationRow, Kind, str], Outbound]] = {
    "template": _template,
    "subscribe": _template,
}

# errcode -> the final status it gives a notification (not retried).
FINAL_ERRCODES: dict[int, str] = {
    43101: "skipped:no_grant",  # bizsend: the follower has no grant left at WeChat's end
    47003: "failed:invalid_field",  # a value WeChat refused for its type (rendering should prevent it)
}


def outbound(row: NotificationRow, kind: Kind, client_msg_id: str) -> Outbound:
    return CHANNELS[kind.channel](row, kind, client_msg_id)
