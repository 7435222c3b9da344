"""Issuing coupons within both limits, atomically: one transaction per coupon.

The transaction holds
- the coupon (condition: its code is new),
- optionally an issue key (condition: new) that makes "once per order / per request" hold
  however often the caller retries,
- one shard of the campaign counter (condition: issued < slice_limit),
- the customer's counter for the campaign (condition: count < per_customer_limit), and
- the customer's message (`notify_op`): an issued coupon always gets its notification, and a
  repeated claim, issue or trigger that finds its coupon adds none.

No interleaving of claims can pass either limit, because both checks are conditions on the
items the same transaction increments. A full shard sends the claim to the next shard; the
campaign is sold out only when every shard refused.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from functions.core import clock, links, txn
from functions.core.errors import AppError, Conflict, Forbidden, RuleBroken
from functions.coupons import codes
from functions.coupons.campaigns import (
    Campaign,
    campaign_pk,
    require_campaign,
    shard_pk,
    ts_iso,
)
from functions.coupons.models import CampaignRow, CouponRow, HolderRow, IssueKeyRow, ShardRow
from functions.notifications.domain import notify_op

CODE_ATTEMPTS = 5  # fresh codes to draw when one collides (80 bits: never, in practice)
ISSUE_THREADS = 8
ISSUE_KEY_TTL_S = 400 * 86400


@dataclass(frozen=True)
class Coupon:
    code: str
    campaign_id: str
    openid: str
    title: str
    status: str
    discount_cents: int | None
    percent_off: int | None
    min_spend_cents: int
    valid_from_ts: int
    valid_to_ts: int
    issued_at: str
    redeemed_at: str | None = None
    shard: int | None = None  # the campaign's counter shard that issued it

    def display_status(self, now_ts: int | None = None) -> str:
        now_ts = now_ts if now_ts is not None else clock.now_ts()
        if self.status == "issued" and now_ts > self.valid_to_ts:
            return "expired"
        return self.status

    def usable(self, now_ts: int | None = None) -> bool:
        return self.display_status(now_ts) == "issued"

    def to_view(self) -> dict[str, Any]:
        view: dict[str, Any] = {
            "code": codes.display(self.code),
            "campaign_id": self.campaign_id,
            "title": self.title,
            "status": self.display_status(),
            "valid_from": ts_iso(self.valid_from_ts),
            "valid_to": ts_iso(self.valid_to_ts),
            "min_spend_cents": self.min_spend_cents,
            "issued_at": self.issued_at,
        }
        if self.discount_cents is not None:
            view["discount_cents"] = self.discount_cents
        else:
            view["percent_off"] = self.percent_off
        if self.redeemed_at:
            view["redeemed_at"] = self.redeemed_at
        return view


@dataclass(frozen=True)
class IssueResult:
    coupon: Coupon
    new: bool  # False: the issue key had already issued this coupon


def to_domain(row: CouponRow) -> Coupon:
    return Coupon(
        code=row.code,
        campaign_id=row.campaign_id,
        openid=row.openid,
        title=row.title,
        status=row.status,
        discount_cents=int(row.discount_cents) if row.discount_cents is not None else None,
        percent_off=int(row.percent_off) if row.percent_off is not None else None,
        min_spend_cents=int(row.min_spend_cents),
        valid_from_ts=int(row.valid_from_ts),
        valid_to_ts=int(row.valid_to_ts),
        issued_at=row.issued_at,
        redeemed_at=row.redeemed_at,
        shard=_shard_of(row.gsi2pk),
    )


def _shard_of(gsi2pk: str | None) -> int | None:
    """`CAMPAIGN#<id>#S<k>` -> k."""
    _, _, tail = (gsi2pk or "").rpartition("#S")
    return int(tail) if tail.isdigit() else None


def get_coupon(code: str) -> Coupon | None:
    try:
        return to_domain(CouponRow.get(f"COUPON#{code}", "COUPON", consistent_read=True))
    except DoesNotExist:
        return None


def holder_pk(campaign_id: str, openid: str) -> str:
    return f"HOLDER#{campaign_id}#{openid}"


def issue_key_pk(campaign_id: str, key: str) -> str:
    return f"ISSUEKEY#{campaign_id}#{key}"


def _coupon_row(campaign: Campaign, openid: str, code: str, shard: int, source: str) -> CouponRow:
    at = clock.iso(clock.now())
    return CouponRow(
        f"COUPON#{code}",
        "COUPON",
        code=code,
        campaign_id=campaign.campaign_id,
        openid=openid,
        title=campaign.title,
        status="issued",
        discount_cents=campaign.discount_cents,
        percent_off=campaign.percent_off,
        min_spend_cents=campaign.min_spend_cents,
        valid_from_ts=campaign.valid_from_ts,
        valid_to_ts=campaign.valid_to_ts,
        source=source,
        issued_at=at,
        gsi1pk=f"OWNER#{openid}",
        gsi1sk=f"{at}#{code}",
        gsi2pk=f"CAMPAIGN#{campaign.campaign_id}#S{shard}",
        gsi2sk=f"{at}#{code}",
    )


def issue_coupon(
    campaign: Campaign,
    openid: str,
    source: str,
    issue_key: str | None = None,
    with_ops: Callable[[Coupon], Sequence[txn.Op]] | None = None,
    on_failed: Mapping[str, AppError] | None = None,
) -> IssueResult:
    """Issue one coupon of `campaign` to `openid`, or raise Conflict sold_out / limit_reached.

    With `issue_key`, a repeated call returns the coupon the first call issued. `with_ops` adds
    another capability's items to the coupon's transaction (the points an exchange debits);
    `on_failed` names the error for each of their labels whose condition failed.
    """
    order = [
        k for k in random.sample(range(campaign.shards), campaign.shards) if k not in campaign.full_shards
    ]
    for shard in order:
        result = _try_shard(campaign, openid, source, issue_key, shard, with_ops, on_failed or {})
        if result is not None:
            return result
        _remember_full(campaign, shard)
    if issue_key is not None:
        existing = _issued_for_key(campaign.campaign_id, issue_key)
        if existing is not None:
            return IssueResult(existing, new=False)
    raise Conflict(f"campaign {campaign.campaign_id} is sold out", code="sold_out")


def issue_ops(
    campaign: Campaign, openid: str, source: str, code: str, shard: int, issue_key: str | None = None
) -> tuple[Coupon, list[txn.Op]]:
    """The coupon `code` from counter `shard`, as transaction items: the coupon (label "coupon",
    new), its issue key ("issue_key", new), the shard ("shard", below its slice) and the
    customer's count ("holder", below the per-customer limit), and its message."""
    coupon = _coupon_row(campaign, openid, code, shard, source)
    ops = [txn.put("coupon", coupon, condition=CouponRow.pk.does_not_exist())]
    if issue_key:
        ops.append(
            txn.put(
                "issue_key",
                IssueKeyRow(
                    issue_key_pk(campaign.campaign_id, issue_key),
                    "ISSUEKEY",
                    code=code,
                    created_at=coupon.issued_at,
                    expires_at=max(campaign.valid_to_ts, clock.now_ts()) + ISSUE_KEY_TTL_S,
                ),
                condition=IssueKeyRow.pk.does_not_exist(),
            )
        )
    ops.append(
        txn.update(
            "shard",
            ShardRow(shard_pk(campaign.campaign_id, shard), "SHARD"),
            actions=[ShardRow.issued.add(1), *([ShardRow.claimed.add(1)] if source == "claim" else [])],
            condition=ShardRow.issued < ShardRow.slice_limit,
        )
    )
    ops.append(
        txn.update(
            "holder",
            HolderRow(holder_pk(campaign.campaign_id, openid), "HOLDER"),
            actions=[HolderRow.count.add(1)],
            condition=HolderRow.count.does_not_exist() | (HolderRow.count < campaign.per_customer_limit),
        )
    )
    issued = to_domain(coupon)
    ops.append(issued_message_op(issued))
    return issued, ops


