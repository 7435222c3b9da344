"""The warranty and after-sales pages through the handlers (chalice.test.Client on moto): what the
product's printed code opens, registering in one tap, the e-warranty card, the invitation to
follow, and opening a repair request."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.h5.conftest import uid
from tests.h5.test_pages import assert_page


@pytest.fixture
def unit(aws):
    """`unit(months)`: a manufactured unit of a fresh product: (serial, sku)."""
    from functions.reminders.products import Product, put_product
    from functions.warranty import serials

    def make(months: int | None = 12, name: str = "海尔空调 KFR-35") -> tuple[str, str]:
        sku = uid("AC")
        put_product(Product(sku=sku, name=name, replenish_days=None, warranty_months=months))
        serial = f"SN{uuid.uuid4().hex[:12].upper()}"
        serials.add_serials(sku, [serial])
        return serial, sku

    return make


def follow(openid: str) -> None:
    from functions.core import clock, txn
    from functions.customers.domain import follow_ops

    txn.run(follow_ops(openid, clock.iso(clock.now())))


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def test_the_printed_code_opens_a_one_tap_registration_and_then_the_card(phone, sandbox, unit):
    from functions.warranty import serials

    serial, sku = unit(months=12)
    me = uid("o")
    follow(me)
    device = phone(me)
    # The code a scanner or a person gives: full-width, spaced, lower case
    typed = full_width(serial[:6].lower()) + " " + serial[6:]
    page = device.get(f"/h5/warranty?sn={typed}")
    assert_page(page)
    assert "登记保修" in page.text and serial in page.text and "海尔空调 KFR-35" in page.text
    assert "关注公众号" not in page.text  # a follower is not invited again
    done = device.post("/h5/warranty", {"csrf_token": page.csrf, "sn": typed, "purchased_on": ""})
    assert done.status == 303 and done.path() == f"/h5/warranty?sn={serial}&done=registered"
    assert serials.get_unit(serial).openid == me
    card = device.get(done.path())
    assert_page(card)
    assert "登记成功" in card.text and "保修期内" in card.text and "电子保修卡" in card.text
    assert re.search(r"保修至</span><span class=\"cell__bd\">\d{4}年\d{1,2}月\d{1,2}日", card.text)
    # Sent twice (a reload, a double tap): still mine, still the card
    again = device.post("/h5/warranty", {"csrf_token": page.csrf, "sn": serial})
    assert again.status == 303
    # My cards, without a serial
    mine = device.get("/h5/warranty")
    assert_page(mine)
    assert serial in mine.text and f'href="/h5/service?sn={serial}"' in mine.text


def test_a_customer_not_following_is_invited_with_the_accounts_code(phone, sandbox, unit):
    serial, _ = unit()
    device = phone(uid("o"))  # signed in through the page, never followed
    page = device.get(f"/h5/warranty?sn={serial}")
    assert_page(page)
    assert "关注公众号" in page.text and '<svg role="img" aria-label="关注公众号二维码"' in page.text
    # One permanent code of the account (scene `warranty`), created once for every page
    device.get(f"/h5/warranty?sn={serial}")
    created = [c for c in sandbox.state.qrcodes if c["action_info"]["scene"]["scene_str"] == "warranty"]
    assert len(created) <= 1
    assert created == [] or created[0]["action_name"] == "QR_LIMIT_STR_SCENE"


def test_another_customers_unit_an_unknown_one_and_a_purchase_date(phone, sandbox, unit):
    from functions.warranty import serials

    serial, _ = unit(months=6)
    owner, other = uid("o"), uid("o")
    serials.register(owner, serial)
    taken = phone(other).get(f"/h5/warranty?sn={serial}")
    assert_page(taken, 409)
    assert "这个产品已被登记" in taken.text
    unknown = phone(other).get("/h5/warranty?sn=NO-SUCH-UNIT")
    assert_page(unknown, 404)
    assert "找不到这个产品" in unknown.text
    unreadable = phone(other).get("/h5/warranty?sn=%3Cscript%3E")
    assert_page(unreadable, 404)

    fresh, _ = unit(months=6)
    device = phone(other)
    page = device.get(f"/h5/warranty?sn={fresh}")
    future = device.post("/h5/warranty", {"csrf_token": page.csrf, "sn": fresh, "purchased_on": "2999-01-01"})
    assert_page(future, 422)
    assert serials.get_unit(fresh).openid is None
    bad = device.post("/h5/warranty", {"csrf_token": page.csrf, "sn": fresh, "purchased_on": "2025-02-30"})
    assert_page(bad, 400)
    dated = device.post("/h5/warranty", {"csrf_token": page.csrf, "sn": fresh, "purchased_on": "2025-01-31"})
    assert dated.status == 303
    card = device.get(dated.path())
    assert "2025年1月31日" in card.text and "2025年7月31日" in card.text
    # Without the CSRF token nothing is registered
    third, _ = unit()
    assert device.post("/h5/warranty", {"sn": third}).status == 403
    assert serials.get_unit(third).openid is None


def test_a_repair_request_is_opened_from_a_registered_product_once(phone, sandbox, unit):
    from functions.warranty import serials, service

    serial, _ = unit()
    me = uid("o")
    serials.register(me, serial)
    device = phone(me)
    page = device.get(f"/h5/service?sn={serial}")
    assert_page(page)
    assert f'value="{serial}" required checked' in page.text
    key = re.search(r'name="request_key" value="([0-9a-f]{32})"', page.text).group(1)
    fields = {"csrf_token": page.csrf, "request_key": key, "sn": serial, "problem": "不制冷"}
    for _ in range(2):  # a double tap
        sent = device.post("/h5/service", fields)
        assert sent.status == 303 and sent.path() == "/h5/service?done=opened"
    [request] = service.requests_of(me)
    assert (request.problem, request.status, request.in_warranty) == ("不制冷", "open", True)
    shown = device.get(sent.path())
    assert_page(shown)
    assert "已提交售后申请" in shown.text and "不制冷" in shown.text and "待安排" in shown.text
    # Another customer cannot open one for my product
    stranger = phone(uid("o"))
    other_page = stranger.get("/h5/service")
    assert "登记保修后即可在这里申请售后" in other_page.text
    csrf = stranger.get("/h5/me").csrf  # a valid token of the stranger's own session
    fields = {"csrf_token": csrf, "request_key": uuid.uuid4().hex, "sn": serial, "problem": "坏了"}
    refused = stranger.post("/h5/service", fields)
    assert_page(refused, 404)
    assert len(service.requests_of(me)) == 1


def test_the_me_page_links_to_warranty_and_service(phone, sandbox):
    page = phone(uid("o")).get("/h5/me")
    assert 'href="/h5/warranty"' in page.text and 'href="/h5/service"' in page.text


def test_the_warranty_links_are_pages():
    from app import app
    from functions.core import links
    from tests.h5.test_links import served

    for url in (links.warranty("SN1"), links.service()):
        assert served(app, url), url
