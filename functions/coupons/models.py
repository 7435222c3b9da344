"""Storage rows of the coupons table (generic keys pk, sk, gsi1, gsi2).

| row | pk | sk | indexes |
|---|---|---|---|
| CampaignRow | CAMPAIGN#<id> | CAMPAIGN | gsi1 (CAMPAIGNS, <id>): every campaign, by key |
| ShardRow (slice of the total limit; issued, claimed, redeemed counts) | CAMPAIGN#<id>#SHARD#<k> | SHARD | |
| HolderRow (per-customer count) | HOLDER#<campaign>#<openid> | HOLDER | |
| CouponRow | COUPON#<code> | COUPON | gsi1 (OWNER#<openid>, issued_at#code); gsi2 (CAMPAIGN#<id>#S<k>, issued_at#code) |
| IssueKeyRow (once per order / request) | ISSUEKEY#<campaign>#<key> | ISSUEKEY | |
| TriggerRow (trigger index) | TRIGGER#SKU#<sku> / TRIGGER#STORE#<store> / TRIGGER#ANY | CAMPAIGN#<id> | |
| RedemptionRow | REDEMPTION#<code>#<store>#<order> | REDEMPTION | gsi1 (STORE#<store>, redeemed_at#code) |

Every hot counter and every coupon has its own partition key; nothing is ever scanned.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
)
from pynamodb.models import Model

from functions.core.models import Gsi1, Gsi2, TableMeta


class CampaignRow(Model):
    class Meta(TableMeta):
        table = "coupons"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="CAMPAIGN")
    campaign_id = UnicodeAttribute()
    title = UnicodeAttribute()
    discount_cents = NumberAttribute(null=True)
    percent_off = NumberAttribute(null=True)
    min_spend_cents = NumberAttribute()
    valid_from_ts = NumberAttribute()
    valid_to_ts = NumberAttribute()
    total_limit = NumberAttribute()
    per_customer_limit = NumberAttribute()
    trigger = JSONAttribute(null=True)
    claimable = BooleanAttribute()
    shards = NumberAttribute()
    points_cost = NumberAttribute(null=True)  # for sale for points when set
    # Bumped by every admin save; `full_shards` is a hint valid only for this version.
    version = NumberAttribute()
    full_shards = NumberSetAttribute(null=True)
    full_version = NumberAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    gsi1pk = UnicodeAttribute(null=True)  # CAMPAIGNS: the list of campaigns is one Query
    gsi1sk = UnicodeAttribute(null=True)
    every_campaign = Gsi1()


class ShardRow(Model):
    """One slice of the campaign's total limit: sum(slice_limit) == total_limit."""

    class Meta(TableMeta):
        table = "coupons"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="SHARD")
    issued = NumberAttribute(default=0)
    slice_limit = NumberAttribute()
    # Of the coupons this shard issued: claimed by customers themselves, and redeemed at a POS.
    claimed = NumberAttribute(null=True)
    redeemed = NumberAttribute(null=True)


class HolderRow(Model):
    class Meta(TableMeta):
        table = "coupons"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="HOLDER")
    count = NumberAttribute(null=True)


class CouponRow(Model):
    class Meta(TableMeta):
        table = "coupons"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="COUPON")
    code = UnicodeAttribute()  # canonical, no dashes
    campaign_id = UnicodeAttribute()
    openid = UnicodeAttribute()
    title = UnicodeAttribute()
    status = UnicodeAttribute()  # issued | redeemed
    # A snapshot of the campaign's terms: the redemption condition reads them from this item.
    discount_cents = NumberAttribute(null=True)
    percent_off = NumberAttribute(null=True)
    min_spend_cents = NumberAttribute()
    valid_from_ts = NumberAttribute()
    valid_to_ts = NumberAttribute()
    source = UnicodeAttribute()  # claim | issue | order:<order_id>
    issued_at = UnicodeAttribute()
    redeemed_at = UnicodeAttribute(null=True)
    redeemed_store = UnicodeAttribute(null=True)
    redeemed_order = UnicodeAttribute(null=True)
    redeemed_discount_cents = NumberAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    by_owner = Gsi1()
    by_campaign = Gsi2()


class IssueKeyRow(Model):
    """Makes an issue idempotent: written in the same transaction as the coupon it issued."""

    class Meta(TableMeta):
        table = "coupons"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="ISSUEKEY")
    code = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)


class TriggerRow(Model):
    class Meta(TableMeta):
        table = "coupons"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    campaign_id = UnicodeAttribute()


class RedemptionRow(Model):
    class Meta(TableMeta):
        table = "coupons"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="REDEMPTION")
    code = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    store_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    amount_cents = NumberAttribute()
    discount_cents = NumberAttribute()
    redeemed_at = UnicodeAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    by_store = Gsi1()
