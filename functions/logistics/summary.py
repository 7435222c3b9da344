"""Text summary of a customer's shipments, for the WeChat menu and keyword replies."""

from __future__ import annotations


def for_customer(openid: str) -> str:
    # Replaced by the logistics capability with the customer's real shipments.
    return "您还没有物流记录。"
