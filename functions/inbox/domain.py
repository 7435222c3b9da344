"""The store inbox (CONTRACT §11): a follower's messages that no keyword answers, kept as one
conversation per (store, follower), answered by the store within WeChat's 48 hours.

- Intake is the WeChat callback's: `intake(...)` reads the conversation (one round trip) and
  returns the acknowledgement to reply with and the items of the callback's own transaction, so
  the message is stored exactly once with the dedupe record. Every item is conditioned on the
  conversation's status as read: a close or an escalation in between cancels the transaction
  and WeChat's retry reads again.
- A reply is a `staff` message and its `inbox_reply` notification (a customer-service message,
  functions/notifications/channels.py) in one transaction; refused with 409 `window_closed` when
  the follower last wrote more than 48 hours ago, WeChat's limit (45015 otherwise).
- Statuses: open (a new message reopens a closed one; the id stays), escalated (left unanswered
  for INBOX_ESCALATE_MIN minutes: HQ's queue, until someone answers), closed.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.transactions import TransactGet

from functions.core import clock, txn
from functions.core import cursor as cursors
from functions.core.config import get_settings
from functions.core.errors import Conflict, InvalidInput, NotFound
from functions.core.models import condition_failed, transaction_connection
from functions.inbox.models import (
    CONV_SK,
    SETTINGS_SK,
    ConversationRow,
    FigureRow,
    MessageRow,
    SettingsRow,
)
from functions.notifications.domain import notify_op

HQ = "hq"  # the store of a follower who has none
STATUSES = ("open", "escalated", "closed")
MESSAGE_TYPES = ("text", "image", "voice")
MAX_TEXT_BYTES = 2048  # WeChat's limit on a text message, and on a customer-service text
WINDOW = timedelta(hours=48)  # customer-service messages are allowed this long after the follower's
PAGE = 20
MESSAGES_SHOWN = 50
AWAITING, ESCALATED = "AWAITING", "ESCALATED"
CONVERSATION, MESSAGE, FIGURE = "inbox_conversation", "inbox_message", "inbox_figure"
REPLY_KIND = "inbox_reply"


def conversation_id(store_id: str, openid: str) -> str:
    """Deterministic per (store, follower): closing and reopening keeps it. An identifier."""
    return "cv-" + hashlib.sha256(f"{store_id}\x1f{openid}".encode()).hexdigest()[:32]


def cap_text(text: str) -> str:
    """At most MAX_TEXT_BYTES of UTF-8, cut at a character boundary."""
    return text.encode()[:MAX_TEXT_BYTES].decode(errors="ignore")


@dataclass(frozen=True)
class Message:
    at: str
    sender: str  # customer | staff
    type: str
    text: str | None = None
    media_id: str | None = None
    operator: str | None = None
    notification_id: str | None = None

    def to_view(self) -> dict[str, Any]:
        view: dict[str, Any] = {"at": self.at, "from": self.sender, "type": self.type}
        for name in ("text", "media_id", "operator", "notification_id"):
            if getattr(self, name) is not None:
                view[name] = getattr(self, name)
        return view


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    openid: str
    store_id: str
    status: str
    created_at: str
    last_message_at: str
    last_customer_message_at: str
    awaiting_since: str | None = None
    escalated_at: str | None = None
    messages: list[Message] = field(default_factory=list)

    def window_ends(self) -> datetime:
        return clock.parse_iso(self.last_customer_message_at) + WINDOW

    def window_left_s(self, now: datetime | None = None) -> int:
        return max(0, int((self.window_ends() - (now or clock.now())).total_seconds()))

    def to_view(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "openid": self.openid,
            "store_id": self.store_id,
            "status": self.status,
            "created_at": self.created_at,
            "last_message_at": self.last_message_at,
            "last_customer_message_at": self.last_customer_message_at,
            "awaiting_since": self.awaiting_since,
            "escalated_at": self.escalated_at,
            "window_ends_at": clock.iso(self.window_ends()),
            "messages": [m.to_view() for m in self.messages],
        }


def _key(conversation: str) -> str:
    return f"CONV#{conversation}"


def _to_message(row: MessageRow) -> Message:
    return Message(row.at, row.sender, row.type, row.text, row.media_id, row.operator, row.notification_id)


def _to_domain(row: ConversationRow, messages: list[Message] | None = None) -> Conversation:
    return Conversation(
        conversation_id=row.conversation_id,
        openid=row.openid,
        store_id=row.store_id,
        status=row.status,
        created_at=row.created_at,
        last_message_at=row.last_message_at,
        last_customer_message_at=row.last_customer_message_at,
        awaiting_since=row.awaiting_since,
        escalated_at=row.escalated_at,
        messages=messages or [],
    )


# -- intake (the WeChat callback) -----------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    openid: str
    type: str  # one of MESSAGE_TYPES
    key: str  # stable per WeChat delivery (from the callback's dedupe key)
    text: str | None = None
    media_id: str | None = None


def intake(store_id: str | None, message: Incoming) -> tuple[str | None, list[txn.Op]]:
    """(acknowledgement text or None, transaction items) for a customer's message to the
    conversation with `store_id` (their first-touch store; HQ when None). One round trip reads
    the conversation and the store's inbox settings."""
    store = store_id or HQ
    cid = conversation_id(store, message.openid)
    with TransactGet(connection=transaction_connection(max_retry_attempts=1)) as get:
        found = get.get(ConversationRow, _key(cid), CONV_SK)
        settings = get.get(SettingsRow, f"SETTINGS#{store}", SETTINGS_SK)
    conversation = _or_none(found)
    ack_text = getattr(_or_none(settings), "ack_text", None)
    return intake_ops(store, message, conversation, ack_text)


