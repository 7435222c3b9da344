"""End to end against `make run`, in Chromium at a phone's size: a customer scans a table card
(WeChat's callback, signed as WeChat signs it), buys (the order's points and the receipt), opens
their points page from the menu, exchanges points for a coupon, and finds it among their coupons.

Screenshots go to test-artifacts/pages/ (points-*.png): look at them.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests

from infra.local.wechat_sim import WeChat
from tests.conftest import wait_for
from tests.h5.test_browser import menu_link, phone, post, put  # noqa: F401 - `phone`: its fixture

pytestmark = pytest.mark.e2e
sim = WeChat()  # `make run` uses the sandbox account's token


def balance(stack: Any, openid: str) -> int:
    token = requests.get(f"{stack.url}/auth/wechat", params={"code": f"openid:{openid}"}, timeout=10).json()
    seen = requests.get(
        f"{stack.url}/points", headers={"Authorization": f"Bearer {token['token']}"}, timeout=10
    )
    return seen.json()["balance"]


def test_scan_buy_exchange_on_the_points_page_and_find_the_coupon(stack, phone):  # noqa: F811
    openid = f"o-pts-{uuid.uuid4().hex[:8]}"
    store_id = f"pts{uuid.uuid4().hex[:8]}"
    # Given a store with a table card worth 20 points, and a coupon on sale for 100 points
    put(
        stack,
        f"/admin/stores/{store_id}",
        {"name": "南京西路店", "welcome": "欢迎光临南京西路店！"},
        status=201,
    )
    card = post(
        stack, "/admin/qrcodes", {"store_id": store_id, "purpose": "points", "points": 20}, status=201
    )
    campaign_id = f"pts-{uuid.uuid4().hex[:8]}"
    put(
        stack,
        f"/admin/coupon-campaigns/{campaign_id}",
        {
            "title": "积分兑换 立减20元",
            "discount_cents": 2000,
            "valid_from": "2020-01-01",
            "valid_to": "2099-12-31",
            "total_limit": 100,
            "per_customer_limit": 5,
            "points_cost": 100,
        },
        status=201,
    )
    # When WeChat delivers the customer's follow through the card
    path, body = sim.request(sim.event(openid, "subscribe", f"qrscene_{card['scene']}"), openid=openid)
    answer = requests.post(stack.url + path, data=body, headers={"Content-Type": "text/xml"}, timeout=10)
    assert answer.status_code == 200, answer.text
    # Then the reply is the store's welcome, the points and the balance
    assert sim.open_reply(answer.text)["Content"] == "欢迎光临南京西路店！\n扫码积分 +20，当前积分 20。"
    # And an order of ¥150.00 at the store credits 150 points and sends a receipt
    order = {
        "order_id": f"SO-{uuid.uuid4().hex[:8]}",
        "openid": openid,
        "store_id": store_id,
        "items": [{"sku": "TEA-1", "qty": 3, "price_cents": 5000}],
        "total_cents": 15000,
    }
    post(stack, "/admin/orders", order, status=201)
    assert wait_for(lambda: balance(stack, openid) == 170, timeout=90, every=0.5)

    def receipt() -> dict | None:
        found = [m for m in stack.sandbox_messages(openid) if m.get("template_id") == "TPL_RECEIPT_SANDBOX"]
        return found[0] if found else None

    sent = wait_for(receipt, timeout=90, every=0.5)
    assert sent and sent["data"]["thing1"]["value"] == "南京西路店"
    assert (sent["data"]["amount2"]["value"], sent["data"]["number3"]["value"]) == ("¥150.00", "150")
    assert sent["data"]["number4"]["value"] == "170"

    # When the customer opens their points page from the menu
    page = phone.page
    phone.sign_in(menu_link(stack, "积分兑券"), openid)
    phone.heading("我的积分")
    assert page.inner_text(".points__figure") == "170"
    phone.shot("points-01-page")
    # And exchanges 100 points for the coupon
    offer = page.locator("section.coupon", has_text="积分兑换 立减20元")
    offer.get_by_role("button", name="兑换").click()
    page.get_by_text("兑换成功").wait_for()
    assert page.inner_text(".points__figure") == "70"
    phone.shot("points-02-exchanged")
    # Then the coupon is among their coupons, with its code
    page.get_by_role("link", name="我的优惠券").click()
    phone.heading("我的优惠券")
    assert "积分兑换 立减20元" in page.inner_text("main")
    assert re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", page.inner_text(".coupon__code"))
    phone.shot("points-03-coupons")
    # And their share page shows the code that follows the account
    page.go_back()
    phone.heading("我的积分")
    page.get_by_role("link", name=re.compile("我的邀请码")).click()
    phone.heading("好友邀请你关注")
    page.locator("svg.qr").wait_for()
    phone.shot("points-04-share")
