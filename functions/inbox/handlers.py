"""The store inbox's routes (CONTRACT §11); its escalation schedule is in background.py. The
intake is the WeChat callback's (functions/callback/rules.py `to_inbox`)."""

from __future__ import annotations

from typing import Any

from chalice import Response

from functions.core.fields import StoreId
from functions.core.http import Blueprint
from functions.inbox import domain
from functions.inbox.requests import ConversationId, InboxQuery, InboxSettingsBody, ReplyBody

blueprint = Blueprint(__name__)

CONVERSATION = {"conversation_id": ConversationId}


@blueprint.route("/admin/inbox", methods=["GET"], auth="admin", query=InboxQuery)
def get_inbox(query: InboxQuery) -> dict[str, Any]:
    """A store's conversations in a status, newest first; without store_id, every store's
    escalated ones (HQ's queue). HQ's own store_id is `hq`."""
    found, cursor = domain.list_conversations(query.store_id, query.status, query.cursor)
    return {"conversations": [c.to_view() for c in found], "cursor": cursor}


@blueprint.route("/admin/inbox/{conversation_id}", methods=["GET"], auth="admin", path_types=CONVERSATION)
def get_conversation(conversation_id: str) -> dict[str, Any]:
    """One conversation with its last 50 messages."""
    return domain.get_conversation(conversation_id).to_view()


@blueprint.route(
    "/admin/inbox/{conversation_id}/replies",
    methods=["POST"],
    auth="admin",
    body=ReplyBody,
    path_types=CONVERSATION,
)
def post_reply(conversation_id: str, body: ReplyBody) -> Response:
    """Answer with a customer-service text, sent through the notification queue: 202; 409
    window_closed when the follower last wrote more than 48 hours ago."""
    answer = domain.reply(conversation_id, body.text, body.operator)
    return Response(body=answer.to_view(), status_code=202)


@blueprint.route(
    "/admin/inbox/{conversation_id}/close", methods=["POST"], auth="admin", path_types=CONVERSATION
)
def post_close(conversation_id: str) -> dict[str, Any]:
    """Close it; the follower's next message reopens it, with the same id."""
    return domain.close(conversation_id).to_view()


@blueprint.route(
    "/admin/inbox-settings/{store_id}",
    methods=["PUT"],
    auth="admin",
    body=InboxSettingsBody,
    path_types={"store_id": StoreId},
)
def put_settings(store_id: str, body: InboxSettingsBody) -> dict[str, Any]:
    """The store's acknowledgement text (e.g. 已收到，门店客服会尽快回复您); empty for none."""
    text = (body.ack_text or "").strip() or None
    domain.set_ack_text(store_id, text)
    return {"store_id": store_id, "ack_text": text}
