"""Coupon campaigns: validation, saving (with the counter shards and the trigger index), reading.

The total limit is split into `shards` slices, one counter item each (ShardRow), so that a
flash claim spreads its writes over several partitions; sum(slices) == total_limit always,
and a claim increments one slice only while it is below its own slice limit, so the total
can never be exceeded. Changing total_limit re-slices in one transaction whose conditions
refuse a slice below what that shard has already issued.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist

from functions.core import clock, txn
from functions.core.errors import Conflict, InvalidInput, NotFound, RuleBroken
from functions.coupons.models import CampaignRow, ShardRow, TriggerRow
from functions.coupons.requests import MAX_SHARDS, CampaignRequest

CAMPAIGNS = "CAMPAIGNS"
COUPONS_PER_SHARD = 1000  # default shard count: one per 1,000 coupons, at most MAX_SHARDS
SAVE_ATTEMPTS = 5


@dataclass(frozen=True)
class Trigger:
    skus: tuple[str, ...] = ()
    stores: tuple[str, ...] = ()

    def index_keys(self) -> list[str]:
        """Trigger index partitions: by SKU when SKUs are given (stores then filter), else by store."""
        if self.skus:
            return [f"TRIGGER#SKU#{sku}" for sku in self.skus]
        if self.stores:
            return [f"TRIGGER#STORE#{store}" for store in self.stores]
        return ["TRIGGER#ANY"]

    def matches(self, store_id: str | None, skus: set[str]) -> bool:
        if self.stores and store_id not in self.stores:
            return False
        return not self.skus or bool(skus & set(self.skus))

    def to_json(self) -> dict[str, Any]:
        return {"on": "purchase", "skus": list(self.skus), "stores": list(self.stores)}


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    title: str
    discount_cents: int | None
    percent_off: int | None
    min_spend_cents: int
    valid_from_ts: int
    valid_to_ts: int
    total_limit: int
    per_customer_limit: int
    trigger: Trigger | None
    claimable: bool
    shards: int = 1
    version: int = 0
    full_shards: frozenset[int] = field(default_factory=frozenset)
    issued: int | None = None
    points_cost: int | None = None  # for sale for points (POST /points/exchange)

    def ended(self, now_ts: int | None = None) -> bool:
        return (now_ts if now_ts is not None else clock.now_ts()) > self.valid_to_ts

    def to_view(self) -> dict[str, Any]:
        view: dict[str, Any] = {
            "campaign_id": self.campaign_id,
            "title": self.title,
            "min_spend_cents": self.min_spend_cents,
            "valid_from": ts_iso(self.valid_from_ts),
            "valid_to": ts_iso(self.valid_to_ts),
            "total_limit": self.total_limit,
            "per_customer_limit": self.per_customer_limit,
            "trigger": self.trigger.to_json() if self.trigger else None,
            "claimable": self.claimable,
            "counter_shards": self.shards,
        }
        if self.discount_cents is not None:
            view["discount_cents"] = self.discount_cents
        else:
            view["percent_off"] = self.percent_off
        if self.issued is not None:
            view["issued"] = self.issued
        if self.points_cost is not None:
            view["points_cost"] = self.points_cost
        return view


def ts_iso(ts: int) -> str:
    return clock.iso(datetime.fromtimestamp(ts, tz=UTC))


# -- from a request -----------------------------------------------------------------------


def _moment(text: str, name: str, end_of_day: bool) -> int:
    """An ISO date (a business day: its start, or its end for valid_to) or datetime -> epoch s.
    The declaration checked the shape; a date that is not on the calendar is still refused here."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = clock.business_datetime(day + timedelta(days=1 if end_of_day else 0), "00:00")
            ts = int(start.timestamp()) - (1 if end_of_day else 0)
        else:
            ts = int(clock.parse_iso(text).timestamp())
        ts_iso(ts)  # shown back as UTC: year 1 or 9999 in business time may not be on that calendar
        return ts
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"{name} is not a date or date-time we can use: {text}", code=f"invalid_{name}"
        ) from None