def _try_shard(
    campaign: Campaign,
    openid: str,
    source: str,
    issue_key: str | None,
    shard: int,
    with_ops: Callable[[Coupon], Sequence[txn.Op]] | None,
    on_failed: Mapping[str, AppError],
) -> IssueResult | None:
    """The issued coupon, or None when this shard is full. (txn.run retries contention.)"""
    for _ in range(CODE_ATTEMPTS):
        code = codes.new_code()
        issued, ops = issue_ops(campaign, openid, source, code, shard, issue_key)
        if with_ops is not None:
            ops.extend(with_ops(issued))
        try:
            txn.run(ops)
        except txn.Cancelled as cancelled:
            refused = cancelled
        else:
            return IssueResult(issued, new=True)
        if refused.failed("coupon"):
            # A fresh 80-bit code "exists" only if this very transaction committed and its
            # answer was lost, with a retry that DynamoDB's request token did not cover.
            mine = get_coupon(code)
            if mine is not None and (mine.openid, mine.campaign_id, mine.issued_at) == (
                openid,
                campaign.campaign_id,
                issued.issued_at,
            ):
                return IssueResult(mine, new=True)
        if refused.failed("issue_key"):
            existing = _issued_for_key(campaign.campaign_id, issue_key or "")
            if existing is not None:
                return IssueResult(existing, new=False)
        for label, error in on_failed.items():
            if refused.failed(label):
                raise error
        if refused.failed("holder"):
            raise Conflict(
                f"at most {campaign.per_customer_limit} coupons of this campaign per customer",
                code="limit_reached",
            )
        if refused.failed("shard"):
            return None
        if refused.failed("coupon"):
            continue  # an 80-bit code collided: draw another
        if txn.CONFLICT in refused.reasons.values():
            break  # still contended after txn.run's retries
        raise refused
    raise Conflict("too much contention on this campaign; try again", code="busy")


