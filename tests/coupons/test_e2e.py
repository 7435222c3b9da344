"""End to end over HTTP against `make run`: ops set up a store and a campaign, customers get
coupons, and a POS terminal redeems one with signed requests."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import pytest
import requests

from tests.conftest import wait_for

ADMIN = {"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"}


def signed(store_id: str, secret: str, payload: dict) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    ts = str(int(time.time()))
    signature = hmac.new(secret.encode(), ts.encode() + b"\n" + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Store-Id": store_id,
        "X-Timestamp": ts,
        "X-Signature": signature,
    }, body


@pytest.mark.e2e
def test_a_pos_terminal_redeems_a_coupon_over_http(stack):
    api = stack.url
    suffix = uuid.uuid4().hex[:8]
    store_id, campaign_id = f"e2e-store-{suffix}", f"e2e-camp-{suffix}"
    # Given ops created a store (its POS secret is shown once) and a campaign
    store = requests.put(
        f"{api}/admin/stores/{store_id}",
        headers=ADMIN,
        json={"name": "静安店", "welcome": "欢迎光临"},
        timeout=10,
    )
    assert store.status_code == 201, store.text
    secret = store.json()["pos_secret"]
    campaign = requests.put(
        f"{api}/admin/coupon-campaigns/{campaign_id}",
        headers=ADMIN,
        json={
            "title": "会员满减券",
            "discount_cents": 3000,
            "min_spend_cents": 20000,
            "valid_from": "2020-01-01",
            "valid_to": "2099-12-31",
            "total_limit": 2,
            "per_customer_limit": 1,
        },
        timeout=10,
    )
    assert campaign.status_code == 201, campaign.text
    # And a customer signed in through WeChat OAuth claims a coupon
    buyer = f"o-e2e-{suffix}"
    token = requests.get(f"{api}/auth/wechat", params={"code": f"openid:{buyer}"}, timeout=10).json()["token"]
    claimed = requests.post(
        f"{api}/coupons/claim",
        headers={"Authorization": f"Bearer {token}"},
        json={"campaign_id": campaign_id},
        timeout=10,
    )
    assert claimed.status_code == 201, claimed.text
    code = claimed.json()["code"]
    # And ops issue the last coupon to another customer, who is notified over WeChat
    other = f"o-e2e-other-{suffix}"
    issued = requests.post(
        f"{api}/admin/coupon-campaigns/{campaign_id}/issue",
        headers=ADMIN,
        json={"openids": [other]},
        timeout=10,
    ).json()
    assert issued["results"][0]["status"] == "issued"
    message = wait_for(lambda: stack.sandbox_messages(other))
    assert message and message[0]["data"]["character_string4"]["value"] == issued["results"][0]["code"]
    # When the POS terminal redeems the buyer's coupon for a 250-yuan order
    headers, body = signed(
        store_id, secret, {"code": code, "order_id": f"pos-{suffix}", "amount_cents": 25000}
    )
    first = requests.post(f"{api}/pos/redemptions", headers=headers, data=body, timeout=10)
    # Then it is redeemed for 30 yuan off, and a retry gets the same answer
    assert first.status_code == 200, first.text
    assert first.json() == {"status": "redeemed", "code": code, "discount_cents": 3000}
    retry = requests.post(f"{api}/pos/redemptions", headers=headers, data=body, timeout=10)
    assert (retry.status_code, retry.content) == (200, first.content)
    # And a tampered request is refused, and another order cannot reuse the code
    tampered = requests.post(
        f"{api}/pos/redemptions", headers=headers, data=body.replace(b"25000", b"99999"), timeout=10
    )
    assert tampered.status_code == 401
    headers2, body2 = signed(
        store_id, secret, {"code": code, "order_id": f"pos2-{suffix}", "amount_cents": 25000}
    )
    reused = requests.post(f"{api}/pos/redemptions", headers=headers2, data=body2, timeout=10)
    assert reused.status_code == 409 and reused.json()["error"] == "already_redeemed"
    # And the customer sees it redeemed, and the store's stats count one redemption
    mine = requests.get(f"{api}/coupons", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    assert [(c["code"], c["status"]) for c in mine] == [(code, "redeemed")]
    stats = requests.get(f"{api}/admin/stores/{store_id}/stats", headers=ADMIN, timeout=10).json()
    days = stats["days"] if isinstance(stats, dict) else stats
    assert sum(day["redemptions"] for day in days) == 1
