"""Storage rows of the reminders table (generic keys pk/sk, TTL `expires_at`).

- ProductRow:  pk "PRODUCT#<sku>", sk "PRODUCT".
- DueRow:      pk "DUE#<business date>#<shard>", sk "<openid>#<sku>#<order_id>": one purchase
               that becomes due on that date. `status` is absent until the job decides it, then
               "claimed" -> "sent", or "skipped:<reason>"; every transition is conditional.
- RunStatsRow: pk "RUN#<business date>", sk "SHARD#<nn>" (one row per shard, so parallel shard
               workers never contend on one item) or sk "JOB" (fan-outs). Counters only grow by ADD.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core.models import TableMeta


class ProductRow(Model):
    class Meta(TableMeta):
        table = "reminders"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="PRODUCT")
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    replenish_days = NumberAttribute(null=True)
    warranty_months = NumberAttribute(null=True)  # read by the warranty capability
    reminder_holdout_percent = NumberAttribute(null=True)  # absent: no holdout
    updated_at = UnicodeAttribute()


class DueRow(Model):
    class Meta(TableMeta):
        table = "reminders"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    openid = UnicodeAttribute()
    sku = UnicodeAttribute()
    order_id = UnicodeAttribute()
    purchased_at = UnicodeAttribute()  # ISO-8601 UTC
    due_date = UnicodeAttribute()
    status = UnicodeAttribute(null=True)
    decided_at = UnicodeAttribute(null=True)
    notification_id = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)


class RunStatsRow(Model):
    class Meta(TableMeta):
        table = "reminders"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    due = NumberAttribute(null=True)  # items in the shard, SET after each complete pass
    read = NumberAttribute(null=True)  # items DynamoDB returned, over every pass
    passes = NumberAttribute(null=True)  # complete passes over the shard
    sent = NumberAttribute(null=True)
    skipped_unsubscribed = NumberAttribute(null=True)
    skipped_no_consent = NumberAttribute(null=True)
    skipped_repurchased = NumberAttribute(null=True)
    skipped_capped = NumberAttribute(null=True)
    skipped_holdout = NumberAttribute(null=True)
    fanouts = NumberAttribute(null=True)  # sk "JOB" only
    last_at = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
