"""Storage rows of the broadcasts table (generic keys pk/sk, gsi1, gsi2, TTL `expires_at`).

- BroadcastRow:  pk "BC#<id>", sk "BC": what to send, to which segment, when; its status
  (scheduled -> sending -> sent | skipped:audience_too_small) and counts. gsi1 ("DUE",
  "<send_at>#<id>") only while it still has to go out (the schedule's index; removed once
  sent); gsi2 ("BROADCASTS", "<created_at>#<id>") lists them, newest first.
- MemberRow:     pk "BC#<id>", sk "M#<openid>": the frozen audience, one item per member
  decided at send time, `group` recipient | holdout | capped. Written once
  (attribute_not_exists), read back by the report.
- ChunkRow:      pk "BC#<id>", sk "C#<nnnnn>": one mass/send of 2–10,000 openids, written in
  the transaction of its notification record; the MASSSENDJOBFINISH counts land here once.
- ChunkPartRow:  pk "BC#<id>", sk "P#<nnnnn>#<pp>": the chunk's openids, PART_SIZE a part.
  10,000 openids of up to 64 characters are up to ~690 KB, past DynamoDB's 400 KB item
  limit; 2,000 a part is at most ~140 KB, and a chunk's five parts plus its notification
  stay well inside a transaction's 4 MB.
- MassCapRow:    pk "MCAP#<openid>", sk "MASS": broadcasts received this business month
  (WeChat delivers at most 4 a calendar month), taken with one conditional update (caps.py).
"""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.models import Model

from functions.core.models import Gsi1, Gsi2, TableMeta

BROADCAST = "BC"
MASS = "MASS"
DUE = "DUE"
LISTED = "BROADCASTS"


def broadcast_pk(broadcast_id: str) -> str:
    return f"BC#{broadcast_id}"


class BroadcastRow(Model):
    class Meta(TableMeta):
        table = "broadcasts"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=BROADCAST)
    broadcast_id = UnicodeAttribute()
    segment_id = UnicodeAttribute()
    text = UnicodeAttribute(null=True)
    media_id = UnicodeAttribute(null=True)
    holdout_percent = NumberAttribute(default=0)
    send_at = UnicodeAttribute()  # ISO UTC
    created_at = UnicodeAttribute()
    # scheduled | sending | sent | skipped:audience_too_small
    status = UnicodeAttribute()
    lease_until = NumberAttribute(null=True)  # epoch s: a send job's claim
    frozen_at = UnicodeAttribute(null=True)  # when the audience was frozen (the report's start)
    audience_frozen = NumberAttribute(null=True)  # 1 once every member is decided
    audience = NumberAttribute(null=True)  # recipients
    holdout = NumberAttribute(null=True)
    skipped_monthly_cap = NumberAttribute(null=True)
    chunks = NumberAttribute(null=True)
    # From MASSSENDJOBFINISH, summed over the chunks that reported.
    finished_chunks = NumberAttribute(null=True)
    total_count = NumberAttribute(null=True)
    filter_count = NumberAttribute(null=True)
    sent_count = NumberAttribute(null=True)
    error_count = NumberAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    due = Gsi1()
    listed = Gsi2()


class MemberRow(Model):
    class Meta(TableMeta):
        table = "broadcasts"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # M#<openid>
    openid = UnicodeAttribute()
    group = UnicodeAttribute()  # recipient | holdout | capped


class ChunkRow(Model):
    class Meta(TableMeta):
        table = "broadcasts"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # C#<nnnnn>
    size = NumberAttribute()
    parts = NumberAttribute()
    notification_id = UnicodeAttribute()
    msg_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)  # MASSSENDJOBFINISH's Status
    total_count = NumberAttribute(null=True)
    filter_count = NumberAttribute(null=True)
    sent_count = NumberAttribute(null=True)
    error_count = NumberAttribute(null=True)
    finished_at = UnicodeAttribute(null=True)


class ChunkPartRow(Model):
    class Meta(TableMeta):
        table = "broadcasts"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # P#<nnnnn>#<pp>
    openids = ListAttribute(of=UnicodeAttribute)


class MassCapRow(Model):
    class Meta(TableMeta):
        table = "broadcasts"

    pk = UnicodeAttribute(hash_key=True)  # MCAP#<openid>
    sk = UnicodeAttribute(range_key=True)  # MASS
    month = UnicodeAttribute(null=True)  # YYYY-MM, business time
    month_count = NumberAttribute(null=True)
    month_ids = UnicodeSetAttribute(null=True)  # the broadcasts counted this month
    expires_at = NumberAttribute(null=True)
