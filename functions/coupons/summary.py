"""Text summary of a customer's coupons, for the WeChat menu and keyword replies."""

from __future__ import annotations


def for_customer(openid: str) -> str:
    # Replaced by the coupons capability with the customer's real coupons.
    return "您还没有可用的优惠券。"
