"""The callback's dedupe record, in the idempotency table (Powertools layout: pk `id`,
TTL attribute `expiration`, `status`, `data`)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core.models import TableMeta


class CallbackRecordRow(Model):
    class Meta(TableMeta):
        table = "idempotency"

    id = UnicodeAttribute(hash_key=True)  # "wechat-callback#<sha256 of the dedupe key>"
    expiration = NumberAttribute()  # epoch seconds; expiry is checked in code too
    status = UnicodeAttribute(default="COMPLETED")
    data = UnicodeAttribute()  # JSON {"reply": <text or null>}
