"""Storage rows of the inbox table (generic keys pk/sk, gsi1, gsi2).

- ConversationRow: pk "CONV#<conversation_id>", sk "CONV": a follower's conversation with one
                   store. The id is derived from (store, openid), so closing and reopening keeps it.
                   gsi1 ("<store_id>#<status>", "<last_message_at>#<id>"): a store's conversations
                   by status, newest first.
                   gsi2 ("AWAITING", "<awaiting_since>#<id>") while a customer waits for the store's
                   first answer (the escalation job reads the overdue ones by this index), then
                   ("ESCALATED", "<last_message_at>#<id>") while escalated (HQ's queue); absent when
                   answered or closed.
- MessageRow:      pk "CONV#<conversation_id>", sk "MSG#<at>#<key>": one message, either way.
- SettingsRow:     pk "SETTINGS#<store_id>", sk "SETTINGS": the store's acknowledgement text.
- FigureRow:       pk "FIGURES#<store_id>", sk "RESP#<at>#<conversation_id>" (a first response and its
                   seconds) or "ESC#<at>#<conversation_id>" (an escalation): the overview's service
                   figures, written in the reply's and the escalation's own transactions.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core.models import Gsi1, Gsi2, TableMeta

CONV_SK = "CONV"
SETTINGS_SK = "SETTINGS"


class ConversationRow(Model):
    class Meta(TableMeta):
        table = "inbox"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=CONV_SK)
    conversation_id = UnicodeAttribute()
    openid = UnicodeAttribute()
    store_id = UnicodeAttribute()
    status = UnicodeAttribute()  # open | escalated | closed
    created_at = UnicodeAttribute()
    last_message_at = UnicodeAttribute()
    last_customer_message_at = UnicodeAttribute()
    awaiting_since = UnicodeAttribute(null=True)  # the first unanswered customer message
    acked_on = UnicodeAttribute(null=True)  # business date of the last acknowledgement
    escalated_at = UnicodeAttribute(null=True)
    messages = NumberAttribute(default=0)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    by_store = Gsi1()
    by_state = Gsi2()


class MessageRow(Model):
    class Meta(TableMeta):
        table = "inbox"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    at = UnicodeAttribute()
    sender = UnicodeAttribute()  # customer | staff
    type = UnicodeAttribute()  # text | image | voice
    text = UnicodeAttribute(null=True)
    media_id = UnicodeAttribute(null=True)
    operator = UnicodeAttribute(null=True)
    notification_id = UnicodeAttribute(null=True)


class SettingsRow(Model):
    class Meta(TableMeta):
        table = "inbox"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=SETTINGS_SK)
    ack_text = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()


class FigureRow(Model):
    class Meta(TableMeta):
        table = "inbox"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    at = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    seconds = NumberAttribute(null=True)  # first responses only