def campaign_from(campaign_id: str, request: CampaignRequest) -> Campaign:
    """The campaign a PUT body describes, or RuleBroken for terms that contradict each other."""
    valid_from = _moment(request.valid_from, "valid_from", end_of_day=False)
    valid_to = _moment(request.valid_to, "valid_to", end_of_day=True)
    if (request.discount_cents is None) == (request.percent_off is None):
        raise RuleBroken("give exactly one of discount_cents and percent_off", code="invalid_campaign")
    if valid_to <= valid_from:
        raise RuleBroken("valid_to must be after valid_from", code="invalid_campaign")
    trigger = None
    if request.trigger is not None:
        # de-duplicated, order kept
        skus = tuple(dict.fromkeys(request.trigger.skus or ()))
        stores = tuple(dict.fromkeys(request.trigger.stores or ()))
        trigger = Trigger(skus, stores)
    total = request.total_limit
    default_shards = min(MAX_SHARDS, max(1, math.ceil(total / COUPONS_PER_SHARD)))
    shards = request.counter_shards or default_shards
    return Campaign(
        campaign_id=campaign_id,
        title=request.title.strip(),
        discount_cents=request.discount_cents,
        percent_off=request.percent_off,
        min_spend_cents=request.min_spend_cents or 0,
        valid_from_ts=valid_from,
        valid_to_ts=valid_to,
        total_limit=total,
        per_customer_limit=request.per_customer_limit,
        trigger=trigger,
        claimable=request.claimable if request.claimable is not None else trigger is None,
        shards=min(shards, total),  # every slice holds at least one coupon
        points_cost=request.points_cost,
    )


def put_campaign(campaign_id: str, request: CampaignRequest) -> tuple[Campaign, bool]:
    """PUT /admin/coupon-campaigns/{id}: create or update; returns (campaign, created)."""
    return save_campaign(campaign_from(campaign_id, request))


# -- storage ------------------------------------------------------------------------------


def campaign_pk(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}"


def shard_pk(campaign_id: str, shard: int) -> str:
    return f"CAMPAIGN#{campaign_id}#SHARD#{shard}"


def _to_domain(row: CampaignRow, issued: int | None = None) -> Campaign:
    trigger = None
    if row.trigger is not None:
        trigger = Trigger(tuple(row.trigger.get("skus") or ()), tuple(row.trigger.get("stores") or ()))
    full = (
        frozenset(int(s) for s in (row.full_shards or ())) if row.full_version == row.version else frozenset()
    )
    return Campaign(
        campaign_id=row.campaign_id,
        title=row.title,
        discount_cents=int(row.discount_cents) if row.discount_cents is not None else None,
        percent_off=int(row.percent_off) if row.percent_off is not None else None,
        min_spend_cents=int(row.min_spend_cents),
        valid_from_ts=int(row.valid_from_ts),
        valid_to_ts=int(row.valid_to_ts),
        total_limit=int(row.total_limit),
        per_customer_limit=int(row.per_customer_limit),
        trigger=trigger,
        claimable=bool(row.claimable),
        shards=int(row.shards),
        version=int(row.version),
        full_shards=full,
        issued=issued,
        points_cost=int(row.points_cost) if row.points_cost is not None else None,
    )


def get_campaign(campaign_id: str, consistent: bool = False) -> Campaign | None:
    try:
        row = CampaignRow.get(campaign_pk(campaign_id), "CAMPAIGN", consistent_read=consistent)
    except DoesNotExist:
        return None
    return _to_domain(row)


def require_campaign(campaign_id: str, consistent: bool = False) -> Campaign:
    campaign = get_campaign(campaign_id, consistent)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}", code="campaign_not_found")
    return campaign


def get_campaigns(campaign_ids: list[str]) -> list[Campaign]:
    keys = [(campaign_pk(c), "CAMPAIGN") for c in dict.fromkeys(campaign_ids)]
    return [_to_domain(row) for row in CampaignRow.batch_get(keys)] if keys else []


