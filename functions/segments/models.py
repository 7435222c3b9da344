"""Storage rows of the segments capability.

segments table (pk/sk):
- SegmentRow:  pk "SEGMENTS", sk "<segment id>": the definition, its rules' version and the
               exact member count (ADD, in the transaction that changes a membership). One
               partition, so one consistent Query lists every segment.
- MemberRow:   pk "MEMBERS#<segment id>", sk "<openid>": one current member (paged by Query).
- TagSyncRow:  pk "TAGSYNC#<segment id>", sk "<openid>": WeChat still has to (un)tag this
               follower; written with the membership change, deleted once WeChat has it.
- JobShardRow: pk "JOB#<job id>", sk "SHARD#<n>": a recompute shard's progress (Scan cursor).

segment-profiles table (pk = openid, sk "PROFILE"): what the rules read about one customer,
fed by events (follows, unfollows, consent, orders), with the segments they belong to and a
version that every write bumps (the condition that orders concurrent evaluations).
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.models import Model

from functions.core.models import TableMeta

SEGMENTS_PK = "SEGMENTS"
PROFILE = "PROFILE"


class SegmentRow(Model):
    class Meta(TableMeta):
        table = "segments"

    pk = UnicodeAttribute(hash_key=True, default=SEGMENTS_PK)
    sk = UnicodeAttribute(range_key=True)  # segment id
    name = UnicodeAttribute()
    rules = UnicodeAttribute()  # JSON list, as given (normalised)
    rules_version = NumberAttribute(default=1)
    members = NumberAttribute(default=0)
    wechat_tag = BooleanAttribute(default=False)
    tag_id = NumberAttribute(null=True)
    tag_skipped = NumberAttribute(null=True)  # followers skipped at 20 tags (each skip counted)
    tag_synced_at = UnicodeAttribute(null=True)
    tag_reconciled_at = UnicodeAttribute(null=True)
    tag_repaired = NumberAttribute(null=True)  # drift repaired by reconciliations
    job_id = UnicodeAttribute(null=True)  # the latest recompute
    job_shards = NumberAttribute(null=True)
    job_shards_done = NumberAttribute(null=True)
    updated_at = UnicodeAttribute()


class MemberRow(Model):
    class Meta(TableMeta):
        table = "segments"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    since = UnicodeAttribute(null=True)
    tag_skipped = BooleanAttribute(null=True)


class TagSyncRow(Model):
    class Meta(TableMeta):
        table = "segments"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    op = UnicodeAttribute()  # "tag" | "untag"
    at = UnicodeAttribute()


class JobShardRow(Model):
    class Meta(TableMeta):
        table = "segments"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    cursor = UnicodeAttribute(null=True)  # JSON LastEvaluatedKey of the last page done
    read = NumberAttribute(default=0)
    changed = NumberAttribute(default=0)
    done = BooleanAttribute(default=False)
    expires_at = NumberAttribute(null=True)


class ProfileRow(Model):
    class Meta(TableMeta):
        table = "segment-profiles"

    pk = UnicodeAttribute(hash_key=True)  # openid
    sk = UnicodeAttribute(range_key=True, default=PROFILE)
    v = NumberAttribute(default=0)
    subscribed = BooleanAttribute(default=False)
    followed_at = UnicodeAttribute(null=True)
    reminder_consent = BooleanAttribute(default=False)
    first_store = UnicodeAttribute(null=True)
    first_staff = UnicodeAttribute(null=True)
    total_spent_cents = NumberAttribute(default=0)
    last_purchase_at = UnicodeAttribute(null=True)
    skus = MapAttribute(null=True)  # sku -> latest purchase (ISO)
    orders = UnicodeSetAttribute(null=True)  # order ids counted, so a redelivery adds nothing
    segments = UnicodeSetAttribute(null=True)  # the segments this customer is a member of
