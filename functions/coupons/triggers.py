"""Purchase triggers: an order_recorded event issues each matching campaign's coupon, once per order.

Matching campaigns are found through the trigger index (TRIGGER#SKU#<sku>, TRIGGER#STORE#<store>,
TRIGGER#ANY), never a scan; the campaign itself is then re-checked, so a stale index item can
only cost a read. "Once per order" is the issue key `order:<order_id>`, written in the same
transaction as the coupon and its message: a redelivered event finds it and changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from functions.core import clock
from functions.core.errors import Conflict
from functions.coupons.campaigns import Campaign, get_campaigns
from functions.coupons.issuing import issue_coupon
from functions.coupons.models import TriggerRow

log = logging.getLogger(__name__)


def matching_campaigns(store_id: str | None, skus: set[str]) -> list[Campaign]:
    keys = [f"TRIGGER#SKU#{sku}" for sku in sorted(skus)] + ["TRIGGER#ANY"]
    if store_id:
        keys.append(f"TRIGGER#STORE#{store_id}")
    campaign_ids = [row.campaign_id for key in keys for row in TriggerRow.query(key)]
    now_ts = clock.now_ts()
    return [
        c
        for c in sorted(get_campaigns(campaign_ids), key=lambda c: c.campaign_id)
        if c.trigger is not None and c.trigger.matches(store_id, skus) and not c.ended(now_ts)
    ]


def on_order_recorded(event: dict[str, Any]) -> None:
    """Subscriber of the order_recorded event (functions/orders/subscribers.py). Idempotent."""
    openid, order_id = event.get("openid"), event.get("order_id")
    if not openid or not order_id:
        return
    skus = {str(item.get("sku")) for item in event.get("items") or [] if item.get("sku")}
    for campaign in matching_campaigns(event.get("store_id"), skus):
        try:
            issue_coupon(campaign, openid, f"order:{order_id}", issue_key=f"order:{order_id}")
        except Conflict as refusal:
            if refusal.code == "busy":
                raise  # contention: let the queue deliver the event again
            # sold_out / limit_reached: nothing to issue, nothing to retry
            log.info("order %s: campaign %s refused: %s", order_id, campaign.campaign_id, refusal.code)