def shard_counts(campaign: Campaign) -> list[tuple[int, int]]:
    """[(issued, slice_limit)] per shard, read consistently."""
    keys = [(shard_pk(campaign.campaign_id, k), "SHARD") for k in range(campaign.shards)]
    rows = {row.pk: row for row in ShardRow.batch_get(keys, consistent_read=True)}
    return [(int(rows[pk].issued), int(rows[pk].slice_limit)) if pk in rows else (0, 0) for pk, _ in keys]


def campaign_with_counts(campaign_id: str) -> Campaign:
    campaign = require_campaign(campaign_id, consistent=True)
    issued = sum(i for i, _ in shard_counts(campaign))
    return replace(campaign, issued=issued)


def for_points(now_ts: int | None = None) -> list[Campaign]:
    """Campaigns on sale for points now: a points cost, started and not ended."""
    now_ts = now_ts if now_ts is not None else clock.now_ts()
    return [
        c
        for c in list_campaigns()
        if c.points_cost is not None and c.valid_from_ts <= now_ts and not c.ended(now_ts)
    ]


def list_campaigns() -> list[Campaign]:
    """Every campaign, by id (one Query of the CAMPAIGNS index entry)."""
    return [_to_domain(row) for row in CampaignRow.every_campaign.query(CAMPAIGNS)]


def campaign_counts(campaign: Campaign) -> dict[str, int]:
    """Issued (by any source), claimed (by customers) and redeemed coupons: the sums of the
    campaign's shard counters, which each issue, claim and redemption adds to in its transaction."""
    keys = [(shard_pk(campaign.campaign_id, k), "SHARD") for k in range(campaign.shards)]
    totals = {"issued": 0, "claimed": 0, "redeemed": 0}
    for row in ShardRow.batch_get(keys):
        for name in totals:
            totals[name] += int(getattr(row, name) or 0)
    return totals


def redeemed_op(campaign_id: str, shard: int) -> txn.Op:
    """One more redemption of a coupon the shard issued, as an item of the redemption's transaction."""
    return txn.update(
        "campaign_redeemed", ShardRow(shard_pk(campaign_id, shard), "SHARD"), [ShardRow.redeemed.add(1)]
    )


