"""The segments page in a real browser (chromium at 1280 x 800, as tests/console) against
`make run`: an admin defines a WeChat-tagged segment with the form, its members are computed in
the background from real follows and orders, and the tag's sync shows. Screenshots go to
test-artifacts/segments/ (look at them)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.conftest import ROOT, wait_for
from tests.console.test_browser import page  # noqa: F401 - a fixture
from tests.segments.test_e2e import ADMIN, _event

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "test-artifacts" / "segments"
PASSWORD = "segments console password"


def shot(tab: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_an_admin_defines_a_tagged_segment_and_watches_it_fill(stack, page):  # noqa: F811
    username, sku = f"seg-admin-{uuid.uuid4().hex[:6]}", f"FILTER-{uuid.uuid4().hex[:6]}"
    made = requests.put(f"{stack.url}/admin/operators/{username}", headers=ADMIN,
                        json={"password": PASSWORD, "role": "admin"}, timeout=10)  # fmt: skip
    assert made.status_code == 201, made.text
    buyers = [f"o-{uuid.uuid4().hex[:10]}" for _ in range(3)]
    for n, openid in enumerate(buyers):
        _event(stack, openid, "subscribe")
        order = {"order_id": uuid.uuid4().hex, "openid": openid, "total_cents": 19900 * (n + 1),
                 "items": [{"sku": sku, "qty": 1, "price_cents": 19900 * (n + 1)}]}  # fmt: skip
        assert (
            requests.post(f"{stack.url}/admin/orders", headers=ADMIN, json=order, timeout=10).status_code
            == 201
        )
    page.goto(f"{stack.url}/console/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="顾客分群").click()
    page.get_by_role("heading", name="顾客分群").wait_for()
    segment_id = f"filter-buyers-{uuid.uuid4().hex[:4]}"
    page.get_by_label("分群编号").fill(segment_id)
    page.get_by_label("名称（同步到微信标签时最多 30 个字符）").fill(segment_id)
    page.get_by_label("买过商品（SKU）").fill(sku)
    page.get_by_label("累计消费至少（元）").fill("300")
    page.get_by_label("关注中").select_option("yes")
    page.get_by_label("同步为微信标签").check()
    shot(page, "01-form")
    with page.expect_navigation():
        page.get_by_role("button", name="保存分群").click()
    assert "分群已保存" in page.get_by_role("status").inner_text()
    row = page.locator("tr", has_text=segment_id)

    def filled() -> bool:
        page.reload()
        text = row.inner_text()
        return "已完成" in text and "\t2\t" in text

    assert wait_for(filled, timeout=90, every=1), row.inner_text()
    stack.invoke("segment_tag_sync")
    page.reload()
    assert "同步 尚未" not in row.inner_text() and "标签" in row.inner_text()
    assert "累计消费 ≥ 300.00 元" in row.inner_text()
    shot(page, "02-segments")
    assert page.errors == []  # type: ignore[attr-defined]
