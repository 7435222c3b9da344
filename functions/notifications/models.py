"""Storage rows of the notifications table.

- NotificationRow: pk = notification id, sk = "N"; gsi1 = ("MSGID#<msgid>", "N") for delivery
  reports; gsi2 = (openid, created_at) for a customer's history.
"""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from functions.core.models import TableMeta, table_name

NOTIFICATION = "N"


class ByMsgId(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ByOpenId(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class HistoryEntry(MapAttribute):
    at = UnicodeAttribute()
    status = UnicodeAttribute()
    detail = UnicodeAttribute(null=True)


class NotificationRow(Model):
    class Meta(TableMeta):
        table_name = table_name("notifications")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=NOTIFICATION)
    openid = UnicodeAttribute()
    kind = UnicodeAttribute()
    fields = JSONAttribute()  # template field name -> value
    url = UnicodeAttribute(null=True)
    status = (
        UnicodeAttribute()
    )  # queued | sent | delivered | failed:<reason> | skipped:<reason> | deferred:<reason>
    msgid = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    history = ListAttribute(of=HistoryEntry, default=list)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    by_msgid = ByMsgId()
    by_openid = ByOpenId()
