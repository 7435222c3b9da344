"""Fixtures for the coupon tests: stores with POS secrets, campaigns, signing."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import pytest


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def campaign_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "满100减20",
        "discount_cents": 2000,
        "min_spend_cents": 10000,
        "valid_from": "2020-01-01",
        "valid_to": "2099-12-31",
        "total_limit": 100,
        "per_customer_limit": 2,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture
def make_campaign(aws: str) -> Callable[..., str]:
    """Create a campaign through the domain; returns its id."""
    import msgspec

    from functions.coupons import campaigns
    from functions.coupons.requests import CampaignRequest

    def make(campaign_id: str | None = None, **overrides: Any) -> str:
        campaign_id = campaign_id or uid("camp")
        campaigns.put_campaign(campaign_id, msgspec.convert(campaign_body(**overrides), CampaignRequest))
        return campaign_id

    return make


@pytest.fixture
def make_store(aws: str) -> Callable[[], tuple[str, str]]:
    """A store row with its POS secret, written directly; returns (store_id, pos_secret)."""
    from functions.core import clock
    from functions.stores.models import StoreRow

    def make() -> tuple[str, str]:
        store_id, secret = uid("store"), secrets.token_hex(32)
        at = clock.iso(clock.now())
        StoreRow(
            f"STORE#{store_id}",
            "STORE",
            store_id=store_id,
            name="测试门店",
            welcome="欢迎",
            pos_secret=secret,
            created_at=at,
            updated_at=at,
        ).save()
        return store_id, secret

    return make


def pos_headers(store_id: str, secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    from functions.core import clock

    ts = str(clock.now_ts() if timestamp is None else timestamp)
    signature = hmac.new(secret.encode(), ts.encode() + b"\n" + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Store-Id": store_id,
        "X-Timestamp": ts,
        "X-Signature": signature,
    }


def pos_body(code: str, order_id: str, amount_cents: int) -> bytes:
    return json.dumps({"code": code, "order_id": order_id, "amount_cents": amount_cents}).encode()