def _or_none(future: Any) -> Any:
    try:
        return future.get()
    except DoesNotExist:
        return None


def intake_ops(
    store: str, message: Incoming, conversation: ConversationRow | None, ack_text: str | None
) -> tuple[str | None, list[txn.Op]]:
    """The items that add `message` to the conversation as it was read (None: none yet)."""
    now = clock.now()
    at, today = clock.iso(now), clock.business_date(now).isoformat()
    cid = conversation_id(store, message.openid)
    before = conversation.status if conversation is not None else None
    status = "escalated" if before == "escalated" else "open"
    row = ConversationRow
    actions = [
        row.conversation_id.set(cid),
        row.openid.set(message.openid),
        row.store_id.set(store),
        row.status.set(status),
        row.created_at.set(row.created_at | at),
        row.last_message_at.set(at),
        row.last_customer_message_at.set(at),
        row.messages.add(1),
        row.gsi1pk.set(f"{store}#{status}"),
        row.gsi1sk.set(f"{at}#{cid}"),
    ]
    if status == "open":
        # Waiting for the store's answer since the first unanswered message (kept if waiting).
        actions += [
            row.awaiting_since.set(row.awaiting_since | at),
            row.gsi2pk.set(AWAITING),
            row.gsi2sk.set(row.gsi2sk | f"{at}#{cid}"),
        ]
    else:  # still in HQ's queue, newest first
        actions.append(row.gsi2sk.set(f"{at}#{cid}"))
    condition = row.pk.does_not_exist() if before is None else row.status == before
    reply = None
    if ack_text and (conversation is None or conversation.acked_on != today):
        reply = ack_text  # at most once a business day per conversation, held by the condition
        actions.append(row.acked_on.set(today))
        condition &= row.acked_on.does_not_exist() | (row.acked_on != today)
    stored = MessageRow(
        _key(cid),
        f"MSG#{at}#{message.key}",
        at=at,
        sender="customer",
        type=message.type,
        text=cap_text(message.text) if message.text is not None else None,
        media_id=message.media_id,
    )
    return reply, [
        txn.update(CONVERSATION, ConversationRow(_key(cid), CONV_SK), actions, condition),
        txn.put(MESSAGE, stored),
    ]


# -- reading --------------------------------------------------------------------------------


def messages_of(cid: str, limit: int = MESSAGES_SHOWN) -> list[Message]:
    """The conversation's last `limit` messages, oldest first."""
    rows = MessageRow.query(
        _key(cid), MessageRow.sk.startswith("MSG#"), scan_index_forward=False, limit=limit
    )
    return list(reversed([_to_message(r) for r in rows]))


def get_conversation(cid: str, with_messages: bool = True) -> Conversation:
    try:
        row = ConversationRow.get(_key(cid), CONV_SK, consistent_read=True)
    except DoesNotExist:
        raise NotFound(f"conversation {cid} does not exist", code="conversation_not_found") from None
    return _to_domain(row, messages_of(cid) if with_messages else None)


def _decode_cursor(cursor: str | None, index: str, partition: str) -> dict[str, Any] | None:
    """The page's start key, only as this API gave it: the keys of `index` in `partition`."""
    if not cursor:
        return None
    names = {"pk", "sk", f"{index}pk", f"{index}sk"}
    try:
        key = json.loads(cursors.decode(cursor))
        if (
            not isinstance(key, dict)
            or set(key) != names
            or not all(
                isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values()
            )
            or key[f"{index}pk"]["S"] != partition
            or not key["pk"]["S"].startswith("CONV#")
        ):
            raise ValueError(cursor)
    except ValueError:
        raise cursors.refused() from None
    return key


def _encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return cursors.encode(json.dumps(key, sort_keys=True))


