"""What the inbox routes accept (CONTRACT §11), declared once."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from functions.core.fields import IDENTIFIER, Cursor, Name, StoreId

# A reply may span lines (a customer-service text does); no other control characters.
REPLY_TEXT = r"^[^\x00-\x09\x0b-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x09\x0b-\x1f\x7f]*$(?!\n)"
ReplyText = Annotated[
    str,
    Meta(min_length=1, max_length=2048, pattern=REPLY_TEXT, description="at most 2048 bytes of UTF-8"),
]
AckText = Annotated[str, Meta(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$(?!\n)")]
ConversationId = Annotated[str, Meta(pattern=IDENTIFIER, max_length=64, description="a conversation id")]


class InboxQuery(msgspec.Struct, forbid_unknown_fields=False):
    """GET /admin/inbox: a store's conversations by status (without a store: the escalated ones,
    HQ's queue), newest first."""

    store_id: StoreId | None = None
    status: Literal["open", "escalated", "closed"] = "open"
    cursor: Cursor | None = None


class ReplyBody(msgspec.Struct, forbid_unknown_fields=False):
    """POST /admin/inbox/{conversation_id}/replies."""

    text: ReplyText
    operator: Name | None = None


class InboxSettingsBody(msgspec.Struct, forbid_unknown_fields=False):
    """PUT /admin/inbox-settings/{store_id}: the acknowledgement a customer gets, at most once a
    day per conversation, when their message joins the inbox (empty or absent: none)."""

    ack_text: AckText | None = None
