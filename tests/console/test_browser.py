"""The ops console in a real browser: Debian's chromium driven by Playwright at a laptop's size
(1280 x 800), against `make run` with `make demo`'s journey played on it. An admin created with
`make operator` signs in, sees the demo store's follower, booking and redemption on the
overview's charts, creates a staff member's QR code, prints its counter card (print media, A6),
and redrives a dead-letter queue.

Each page is saved under test-artifacts/console/ (look at them). No page may log a console
error (a blocked QR picture would). The browser is tests/chromium.py's.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.conftest import ROOT, wait_for

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "test-artifacts" / "console"
PASSWORD = "demo console password"


@pytest.fixture(scope="module")
def demo_played(stack: Any) -> Any:
    """`make demo`'s whole journey on the stack: a store, a staff QR code, a follower, a booking,
    a redemption; and the first admin, made with `make operator`."""
    done = subprocess.run(
        ["make", "-s", "demo"], cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr + done.stdout[-3000:]
    made = subprocess.run(
        ["make", "-s", "operator", "NAME=boss", f"PASSWORD={PASSWORD}"],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0 and "/console/login" in made.stdout, made.stderr + made.stdout
    store_id = re.search(r"/admin/stores/(sh-jingan-[0-9a-f]+)", done.stdout).group(1)
    return store_id


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.set_default_timeout(30_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.errors = errors  # type: ignore[attr-defined]
    yield tab
    context.close()


def shot(page: Any, name: str, full: bool = True) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)


def sign_in(page: Any, url: str) -> None:
    page.goto(f"{url}/console/")
    page.get_by_label("用户名").fill("boss")
    page.get_by_label("密码").fill(PASSWORD)
    shot(page, "00-sign-in", full=False)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="总览").wait_for()


def test_an_admin_sees_the_demo_on_the_charts_prints_a_card_and_redrives_a_queue(stack, demo_played, page):
    store_id = demo_played
    sign_in(page, stack.url)
    # The overview: the demo store's funnel and lines are drawn, with its Chinese name
    page.get_by_role("img", name="上海静安店 · 转化漏斗").first.wait_for()
    assert page.locator("svg.chart").count() >= 5
    section = page.locator("section.card", has=page.get_by_role("heading", name=re.compile("上海静安店")))
    totals = section.locator("table.numbers").first.inner_text()
    for label in ("新关注\t1", "预约\t1", "核销\t1"):
        assert label in totals, totals
    assert "zhang-wei" in page.locator("section.card", has_text="员工排行").inner_text()
    shot(page, "01-overview")
    # The store page: a new code for a named staff member, then its counter card
    page.goto(f"{stack.url}/console/stores/{store_id}")
    page.get_by_label("员工编号（可不填）").fill("li-na")
    page.get_by_label("员工姓名（印在柜台卡上）").fill("李娜")
    shot(page, "02-store", full=True)
    with page.expect_navigation():
        page.get_by_role("button", name="生成二维码").click()
    card = page.locator("article.counter-card")
    card.wait_for()
    picture = card.get_by_role("img")
    wait_for(lambda: picture.evaluate("i => i.complete && i.naturalWidth > 0"), timeout=15)
    assert "服务顾问：李娜" in card.inner_text() and "上海静安店" in card.inner_text()
    shot(page, "03-card-screen", full=False)
    page.emulate_media(media="print")
    assert page.locator("header.top").is_hidden()
    size = card.bounding_box()
    assert abs(size["width"] - 105 / 25.4 * 96) < 2 and abs(size["height"] - 148 / 25.4 * 96) < 2  # A6
    shot(page, "04-card-print", full=False)
    (ARTIFACTS / "card.pdf").write_bytes(page.pdf(prefer_css_page_size=True))
    page.emulate_media(media="screen")
    # A message stuck in a dead-letter queue, moved back from the notifications page
    sqs = boto3.client("sqs", endpoint_url=stack.moto_url, region_name="us-east-1")
    dlq = sqs.get_queue_url(QueueName="wx-local-reminder-shards-dlq")["QueueUrl"]
    sqs.send_message(
        QueueUrl=dlq, MessageBody=json.dumps({"date": "2000-01-01", "shard": 0, "id": uuid.uuid4().hex})
    )
    page.goto(f"{stack.url}/console/notifications")
    row = page.locator("tr", has_text="reminder-shards-dlq")
    assert row.locator("strong").inner_text() == "1"
    shot(page, "05-notifications")
    with page.expect_navigation():
        row.get_by_role("button", name="放回重试").click()
    page.get_by_role("status").wait_for()
    assert "已把 1 条消息放回原队列" in page.get_by_role("status").inner_text()
    assert page.locator("tr", has_text="reminder-shards-dlq").locator("strong").inner_text() == "0"
    shot(page, "06-redriven")
    # The rest of the console, for the record
    for name, path in [
        ("07-slots", "/console/slots"),
        ("08-campaigns", "/console/campaigns"),
        ("09-reminders", "/console/reminders"),
        ("10-audit", "/console/audit"),
    ]:
        page.goto(stack.url + path)
        shot(page, name)
    assert "生成二维码" in page.inner_text("body") and "死信放回重试" in page.inner_text("body")
    assert page.errors == []  # type: ignore[attr-defined]