def list_conversations(
    store_id: str | None, status: str, cursor: str | None = None, limit: int = PAGE, messages: bool = True
) -> tuple[list[Conversation], str | None]:
    """A store's conversations in `status`, newest first (gsi1); without a store, the escalated
    ones of every store: HQ's queue (gsi2). One Query a page, and one per conversation shown
    for its messages."""
    if status not in STATUSES:
        raise InvalidInput(f"status is one of {', '.join(STATUSES)}", code="invalid_status")
    if store_id is not None:
        partition = f"{store_id}#{status}"
        rows = ConversationRow.by_store.query(
            partition,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=_decode_cursor(cursor, "gsi1", partition),
        )
    elif status == "escalated":
        rows = ConversationRow.by_state.query(
            ESCALATED,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=_decode_cursor(cursor, "gsi2", ESCALATED),
        )
    else:
        raise InvalidInput("store_id is required unless status=escalated", code="store_required")
    found = [_to_domain(r, messages_of(r.conversation_id) if messages else None) for r in rows]
    return found, _encode_cursor(rows.last_evaluated_key)


# -- answering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    reply_id: str
    conversation_id: str
    notification_id: str
    at: str

    def to_view(self) -> dict[str, Any]:
        return {
            "reply_id": self.reply_id,
            "conversation_id": self.conversation_id,
            "notification_id": self.notification_id,
            "at": self.at,
            "status": "queued",
        }


ATTEMPTS = 3  # a customer message or an escalation landing between the read and the write


def reply(cid: str, text: str, operator: str | None = None) -> Reply:
    """Queue a customer-service text to the conversation's follower, with the staff message and
    (for the first answer) the store's response time, in one transaction. 409 window_closed when
    the follower's last message is more than 48 hours old."""
    if not text.strip():
        raise InvalidInput("text must not be empty", code="invalid_text")
    if len(text.encode()) > MAX_TEXT_BYTES:
        raise InvalidInput(f"text is at most {MAX_TEXT_BYTES} bytes of UTF-8", code="text_too_long")
    for attempt in range(ATTEMPTS):
        row = _get_row(cid)
        ops, answer = _reply_ops(row, text, operator)
        try:
            txn.run(ops)
        except txn.Cancelled as cancelled:
            if cancelled.failed(CONVERSATION) and attempt < ATTEMPTS - 1:
                continue  # changed since we read it: read again
            raise
        return answer
    raise AssertionError("unreachable")


def _get_row(cid: str) -> ConversationRow:
    try:
        return ConversationRow.get(_key(cid), CONV_SK, consistent_read=True)
    except DoesNotExist:
        raise NotFound(f"conversation {cid} does not exist", code="conversation_not_found") from None


def _reply_ops(row: ConversationRow, text: str, operator: str | None) -> tuple[list[txn.Op], Reply]:
    now = clock.now()
    if now - clock.parse_iso(row.last_customer_message_at) > WINDOW:
        raise Conflict(
            "the follower last wrote more than 48 hours ago: WeChat allows no customer-service message",
            code="window_closed",
        )
    at, cid = clock.iso(now), row.conversation_id
    reply_id = uuid.uuid4().hex
    notification_id = f"inbox-{reply_id}"
    status = "open" if row.status == "escalated" else row.status
    actions = [
        ConversationRow.status.set(status),
        ConversationRow.last_message_at.set(at),
        ConversationRow.messages.add(1),
        ConversationRow.gsi1pk.set(f"{row.store_id}#{status}"),
        ConversationRow.gsi1sk.set(f"{at}#{cid}"),
        ConversationRow.awaiting_since.remove(),
        ConversationRow.gsi2pk.remove(),
        ConversationRow.gsi2sk.remove(),
    ]
    condition = (ConversationRow.status == row.status) & (
        ConversationRow.last_customer_message_at == row.last_customer_message_at
    )
    ops = [
        txn.update(CONVERSATION, ConversationRow(row.pk, CONV_SK), actions, condition),
        txn.put(
            MESSAGE,
            MessageRow(
                row.pk,
                f"MSG#{at}#{reply_id}",
                at=at,
                sender="staff",
                type="text",
                text=text,
                operator=operator,
                notification_id=notification_id,
            ),
        ),
        notify_op(row.openid, REPLY_KIND, {"text": text}, notification_id=notification_id),
    ]
    if row.awaiting_since:  # the store's first answer to what the follower asked
        seconds = int((now - clock.parse_iso(row.awaiting_since)).total_seconds())
        figure = FigureRow(
            f"FIGURES#{row.store_id}", f"RESP#{at}#{cid}", at=at, conversation_id=cid, seconds=seconds
        )
        ops.append(txn.put(FIGURE, figure))
    return ops, Reply(reply_id, cid, notification_id, at)


