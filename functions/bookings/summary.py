"""Text summary of a customer's bookings, for the WeChat menu and keyword replies."""

from __future__ import annotations


def for_customer(openid: str) -> str:
    # Replaced by the bookings capability with the customer's real bookings.
    return "您还没有预约记录。"
