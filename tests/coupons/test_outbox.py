"""An issued coupon commits with its message, however it was issued; a refused or repeated
issue adds none."""

from __future__ import annotations

import json

from tests.conftest import customer_headers
from tests.coupons.conftest import uid


def messages(openid: str) -> list[str]:
    from functions.notifications.domain import customer_notifications

    return [n["notification_id"] for n in customer_notifications(openid)]


def coupon_ids(codes: list[str]) -> list[str]:
    return [f"coupon-{code.replace('-', '')}" for code in codes]


def test_a_claim_commits_with_its_message_and_a_refused_claim_has_none(client, make_campaign):
    campaign_id = make_campaign(total_limit=10, per_customer_limit=1)
    me = uid("o")
    claim = {"headers": customer_headers(me), "body": json.dumps({"campaign_id": campaign_id})}
    # A claim: the coupon and its message
    coupon = client.http.post("/coupons/claim", **claim).json_body
    assert messages(me) == coupon_ids([coupon["code"]])
    # Over the per-customer limit: the transaction is cancelled, and no message exists for it
    refused = client.http.post("/coupons/claim", **claim)
    assert refused.json_body["error"] == "limit_reached"
    assert messages(me) == coupon_ids([coupon["code"]])


def test_an_issue_retried_with_its_request_id_adds_no_message(client, admin_headers, make_campaign):
    campaign_id = make_campaign(total_limit=10, per_customer_limit=5)
    me = uid("o")
    body = json.dumps({"openids": [me, me], "request_id": uid("req")})
    url = f"/admin/coupon-campaigns/{campaign_id}/issue"
    first = client.http.post(url, headers=admin_headers, body=body).json_body
    again = client.http.post(url, headers=admin_headers, body=body).json_body
    codes = [r["code"] for r in first["results"]]
    assert [r["code"] for r in again["results"]] == codes
    assert sorted(messages(me)) == sorted(coupon_ids(codes))


def test_a_redelivered_order_event_adds_no_message(aws, make_campaign):
    from functions.coupons import triggers
    from functions.coupons.issuing import coupons_of

    sku = uid("SKU")
    campaign_id = make_campaign(per_customer_limit=5, trigger={"on": "purchase", "skus": [sku]})
    me = uid("o")
    event = {"openid": me, "order_id": uid("ord"), "items": [{"sku": sku, "qty": 1}]}
    for _ in range(2):  # the queue delivers the event twice
        triggers.on_order_recorded(event)
    [coupon] = [c for c in coupons_of(me) if c.campaign_id == campaign_id]
    assert messages(me) == [f"coupon-{coupon.code}"]
