"""Storage rows of the audit table: AuditRow, pk = "AUDIT#<business date>", sk = "<at>#<id>"."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core.models import TableMeta


class AuditRow(Model):
    class Meta(TableMeta):
        table = "audit"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    at = UnicodeAttribute()
    who = UnicodeAttribute()  # the operator's username
    role = UnicodeAttribute()
    action = UnicodeAttribute()  # e.g. qrcode.create, slots.capacity, dlq.redrive
    target = UnicodeAttribute()  # what it acted on: a store, a slot, a campaign, a queue
    store_id = UnicodeAttribute(null=True)
    detail = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