def slices(total: int, issued: list[int]) -> list[int]:
    """New slice limits: each shard keeps what it issued, the headroom is spread evenly.

    Requires total >= sum(issued); the result sums to `total` and every slice >= its issued.
    """
    headroom = total - sum(issued)
    n = len(issued)
    return [issued[k] + headroom // n + (1 if k < headroom % n else 0) for k in range(n)]


def save_campaign(spec: Campaign) -> tuple[Campaign, bool]:
    """Create or update; returns (campaign, created). Lowering the total below issued -> 409."""
    for _ in range(SAVE_ATTEMPTS):
        existing = get_campaign(spec.campaign_id, consistent=True)
        if existing is None:
            if _create(spec):
                return replace(spec, version=1, issued=0), True
            continue  # created concurrently: save as an update
        if _update(existing, spec):
            return campaign_with_counts(spec.campaign_id), False
    raise Conflict("the campaign changed concurrently; try again", code="concurrent_update")


def _row(spec: Campaign, version: int, created_at: str) -> CampaignRow:
    now = clock.iso(clock.now())
    return CampaignRow(
        campaign_pk(spec.campaign_id),
        "CAMPAIGN",
        campaign_id=spec.campaign_id,
        title=spec.title,
        discount_cents=spec.discount_cents,
        percent_off=spec.percent_off,
        min_spend_cents=spec.min_spend_cents,
        valid_from_ts=spec.valid_from_ts,
        valid_to_ts=spec.valid_to_ts,
        total_limit=spec.total_limit,
        per_customer_limit=spec.per_customer_limit,
        trigger=spec.trigger.to_json() if spec.trigger else None,
        claimable=spec.claimable,
        shards=spec.shards,
        points_cost=spec.points_cost,
        version=version,
        created_at=created_at,
        updated_at=now,
        gsi1pk=CAMPAIGNS,
        gsi1sk=spec.campaign_id,
    )


def _create(spec: Campaign) -> bool:
    limits = slices(spec.total_limit, [0] * spec.shards)
    ops = [
        txn.put("campaign", _row(spec, 1, clock.iso(clock.now())), condition=CampaignRow.pk.does_not_exist())
    ]
    for k, limit in enumerate(limits):
        ops.append(
            txn.put(
                f"shard#{k}",
                ShardRow(shard_pk(spec.campaign_id, k), "SHARD", issued=0, slice_limit=limit),
                condition=ShardRow.pk.does_not_exist(),
            )
        )
    for key in spec.trigger.index_keys() if spec.trigger else []:
        ops.append(
            txn.put(
                f"trigger#{key}", TriggerRow(key, campaign_pk(spec.campaign_id), campaign_id=spec.campaign_id)
            )
        )
    try:
        txn.run(ops)
    except txn.Cancelled:
        return False  # the campaign exists already
    return True


def _update(existing: Campaign, spec: Campaign) -> bool:
    """One transaction: campaign (version-checked), every slice (>= its issued), trigger index."""
    spec = replace(spec, shards=existing.shards)  # the shard count is fixed
    counts = shard_counts(existing)
    issued = [i for i, _ in counts]
    if spec.total_limit < sum(issued):
        raise Conflict(
            f"{sum(issued)} coupons are already issued; total_limit cannot go below that",
            code="limit_below_issued",
        )
    limits = slices(spec.total_limit, issued)
    old_keys = set(existing.trigger.index_keys()) if existing.trigger else set()
    new_keys = spec.trigger.index_keys() if spec.trigger else []
    row = _row(spec, existing.version + 1, "")
    ops = [
        txn.delete(f"untrigger#{key}", TriggerRow(key, campaign_pk(spec.campaign_id)))
        for key in sorted(old_keys - set(new_keys))
    ]
    ops += [
        txn.put(
            f"trigger#{key}", TriggerRow(key, campaign_pk(spec.campaign_id), campaign_id=spec.campaign_id)
        )
        for key in new_keys
    ]
    ops.append(
        txn.update(
            "campaign",
            row,
            actions=[
                CampaignRow.title.set(row.title),
                CampaignRow.discount_cents.set(row.discount_cents)
                if row.discount_cents is not None
                else CampaignRow.discount_cents.remove(),
                CampaignRow.percent_off.set(row.percent_off)
                if row.percent_off is not None
                else CampaignRow.percent_off.remove(),
                CampaignRow.min_spend_cents.set(row.min_spend_cents),
                CampaignRow.valid_from_ts.set(row.valid_from_ts),
                CampaignRow.valid_to_ts.set(row.valid_to_ts),
                CampaignRow.total_limit.set(row.total_limit),
                CampaignRow.per_customer_limit.set(row.per_customer_limit),
                CampaignRow.trigger.set(row.trigger) if row.trigger else CampaignRow.trigger.remove(),
                CampaignRow.claimable.set(row.claimable),
                CampaignRow.points_cost.set(row.points_cost)
                if row.points_cost is not None
                else CampaignRow.points_cost.remove(),
                CampaignRow.version.set(row.version),
                CampaignRow.full_shards.remove(),
                CampaignRow.updated_at.set(row.updated_at),
                CampaignRow.gsi1pk.set(CAMPAIGNS),
                CampaignRow.gsi1sk.set(spec.campaign_id),
            ],
            condition=CampaignRow.version == existing.version,
        )
    )
    ops += [
        txn.update(
            f"shard#{k}",
            ShardRow(shard_pk(spec.campaign_id, k), "SHARD"),
            actions=[ShardRow.slice_limit.set(limit)],
            # Claims may have landed since the read: never set a slice below its issued.
            condition=ShardRow.issued <= limit,
        )
        for k, limit in enumerate(limits)
    ]
    try:
        txn.run(ops)
    except txn.Cancelled:
        return False  # raced with a claim or another save: re-read and retry
    return True