def close(cid: str) -> Conversation:
    """Closed (again: no change); a new customer message reopens it with the same id. Conditioned
    on the status read, so a message arriving meanwhile is never closed unseen: read again."""
    for _ in range(ATTEMPTS):
        row = _get_row(cid)
        if row.status == "closed":
            return _to_domain(row)
        try:
            row.update(
                actions=[
                    ConversationRow.status.set("closed"),
                    ConversationRow.gsi1pk.set(f"{row.store_id}#closed"),
                    ConversationRow.awaiting_since.remove(),
                    ConversationRow.gsi2pk.remove(),
                    ConversationRow.gsi2sk.remove(),
                ],
                condition=(ConversationRow.status == row.status)
                & (ConversationRow.last_customer_message_at == row.last_customer_message_at),
            )
        except UpdateError as error:
            if condition_failed(error):
                continue
            raise
        return _to_domain(row)
    raise Conflict("the conversation keeps changing; try again", code="conversation_busy")


# -- escalation (scheduled) -----------------------------------------------------------------


def escalate_overdue(now: datetime | None = None) -> int:
    """Escalate every conversation whose follower has waited INBOX_ESCALATE_MIN minutes or more
    for the store's first answer; returns how many this run escalated. Reads the overdue ones
    only (gsi2 "AWAITING" up to the cut-off), and each escalation is a conditional write on the
    waiting it was read with, so a rerun, a racing run or an answer in between never escalates
    twice or an answered conversation."""
    now = now or clock.now()
    cutoff = clock.iso(now - timedelta(minutes=get_settings().inbox_escalate_min))
    escalated = 0
    for row in ConversationRow.by_state.query(AWAITING, ConversationRow.gsi2sk <= f"{cutoff}#~"):
        if not row.awaiting_since or row.awaiting_since > cutoff:
            continue
        if _escalate(row, now):
            escalated += 1
    return escalated


def _escalate(row: ConversationRow, now: datetime) -> bool:
    at, cid = clock.iso(now), row.conversation_id
    actions = [
        ConversationRow.status.set("escalated"),
        ConversationRow.escalated_at.set(at),
        ConversationRow.gsi1pk.set(f"{row.store_id}#escalated"),
        ConversationRow.gsi2pk.set(ESCALATED),
        ConversationRow.gsi2sk.set(f"{row.last_message_at}#{cid}"),
    ]
    condition = (ConversationRow.status == "open") & (ConversationRow.awaiting_since == row.awaiting_since)
    figure = FigureRow(f"FIGURES#{row.store_id}", f"ESC#{at}#{cid}", at=at, conversation_id=cid)
    try:
        txn.run(
            [
                txn.update(CONVERSATION, ConversationRow(row.pk, CONV_SK), actions, condition),
                txn.put(FIGURE, figure),
            ]
        )
    except txn.Cancelled as cancelled:
        if cancelled.failed(CONVERSATION):
            return False  # answered, closed or escalated since it was read
        raise
    return True


# -- settings and figures -------------------------------------------------------------------


def set_ack_text(store_id: str, text: str | None) -> None:
    """The store's acknowledgement (None or empty: none), sent at most once a day per conversation."""
    SettingsRow(
        f"SETTINGS#{store_id}", SETTINGS_SK, ack_text=text or None, updated_at=clock.iso(clock.now())
    ).save()


def ack_text_of(store_id: str) -> str | None:
    try:
        return SettingsRow.get(f"SETTINGS#{store_id}", SETTINGS_SK).ack_text
    except DoesNotExist:
        return None


@dataclass(frozen=True)
class ServiceFigures:
    store_id: str
    first_responses: int
    median_first_response_s: float | None
    escalations: int


def service_figures(store_id: str, start: date, end: date) -> ServiceFigures:
    """The store's first responses (their median time) and escalations between two business
    dates (both included): two Queries on the store's figures partition, by key range."""
    tz = clock.business_tz()
    low = clock.iso(datetime.combine(start, datetime.min.time(), tz))
    high = clock.iso(datetime.combine(end + timedelta(days=1), datetime.min.time(), tz))
    partition = f"FIGURES#{store_id}"
    seconds = [
        int(figure.seconds or 0)
        for figure in FigureRow.query(partition, FigureRow.sk.between(f"RESP#{low}", f"RESP#{high}"))
        if figure.at < high
    ]
    escalations = sum(
        1
        for figure in FigureRow.query(partition, FigureRow.sk.between(f"ESC#{low}", f"ESC#{high}"))
        if figure.at < high
    )
    return ServiceFigures(
        store_id, len(seconds), statistics.median(seconds) if seconds else None, escalations
    )
