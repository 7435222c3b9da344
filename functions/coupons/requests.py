"""What the coupon routes accept (CONTRACT §3, §4 and §6), declared once.

A route validates its request against these before the domain sees it (a shape error is
`400 invalid_<field>`), and the OpenAPI document is built from the same declarations. Rules
that span fields (exactly one of discount_cents and percent_off; valid_to after valid_from)
are the domain's, and answer 422.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from functions.core.fields import IDENTIFIER, CampaignId, Cents, OpenId, OrderId, Sku, StoreId

MAX_OPENIDS = 500
MAX_TRIGGER_KEYS = 40  # keeps a save within DynamoDB's 100 items per transaction
MAX_LIMIT = 10_000_000
MAX_SHARDS = 16

# Python's `$` also matches before a final "\n": `(?!\n)` keeps a trailing newline out.
MOMENT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$(?!\n)"

Title = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"\S", description="shown to customers")]
Moment = Annotated[
    str,
    Meta(
        pattern=MOMENT,
        description="an ISO date (a business day: from its start, or through its end for valid_to) "
        "or an ISO date-time (without an offset: business time)",
    ),
]
Discount = Annotated[int, Meta(ge=1, le=10**12, description="an amount in fen (1/100 yuan)")]
Percent = Annotated[int, Meta(ge=1, le=100)]
Limit = Annotated[int, Meta(ge=1, le=MAX_LIMIT)]
Shards = Annotated[int, Meta(ge=1, le=MAX_SHARDS, description="counter slices of the total limit")]
PointsCost = Annotated[
    int, Meta(ge=1, le=10**9, description="points a customer pays for one coupon (POST /points/exchange)")
]
RequestId = Annotated[
    str, Meta(pattern=IDENTIFIER, max_length=64, description="makes a repeated issue request safe")
]


class TriggerRequest(msgspec.Struct, forbid_unknown_fields=True):
    on: Literal["purchase"]
    skus: Annotated[list[Sku], Meta(max_length=MAX_TRIGGER_KEYS)] | None = None
    stores: Annotated[list[StoreId], Meta(max_length=MAX_TRIGGER_KEYS)] | None = None


class CampaignRequest(msgspec.Struct):
    """PUT /admin/coupon-campaigns/{id}: exactly one of discount_cents and percent_off."""

    title: Title
    valid_from: Moment
    valid_to: Moment
    total_limit: Limit
    per_customer_limit: Limit
    discount_cents: Discount | None = None
    percent_off: Percent | None = None
    min_spend_cents: Cents | None = None
    trigger: TriggerRequest | None = None
    claimable: bool | None = None  # default: claimable unless a purchase triggers it
    counter_shards: Shards | None = None
    points_cost: PointsCost | None = None  # for sale for points when set


class IssueRequest(msgspec.Struct):
    """POST /admin/coupon-campaigns/{id}/issue: validated whole before anything is issued."""

    openids: Annotated[list[OpenId], Meta(min_length=1, max_length=MAX_OPENIDS)]
    request_id: RequestId | None = None


class ClaimRequest(msgspec.Struct):
    """POST /coupons/claim."""

    campaign_id: CampaignId


class RedemptionRequest(msgspec.Struct):
    """POST /pos/redemptions, read after its signature is verified."""

    code: str  # as typed or scanned; a code that cannot exist is simply not found (404)
    order_id: OrderId
    amount_cents: Cents
