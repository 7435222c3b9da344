"""Fixtures for the points tests: customers with a balance, a campaign on sale, callbacks."""

from __future__ import annotations

import json
import uuid
from typing import Any

from infra.local.wechat_sim import WeChat, deliver

ADMIN = {"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"}
sim = WeChat()


def uid(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def open_store(client: Any, welcome: str = "欢迎光临！") -> str:
    store_id = uid("st")
    body = json.dumps({"name": "南京西路店", "welcome": welcome})
    assert client.http.put(f"/admin/stores/{store_id}", headers=ADMIN, body=body).status_code == 201
    return store_id


def table_card(client: Any, store_id: str, points: int = 10) -> str:
    body = json.dumps({"store_id": store_id, "purpose": "points", "points": points})
    response = client.http.post("/admin/qrcodes", headers=ADMIN, body=body)
    assert response.status_code == 201, response.body
    return response.json_body["scene"]


def give_points(openid: str, points: int, entry_id: str | None = None) -> None:
    """A balance to spend, through the ledger (a scan entry of a made-up store)."""
    from functions.points import ledger

    ledger.credit(openid, entry_id or uid("scan:seed:"), points, "scan")


def on_sale(client: Any, points_cost: int, **terms: Any) -> str:
    campaign_id = uid("pts")
    body = {
        "title": "积分兑换 立减10元",
        "discount_cents": 1000,
        "valid_from": "2020-01-01",
        "valid_to": "2099-12-31",
        "total_limit": 1000,
        "per_customer_limit": 1000,
        "points_cost": points_cost,
        **terms,
    }
    response = client.http.put(f"/admin/coupon-campaigns/{campaign_id}", headers=ADMIN, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return campaign_id


def callback(client: Any, xml: str) -> str:
    """Deliver one message; the text of the reply ("" for `success`)."""
    from functions.core import clock

    status, reply = deliver(client, sim, xml, timestamp=clock.now_ts())
    assert status == 200, reply
    return reply["Content"] if isinstance(reply, dict) else ""


def on_sale_direct(points_cost: int, **terms: Any) -> str:
    """A campaign on sale for points, saved through the coupons domain (no HTTP client)."""
    import msgspec

    from functions.coupons import campaigns
    from functions.coupons.requests import CampaignRequest

    campaign_id = uid("pts")
    body = {
        "title": "积分兑换",
        "discount_cents": 500,
        "valid_from": "2020-01-01",
        "valid_to": "2099-12-31",
        "total_limit": 1000,
        "per_customer_limit": 1000,
        "points_cost": points_cost,
        **terms,
    }
    campaigns.put_campaign(campaign_id, msgspec.convert(body, CampaignRequest))
    return campaign_id