def _issued_for_key(campaign_id: str, issue_key: str) -> Coupon | None:
    try:
        key_row = IssueKeyRow.get(issue_key_pk(campaign_id, issue_key), "ISSUEKEY", consistent_read=True)
    except DoesNotExist:
        return None
    return get_coupon(key_row.code)


def _remember_full(campaign: Campaign, shard: int) -> None:
    """A hint so that later claims skip this shard; valid only for this campaign version
    (an admin save re-slices and clears it). Never needed for correctness."""
    # A failed condition means the campaign was saved meanwhile: the hint would be stale anyway.
    with contextlib.suppress(UpdateError):
        CampaignRow(campaign_pk(campaign.campaign_id), "CAMPAIGN").update(
            actions=[CampaignRow.full_shards.add({shard}), CampaignRow.full_version.set(campaign.version)],
            condition=(CampaignRow.version == campaign.version),
        )


# -- the three ways in ----------------------------------------------------------------------


def yuan(cents: int) -> str:
    return f"{cents / 100:.2f}".removesuffix(".00")


def benefit_text(discount_cents: int | None, percent_off: int | None, min_spend_cents: int) -> str:
    """ "满100减10元" / "立减10元" / "8.5折" (Chinese shops say 15% off as "8.5折")."""
    if discount_cents is not None:
        if min_spend_cents:
            return f"满{yuan(min_spend_cents)}减{yuan(discount_cents)}元"
        return f"立减{yuan(discount_cents)}元"
    if percent_off == 100:
        return "免费"
    return f"{(100 - (percent_off or 0)) / 10:g}折"


def issued_message_op(coupon: Coupon) -> txn.Op:
    """The customer's message about a new coupon, an item of the coupon's own transaction; its
    id is derived from the code."""
    valid_to = clock.business_date(datetime.fromtimestamp(coupon.valid_to_ts, UTC)).isoformat()
    return notify_op(
        coupon.openid,
        "coupon_issued",
        {
            "title": coupon.title,
            "benefit": benefit_text(coupon.discount_cents, coupon.percent_off, coupon.min_spend_cents),
            "valid_to": valid_to,
            "code": codes.display(coupon.code),
        },
        url=links.coupons(),
        notification_id=f"coupon-{coupon.code}",
    )


def _open_for_issue(campaign: Campaign) -> None:
    if campaign.ended():
        raise RuleBroken(f"campaign {campaign.campaign_id} has ended", code="campaign_ended")


def claim(openid: str, campaign_id: str) -> Coupon:
    """A customer claims a coupon of a claimable campaign."""
    campaign = require_campaign(campaign_id)
    if not campaign.claimable:
        raise Forbidden("this campaign's coupons are issued, not claimed", code="not_claimable")
    _open_for_issue(campaign)
    return issue_coupon(campaign, openid, "claim").coupon


def issue_to(campaign_id: str, openids: list[str], request_id: str | None = None) -> dict[str, Any]:
    """Admin issue to a list of customers; one result per openid, in order.

    With `request_id`, repeating the request issues nothing twice: the issue key is
    (request_id, openid, n-th occurrence of that openid in the list).
    """
    campaign = require_campaign(campaign_id, consistent=True)
    _open_for_issue(campaign)
    seen: dict[str, int] = {}
    keys: list[str | None] = []
    for openid in openids:
        seen[openid] = seen.get(openid, 0) + 1
        keys.append(f"req:{request_id}:{openid}:{seen[openid]}" if request_id else None)

    def one(index: int) -> dict[str, Any]:
        openid = openids[index]
        try:
            coupon = issue_coupon(campaign, openid, "issue", keys[index]).coupon
        except Conflict as refusal:
            return {"openid": openid, "status": "refused", "error": refusal.code}
        return {"openid": openid, "status": "issued", "code": codes.display(coupon.code)}

    with ThreadPoolExecutor(max_workers=ISSUE_THREADS) as pool:
        results = list(pool.map(one, range(len(openids))))
    return {
        "campaign_id": campaign_id,
        "issued": sum(1 for r in results if r["status"] == "issued"),
        "results": results,
    }


def coupons_of(openid: str, limit: int = 100) -> list[Coupon]:
    """The customer's coupons, newest first, through gsi1 (OWNER#<openid>)."""
    rows = CouponRow.by_owner.query(f"OWNER#{openid}", scan_index_forward=False, limit=limit)
    return [to_domain(row) for row in rows]


def coupons_of_campaign(campaign: Campaign) -> list[Coupon]:
    """Every coupon issued for the campaign (gsi2, one partition per counter shard)."""
    found: list[Coupon] = []
    for shard in range(campaign.shards):
        rows = CouponRow.by_campaign.query(f"CAMPAIGN#{campaign.campaign_id}#S{shard}")
        found.extend(to_domain(row) for row in rows)
    return found


def campaign_coupon_codes(campaign: Campaign) -> list[str]:
    return [c.code for c in coupons_of_campaign(campaign)]
