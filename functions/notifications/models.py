"""Storage rows of the notifications table.

- NotificationRow: pk = notification id, sk = "N"; gsi1 = ("MSGID#<msgid>", "N") for delivery
  reports; gsi2 = (openid, created_at) for a customer's history. Written `queued` in the
  transaction of the change that causes it; the table's stream carries each new record to the
  outbox relay (functions/notifications/outbox.py), which enqueues it.
- CapRow: pk = "CAP#<openid>", sk = "CAPS": the last reminder's time and this business
  month's count and ids, taken with one conditional update (functions/notifications/caps.py).
- The shared WeChat access_token lives in this table too (pk "TOKEN#<appid>", see
  functions/core/wechat.py).
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.models import Model

from functions.core.models import Gsi1, Gsi2, TableMeta

NOTIFICATION = "N"
# A record in one of these states may be claimed for a send (functions/notifications/worker.py).
CLAIMABLE = ("queued", "retrying", "deferred:quiet_hours", "deferred:quota", "failed:retries_exhausted")


class HistoryEntry(MapAttribute):
    at = UnicodeAttribute()
    status = UnicodeAttribute()
    detail = UnicodeAttribute(null=True)


class NotificationRow(Model):
    class Meta(TableMeta):
        table = "notifications"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=NOTIFICATION)
    openid = UnicodeAttribute()
    kind = UnicodeAttribute()
    fields = JSONAttribute()  # template field name -> value
    url = UnicodeAttribute(null=True)
    # queued | sending | retrying | deferred:<reason> | sent | delivered | failed:<reason> | skipped:<reason>
    status = UnicodeAttribute()
    msgid = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    sending_until = NumberAttribute(null=True)  # epoch s: a worker's claim on the send
    cap_taken = BooleanAttribute(null=True)  # reminder kinds: the frequency-cap slot is taken
    not_before = UnicodeAttribute(null=True)  # deferred until (ISO)
    last_error = UnicodeAttribute(null=True)
    # Older messages about the same subject (a booking, a shipment) that this one makes stale,
    # and, on such an older record, the newer one: the worker drops it as skipped:superseded.
    supersedes = ListAttribute(of=UnicodeAttribute, null=True)
    superseded_by = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    history = ListAttribute(of=HistoryEntry, default=list)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    by_msgid = Gsi1()
    by_openid = Gsi2()


CAPS = "CAPS"


class CapRow(Model):
    class Meta(TableMeta):
        table = "notifications"

    pk = UnicodeAttribute(hash_key=True)  # CAP#<openid>
    sk = UnicodeAttribute(range_key=True)  # CAPS
    last_ts = NumberAttribute(null=True)  # when the last reminder took its slot
    last_id = UnicodeAttribute(null=True)
    month = UnicodeAttribute(null=True)  # YYYY-MM, business time
    month_count = NumberAttribute(null=True)
    month_ids = UnicodeSetAttribute(null=True)
    expires_at = NumberAttribute(null=True)
