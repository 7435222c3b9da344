"""The events that move memberships, as changes to the customer's profile.

- `order_recorded` (the order-events queue; functions/orders/subscribers.py hands it here):
  total spent, last purchase and each SKU's latest purchase. The order's id is kept on the
  profile, so a redelivered event changes nothing; orders arriving out of order still leave
  each latest date the latest.
- a customer's change (the customers table's stream, decoded by `customers.domain`): follow,
  unfollow, reminder consent, first-touch store and staff.
Each re-evaluates that one customer only (functions/segments/evaluation.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from functions.core import clock
from functions.customers.domain import Customer
from functions.segments import evaluation
from functions.segments.evaluation import Outcome
from functions.segments.rules import Profile


def _later(a: str | None, b: str) -> str:
    if a is None:
        return b
    return max(a, b, key=lambda text: clock.parse_iso(text))


def order_change(event: dict[str, Any]) -> evaluation.Change:
    order_id = str(event["order_id"])
    at = str(event["purchased_at"])
    clock.parse_iso(at)  # a malformed time fails here, before anything is written
    total = int(event.get("total_cents") or 0)
    skus = [str(item["sku"]) for item in event.get("items") or [] if item.get("sku")]

    def change(profile: Profile) -> Profile | None:
        if order_id in profile.orders:
            return None
        latest = dict(profile.skus)
        for sku in skus:
            latest[sku] = _later(latest.get(sku), at)
        return replace(
            profile,
            total_spent_cents=profile.total_spent_cents + total,
            last_purchase_at=_later(profile.last_purchase_at, at),
            skus=latest,
            orders=profile.orders | {order_id},
        )

    return change


def on_order_recorded(event: dict[str, Any]) -> Outcome | None:
    """An order-events subscriber: the buyer's profile gains the order, then is re-evaluated."""
    if event.get("type", "order_recorded") != "order_recorded" or not event.get("openid"):
        return None
    return evaluation.apply(str(event["openid"]), order_change(event))


def customer_change(customer: Customer) -> evaluation.Change:
    def change(profile: Profile) -> Profile | None:
        after = replace(
            profile,
            subscribed=customer.subscribed,
            followed_at=customer.subscribed_at if customer.subscribed else None,
            reminder_consent=customer.reminder_consent,
            first_store=customer.first_store_id,
            first_staff=customer.first_staff_id,
        )
        return None if after == profile else after

    return change


def on_customer_changed(customer: Customer) -> Outcome:
    return evaluation.apply(customer.openid, customer_change(customer))
