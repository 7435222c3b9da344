"""The console's inbox pages (CONTRACT §11): a store operator works their store's conversations,
an admin every store's and HQ's queue of escalated ones. Thin, like every console page: the
inbox capability's functions do the work (the same as `/admin/inbox`), the customer's context
comes from the other capabilities' public functions.

- A store operator sees and answers only their own store's conversations: any other is 403,
  in the list (another store_id) and by its address (a conversation id of another store).
- Replies are text from a CSRF form; each one goes out through the notification queue as a
  customer-service message. The page shows how long WeChat's 48-hour window has left.

These routes join the console Blueprint; app.py imports this module before registering it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import msgspec
from chalice import Response
from msgspec import Meta

from functions.audit import domain as audit
from functions.bookings.summary import for_customer as bookings_of
from functions.console.handlers import ERROR_TEXT, CsrfToken, console_page, done, render
from functions.console.session import Caller
from functions.core import clock
from functions.core.config import get_settings
from functions.core.errors import InvalidInput
from functions.core.fields import Cursor, StoreId
from functions.coupons.summary import for_customer as coupons_of
from functions.customers import domain as customers
from functions.inbox import domain as inbox
from functions.inbox.requests import ConversationId
from functions.logistics.summary import for_customer as shipments_of
from functions.notifications.domain import get_notification
from functions.orders.domain import orders_of
from functions.stores import domain as stores

CONVERSATION = {"conversation_id": ConversationId}
RECENT_ORDERS = 5

ERROR_TEXT.update(
    {
        "window_closed": (
            "已超过 48 小时，不能再回复",
            "微信只允许在顾客最后一条消息后 48 小时内回复。顾客再发消息后就可以回复了。",
        ),
        "conversation_not_found": ("没有这个会话", "请从客服消息列表选择会话。"),
        "invalid_text": ("回复不能为空", "请输入回复内容。"),
        "text_too_long": ("回复太长", "一条回复最多 2048 个字节（约 680 个汉字）。"),
    }
)


class InboxPageQuery(msgspec.Struct, forbid_unknown_fields=False):
    store_id: StoreId | None = None
    status: Literal["open", "escalated", "closed"] | None = None
    cursor: Cursor | None = None


class ConversationQuery(msgspec.Struct, forbid_unknown_fields=False):
    done: Literal["replied", "closed"] | None = None


class ReplyForm(msgspec.Struct, forbid_unknown_fields=False):
    csrf_token: CsrfToken
    text: Annotated[str, Meta(max_length=4096)]


class CloseForm(msgspec.Struct, forbid_unknown_fields=False):
    csrf_token: CsrfToken


def _conversation_for(caller: Caller, cid: str, with_messages: bool = True) -> inbox.Conversation:
    """The conversation, if the operator may see it (403 for another store's)."""
    found = inbox.get_conversation(cid, with_messages)
    caller.require_store(found.store_id)
    return found


def waited(since: str | None, now: Any) -> str:
    """How long a customer has waited, as people say it."""
    if not since:
        return ""
    return duration((now - clock.parse_iso(since)).total_seconds())


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{max(minutes, 0)} 分钟"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} 小时 {minutes} 分" if hours < 48 else f"{hours // 24} 天"


@console_page("/console/inbox", query=InboxPageQuery)
def inbox_page(caller: Caller, query: InboxPageQuery) -> Response:
    """Conversations, newest first: a store operator's own store's; an admin's choice of store,
    by default HQ's queue of every store's escalated ones."""
    operator = caller.operator
    if operator.is_admin:
        store_id = query.store_id
        status = query.status or ("open" if store_id else "escalated")
    else:
        store_id = query.store_id or operator.store_id
        caller.require_store(store_id or "")
        status = query.status or "open"
    if store_id is None and status != "escalated":
        raise InvalidInput("choose a store", code="invalid_range")
    found, cursor = inbox.list_conversations(store_id, status, query.cursor)
    now = clock.now()
    names = stores.stores_named(sorted({c.store_id for c in found} - {inbox.HQ}))
    rows = [
        {
            "c": c,
            "store_name": "总部" if c.store_id == inbox.HQ else names.get(c.store_id, c.store_id),
            "last": c.messages[-1] if c.messages else None,
            "waited": waited(c.awaiting_since, now),
            "window_left": duration(c.window_left_s(now)) if c.window_left_s(now) else "",
        }
        for c in found
    ]
    more = urlencode(
        {k: v for k, v in {"store_id": store_id, "status": status, "cursor": cursor}.items() if v}
    )
    return render(
        "console/inbox.html",
        caller,
        nav="inbox",
        rows=rows,
        store_id=store_id,
        showing=status,
        more=more if cursor else None,
        stores=stores.list_stores() if operator.is_admin else [],
        escalate_min=get_settings().inbox_escalate_min,
    )


def _context(openid: str) -> dict[str, Any]:
    """What the store should know about the customer, from each capability's public functions."""
    customer = customers.get_customer(openid)
    first_store = customer.first_store_id if customer else None
    store = stores.get_store(first_store) if first_store else None
    staff_name = None
    if customer and customer.first_staff_id and first_store:
        names = {s.staff_id: s.name for s in stores.staff_of(first_store)}
        staff_name = names.get(customer.first_staff_id, customer.first_staff_id)
    return {
        "customer": customer,
        "first_store": store,
        "first_staff": staff_name,
        "orders": orders_of(openid, limit=RECENT_ORDERS),
        "bookings": bookings_of(openid),
        "shipments": shipments_of(openid),
        "coupons": coupons_of(openid),
    }


REPLY_STATUS = {
    "queued": "发送中",
    "sending": "发送中",
    "retrying": "重试中",
    "sent": "已发送",
    "delivered": "已送达",
    "failed:window_closed": "未送达：已超过 48 小时",
    "failed:not_following": "未送达：顾客已取消关注",
    "skipped:unsubscribed": "未发送：顾客已取消关注",
}


def _reply_status(notification_id: str | None) -> str:
    found = get_notification(notification_id) if notification_id else None
    if found is None:
        return ""
    status = found["status"]
    return REPLY_STATUS.get(status) or ("未送达" if status.startswith("failed") else status)


@console_page("/console/inbox/{conversation_id}", query=ConversationQuery, path_types=CONVERSATION)
def conversation_page(caller: Caller, conversation_id: str, query: ConversationQuery) -> Response:
    """One conversation, the customer's context beside it, the reply form and the window left."""
    found = _conversation_for(caller, conversation_id)
    now = clock.now()
    messages = [
        {"m": m, "status": _reply_status(m.notification_id) if m.sender == "staff" else ""}
        for m in found.messages
    ]
    left = found.window_left_s(now)
    store_name = (
        "总部" if found.store_id == inbox.HQ else stores.stores_named([found.store_id]).get(found.store_id)
    )
    return render(
        "console/inbox_conversation.html",
        caller,
        nav="inbox",
        c=found,
        store_name=store_name or found.store_id,
        messages=messages,
        window_left=duration(left) if left else "",
        window_ends=clock.iso(found.window_ends()),
        waited=waited(found.awaiting_since, now),
        done=query.done,
        **_context(found.openid),
    )


@console_page(
    "/console/inbox/{conversation_id}/replies", methods=("POST",), form=ReplyForm, path_types=CONVERSATION
)
def reply(caller: Caller, conversation_id: str, form: ReplyForm) -> Response:
    """Answer with text: queued as a customer-service message (refused after 48 hours)."""
    found = _conversation_for(caller, conversation_id, with_messages=False)
    text = form.text.replace("\r\n", "\n").strip()
    answer = inbox.reply(conversation_id, text, caller.operator.username)
    audit.record(
        caller.operator.username,
        caller.operator.role,
        "inbox.reply",
        conversation_id,
        found.store_id,
        f"notification {answer.notification_id}",
    )
    return done(f"/console/inbox/{conversation_id}", done="replied")


@console_page(
    "/console/inbox/{conversation_id}/close", methods=("POST",), form=CloseForm, path_types=CONVERSATION
)
def close(caller: Caller, conversation_id: str, form: CloseForm) -> Response:
    """Close the conversation; the customer's next message reopens it."""
    found = _conversation_for(caller, conversation_id, with_messages=False)
    inbox.close(conversation_id)
    audit.record(
        caller.operator.username, caller.operator.role, "inbox.close", conversation_id, found.store_id, ""
    )
    return done(f"/console/inbox/{conversation_id}", done="closed")
