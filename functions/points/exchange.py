"""Spending points: a coupon of a campaign with `points_cost`, bought in one transaction.

The coupons capability builds the coupon's items (the coupon, the campaign's counter shard under
its slice of the total limit, the customer's count under the per-customer limit, the message);
this adds the debit (entry `exchange:<code>` and the balance, on condition that it covers the
cost). However many exchanges race, either all of it commits or none: the balance never goes
below zero and no coupon is issued without its points.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.core import clock
from functions.core.errors import Conflict, RuleBroken
from functions.coupons.campaigns import require_campaign
from functions.coupons.issuing import Coupon, issue_coupon
from functions.points import ledger

SOURCE = "points"


@dataclass(frozen=True)
class Exchanged:
    coupon: Coupon
    balance: int
    replayed: bool = False  # the request key had exchanged already: that coupon, nothing debited


def exchange(openid: str, campaign_id: str, request_key: str | None = None) -> Exchanged:
    """Debit the campaign's points cost and issue its coupon, together; or raise 409
    insufficient_points / sold_out / limit_reached, 422 not_for_points / campaign_ended /
    campaign_not_started, 404 campaign_not_found. With `request_key` (an Idempotency-Key, a
    page's form key), sending the same exchange again answers its coupon and debits nothing:
    the coupon's issue key is written in the same transaction as the debit."""
    campaign = require_campaign(campaign_id)
    if campaign.points_cost is None:
        raise RuleBroken("this campaign's coupons are not for points", code="not_for_points")
    now_ts = clock.now_ts()
    if campaign.ended(now_ts):
        raise RuleBroken(f"campaign {campaign_id} has ended", code="campaign_ended")
    if now_ts < campaign.valid_from_ts:
        raise RuleBroken(f"campaign {campaign_id} has not started", code="campaign_not_started")
    cost = campaign.points_cost
    insufficient = Conflict(f"{cost} points are needed", code="insufficient_points")
    result = issue_coupon(
        campaign,
        openid,
        SOURCE,
        issue_key=f"exchange:{openid}:{request_key}" if request_key else None,
        with_ops=lambda coupon: ledger.debit_ops(
            openid, f"exchange:{coupon.code}", cost, "exchange", campaign_id
        ),
        on_failed={ledger.BALANCE_LABEL: insufficient},
    )
    return Exchanged(result.coupon, ledger.balance_of(openid), replayed=not result.new)
