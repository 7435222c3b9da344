"""End to end against a `make run` whose stage sends coupons as subscribe notifications
(TEMPLATES_OVERRIDE): the follower's grant comes through the sandbox's signed callback, the
coupon's message goes out with bizsend using it, the sent event marks it delivered, and a
second coupon without a grant is skipped."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from tests.conftest import start_stack, stop_stack, wait_for

pytestmark = pytest.mark.e2e
ADMIN = {"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"}
SUB_COUPON = "SUB_COUPON_E2E"


@pytest.fixture(scope="module")
def subscribe_stack():
    override = {"templates": {"coupon": {"channel": "subscribe", "id": SUB_COUPON}}}
    running = start_stack({"TEMPLATES_OVERRIDE": json.dumps(override)})
    yield running
    stop_stack(running.process)


def notifications(stack, openid: str) -> list[dict]:
    got = requests.get(f"{stack.url}/admin/customers/{openid}/notifications", headers=ADMIN, timeout=10)
    return got.json()["notifications"]


def test_a_granted_coupon_goes_out_as_a_subscribe_notification_and_an_ungranted_one_is_skipped(
    subscribe_stack,
):
    stack = subscribe_stack
    suffix = uuid.uuid4().hex[:8]
    openid, campaign_id = f"o-sub-{suffix}", f"sub-camp-{suffix}"
    campaign = requests.put(
        f"{stack.url}/admin/coupon-campaigns/{campaign_id}",
        headers=ADMIN,
        json={
            "title": "补货满减券",
            "discount_cents": 1000,
            "min_spend_cents": 5000,
            "valid_from": "2020-01-01",
            "valid_to": "2099-12-31",
            "total_limit": 10,
            "per_customer_limit": 2,
        },
        timeout=10,
    )
    assert campaign.status_code == 201, campaign.text
    # Given the follower accepted the coupon template once in the popup (WeChat calls back)
    chose = requests.post(
        f"{stack.sandbox_url}/sandbox/subscribe",
        json={"openid": openid, "template_ids": [SUB_COUPON], "status": "accept"},
        timeout=10,
    ).json()
    assert chose["callback_status"] == 200
    # When ops issue them a coupon
    issue = requests.post(
        f"{stack.url}/admin/coupon-campaigns/{campaign_id}/issue",
        headers=ADMIN,
        json={"openids": [openid]},
        timeout=10,
    )
    assert issue.status_code in (200, 201), issue.text
    # Then WeChat got it by bizsend, and its sent event made it delivered
    delivered = wait_for(
        lambda: [n for n in notifications(stack, openid) if n["status"] == "delivered"], timeout=60, every=0.5
    )
    assert delivered, notifications(stack, openid)
    [message] = stack.sandbox_messages(openid)
    assert message["kind"] == "subscribe" and message["template_id"] == SUB_COUPON
    # And a second coupon, with no grant left, is skipped and never reaches WeChat
    requests.post(
        f"{stack.url}/admin/coupon-campaigns/{campaign_id}/issue",
        headers=ADMIN,
        json={"openids": [openid]},
        timeout=10,
    )
    skipped = wait_for(
        lambda: [n for n in notifications(stack, openid) if n["status"] == "skipped:no_grant"],
        timeout=60,
        every=0.5,
    )
    assert skipped and len(stack.sandbox_messages(openid)) == 1
