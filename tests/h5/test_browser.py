"""The customer pages in a real browser: Debian's chromium, driven by Playwright, at a phone's
size with WeChat's user agent, against `make run`. A customer comes in from the account's menu,
signs in through the sandbox's WeChat sign-in page, books, reschedules and cancels, shows a
coupon's QR code, and follows the links of the messages they received.

Each page is saved as a screenshot under test-artifacts/pages/ (look at them). No page may log a
console error. Chromium comes from Debian (`make test` installs it when it can): a missing
browser fails these tests, it never skips them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
import requests

from tests.conftest import ROOT, wait_for

pytestmark = pytest.mark.e2e
# The session's browser is tests/chromium.py's `chromium`, shared with the other browser tests.

WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)
ARTIFACTS = ROOT / "test-artifacts" / "pages"
ADMIN = {"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"}
LOGISTICS_SECRET = b"dev-logistics-secret"


FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")


@dataclass
class Phone:
    """One customer's phone: a fresh browser context at 375 x 667 with WeChat's user agent."""

    page: Any
    errors: list[tuple[str, str]] = field(default_factory=list)  # (text, the URL it is about)
    refused_documents: set[str] = field(default_factory=set)  # pages answered 4xx on purpose

    def console_errors(self) -> list[str]:
        """Console errors, except Chromium's own line for a page whose status is a 4xx by design
        (a 404 page, the 409 of a slot taken meanwhile): a stylesheet, a script or a policy
        failing is still an error."""
        return [
            text
            for text, url in self.errors
            if not (FAILED_LOAD.match(text) and url in self.refused_documents)
        ]

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        # What the screen shows (the tab bar stays at the bottom; a full-page shot would float it)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    def heading(self, text: str) -> None:
        """Wait until the page says `text` in a heading."""
        self.page.get_by_role("heading", name=text, exact=True).first.wait_for()

    def sign_in(self, url: str, openid: str) -> None:
        """Open `url`; WeChat's sign-in (the sandbox's page) asks who this is; answer `openid`."""
        self.page.goto(url)
        self.page.locator("input[name=openid]").wait_for()
        self.shot("00-sandbox-sign-in")
        self.page.fill("input[name=openid]", openid)
        with self.page.expect_navigation(url=re.compile(r"/h5/"), wait_until="load"):
            self.page.get_by_role("button", name="登录").click()


@pytest.fixture
def phone(chromium: Any) -> Iterator[Phone]:
    context = chromium.new_context(
        viewport={"width": 375, "height": 667}, user_agent=WECHAT_UA, locale="zh-CN", is_mobile=True
    )
    context.set_default_timeout(30_000)
    context.set_default_navigation_timeout(60_000)
    page = context.new_page()
    device = Phone(page)

    def console(message: Any) -> None:
        if message.type == "error":
            device.errors.append((message.text, message.location.get("url", "")))

    def response(answer: Any) -> None:
        if answer.request.resource_type == "document" and 400 <= answer.status < 500:
            device.refused_documents.add(answer.url)

    page.on("console", console)
    page.on("response", response)
    page.on("pageerror", lambda error: device.errors.append((str(error), "")))
    yield device
    context.close()
    assert device.console_errors() == [], "console errors on the pages"


# -- the stack's data, set up as ops and the carriers do ---------------------------------


def put(stack: Any, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = requests.put(f"{stack.url}{path}", headers=ADMIN, data=json.dumps(body), timeout=10)
    assert response.status_code == status, response.text
    return response.json()


def post(stack: Any, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = requests.post(f"{stack.url}{path}", headers=ADMIN, data=json.dumps(body), timeout=10)
    assert response.status_code == status, response.text
    return response.json()


WINDOWS = ("09:00-12:00", "13:00-17:00")


def open_windows(stack: Any, area: str, ahead: int, capacities: tuple[int, int] = (2, 2)) -> None:
    day = (date.today() + timedelta(days=ahead)).isoformat()
    windows = [{"window": w, "capacity": c} for w, c in zip(WINDOWS, capacities, strict=True)]
    put(stack, "/admin/slots", {"area": area, "date": day, "windows": windows})


def area_with_slots(stack: Any, name: str) -> str:
    area = f"area-{uuid.uuid4().hex[:8]}"
    put(stack, f"/admin/areas/{area}", {"name": name})
    for ahead in (2, 3):
        open_windows(stack, area, ahead)
    return area


def order(stack: Any, openid: str, area: str | None, tracking_no: str) -> str:
    order_id = f"SO-{uuid.uuid4().hex[:8]}"
    body = {
        "order_id": order_id,
        "openid": openid,
        "items": [{"sku": "WASHER-9", "qty": 1, "price_cents": 399900}],
        "total_cents": 399900,
        "shipment": {"carrier": "shunfeng", "tracking_no": tracking_no},
        **({"area": area} if area else {}),
    }
    post(stack, "/admin/orders", body, status=201)
    return order_id


def logistics_event(stack: Any, tracking_no: str, status: str, detail: str, hours_ago: int) -> None:
    from functions.core import clock

    moment = clock.iso(clock.now() - timedelta(hours=hours_ago))
    event = {
        "event_id": uuid.uuid4().hex,
        "carrier": "shunfeng",
        "tracking_no": tracking_no,
        "status": status,
        "occurred_at": moment,
        "location": "上海市静安区",
        "detail": detail,
    }
    raw = json.dumps(event, ensure_ascii=False).encode()
    signature = "sha256=" + hmac.new(LOGISTICS_SECRET, raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Signature": signature}
    response = requests.post(f"{stack.url}/logistics/events", data=raw, headers=headers, timeout=10)
    assert response.status_code == 202, response.text


def message_link(stack: Any, openid: str, template: str, needle: str) -> str:
    """The link of the message of `template` whose link contains `needle`, once it was sent."""

    def found() -> str | None:
        for message in stack.sandbox_messages(openid):
            if message.get("template_id") == template and needle in message.get("url", ""):
                return message["url"]
        return None

    url = wait_for(found, timeout=90, every=0.5)
    assert url, f"no {template} message linking to {needle} for {openid}"
    return url


def menu_link(stack: Any, name: str) -> str:
    menu = requests.get(f"{stack.sandbox_url}/sandbox/menu", timeout=5).json()["menu"]
    for button in menu["button"]:
        for sub in button.get("sub_button", [button]):
            if sub.get("name") == name:
                return sub["url"]
    raise AssertionError(f"no menu button {name}")


# -- the journeys --------------------------------------------------------------------------


def test_from_the_menu_a_customer_books_reschedules_and_cancels(stack, phone):
    openid = f"o-web-{uuid.uuid4().hex[:8]}"
    area = area_with_slots(stack, "静安区")
    order_id = order(stack, openid, area, f"SF{uuid.uuid4().hex[:10].upper()}")
    page = phone.page

    # The menu's button opens WeChat's sign-in, which comes back signed in (twice through the
    # sandbox: a menu link cannot carry a state of ours, so the sign-in starts once more, silently)
    phone.sign_in(menu_link(stack, "预约/改期"), openid)
    phone.heading("我的预约")
    phone.shot("01-bookings")

    page.get_by_role("link", name=re.compile(f"订单 {order_id}")).click()
    phone.heading("送货安装预约")
    assert "静安区" in page.inner_text(".page__desc")
    page.locator("label.check").first.click()
    page.fill("textarea[name=address]", "上海市静安区南京西路1号 3单元 1202")
    page.fill("input[name=phone]", "13800138000")
    phone.shot("02-book")
    # While the form is open, the chosen window fills up (ops close it: capacity 0)
    open_windows(stack, area, 2, capacities=(0, 2))
    page.get_by_role("button", name="确认预约").click()
    phone.heading("这个时段刚刚约满了")
    phone.shot("02-slot-full")
    # The page offers the next free slot: one tap books it, with the address and phone kept
    page.get_by_role("button", name="约这个时段").click()
    phone.heading("预约成功")
    phone.shot("03-booked")
    booked_when = page.inner_text(".cells .cell:nth-child(2) .cell__bd")

    page.get_by_role("link", name="改期").click()
    phone.heading("改期")
    phone.shot("04-reschedule")
    page.locator("label.check").last.click()
    page.get_by_role("button", name="确认改期").click()
    phone.heading("改期成功")
    moved_when = page.inner_text(".cells .cell:nth-child(2) .cell__bd")
    assert moved_when != booked_when

    page.get_by_role("link", name="取消预约").click()
    phone.heading("确定取消预约吗？")
    phone.shot("05-cancel")
    page.get_by_role("button", name="确认取消").click()
    phone.heading("预约已取消")
    phone.shot("06-cancelled")

    # The confirmation message links to the booking's page
    url = message_link(stack, openid, "TPL_BOOKING_SANDBOX", "/h5/bookings/")
    page.goto(url)
    phone.heading("预约详情")
    assert "已取消" in page.inner_text(".cells")
    page.get_by_role("link", name="我的预约").last.click()
    phone.heading("我的预约")
    assert "已取消" in page.inner_text("main")


def test_a_coupon_shows_its_code_as_a_qr_code_that_scans_back_to_it(stack, phone):
    import zxingcpp
    from PIL import Image

    openid = f"o-web-{uuid.uuid4().hex[:8]}"
    campaign = f"web-{uuid.uuid4().hex[:8]}"
    today = date.today()
    put(
        stack,
        f"/admin/coupon-campaigns/{campaign}",
        {
            "title": "满100减20",
            "discount_cents": 2000,
            "min_spend_cents": 10000,
            "valid_from": today.isoformat(),
            "valid_to": (today + timedelta(days=30)).isoformat(),
            "total_limit": 100,
            "per_customer_limit": 1,
        },
        status=201,
    )
    [issued] = post(stack, f"/admin/coupon-campaigns/{campaign}/issue", {"openids": [openid]})["results"]
    code = issued["code"]

    # The coupon message's link opens the coupons page
    url = message_link(stack, openid, "TPL_COUPON_SANDBOX", "/h5/coupons")
    phone.sign_in(url, openid)
    phone.heading("我的优惠券")
    phone.shot("07-coupons")
    assert phone.page.inner_text(".coupon__code") == code

    # What the POS scanner sees: the QR code as drawn on the screen
    shot = ARTIFACTS / "07-coupon-qr.png"
    phone.page.locator("svg.qr").first.screenshot(path=str(shot))
    decoded = [result.text for result in zxingcpp.read_barcodes(Image.open(shot))]
    assert decoded == [code]


def test_a_failed_delivery_links_to_rebooking_and_the_customer_sets_reminders(stack, phone):
    openid = f"o-web-{uuid.uuid4().hex[:8]}"
    tracking_no = f"SF{uuid.uuid4().hex[:10].upper()}"
    area_with_slots(stack, "浦东新区")
    order_id = order(stack, openid, None, tracking_no)  # an order that names no area
    logistics_event(stack, tracking_no, "picked_up", "【深圳市】顺丰速运 已收取快件", hours_ago=30)
    logistics_event(stack, tracking_no, "in_transit", "快件已到达【上海浦东集散中心】", hours_ago=8)
    logistics_event(stack, tracking_no, "failed_attempt", "收件人不在家，派送未成功", hours_ago=1)

    # The failed attempt's message links to booking a delivery slot for the order
    url = message_link(stack, openid, "TPL_SHIPMENT_SANDBOX", "/h5/book?")
    assert f"order_id={order_id}" in url
    phone.sign_in(url, openid)
    phone.heading("送货安装预约")
    assert order_id in phone.page.inner_text(".page__desc")
    # Its order names no area: the customer first chooses one of the areas that have slots
    page = phone.page
    phone.shot("10-choose-area")
    page.get_by_role("link", name="浦东新区").first.click()
    page.locator("input[name=slot_id]").first.wait_for(state="attached")
    assert "浦东新区" in page.inner_text(".page__desc")

    page.get_by_role("link", name="物流", exact=True).click()
    phone.heading("我的物流")
    assert "派送未成功" in page.inner_text("main")
    phone.shot("08-shipments")
    page.get_by_role("link", name="重新预约送货").click()
    phone.heading("送货安装预约")

    page.get_by_role("link", name="我的", exact=True).click()
    phone.heading("我的")
    page.get_by_role("button", name="开启").click()
    page.get_by_text("已开启补货提醒").wait_for()
    phone.shot("09-me")


def test_a_customer_scans_the_printed_code_registers_the_product_and_asks_for_a_repair(stack, phone):
    # Given a unit of a product with a two-year warranty, and a customer who does not follow yet
    sku, serial = f"AC-{uuid.uuid4().hex[:6]}", f"SN{uuid.uuid4().hex[:10].upper()}"
    put(stack, f"/admin/products/{sku}", {"name": "海尔空调 KFR-35", "warranty_months": 24})
    post(stack, "/admin/serials", {"sku": sku, "serials": [serial]}, status=201)
    openid = f"o-web-{uuid.uuid4().hex[:8]}"
    page = phone.page

    # The printed code opens the warranty page (the serial as a label prints it: lower case)
    phone.sign_in(f"{stack.url}/h5/warranty?sn={serial.lower()}", openid)
    phone.heading("登记保修")
    assert serial in page.inner_text("form")
    # Not following: the page invites them, with the account's code drawn on the page
    page.locator("svg.qr").wait_for()
    phone.shot("11-warranty-register")
    page.get_by_role("button", name="登记保修").click()
    phone.heading("登记成功")
    card = page.inner_text(".warranty")
    assert "保修期内" in card and serial in card and "海尔空调 KFR-35" in card
    phone.shot("12-warranty-card")

    # From the card, a repair request
    page.get_by_role("link", name="申请售后").click()
    phone.heading("售后服务")
    page.fill("textarea[name=problem]", "空调不制冷")
    phone.shot("13-service")
    page.get_by_role("button", name="提交申请").click()
    page.get_by_text("已提交售后申请").wait_for()
    assert "空调不制冷" in page.inner_text("main") and "待安排" in page.inner_text("main")

    # The 我的 tab leads back to the cards
    page.get_by_role("link", name="我的", exact=True).click()
    page.get_by_role("link", name=re.compile("我的保修")).click()
    phone.heading("我的保修")
    assert serial in page.inner_text("main")
