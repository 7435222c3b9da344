"""The console's broadcasts in Chromium at 1280 x 800 against `make run`: an admin composes a
broadcast to a segment of buyers with a holdout, the schedule sends it, a recipient buys, and
the broadcast's page draws recipients against holdout. Pages are saved under
test-artifacts/console/ (look at them); no page may log a console error."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from tests.conftest import ROOT, wait_for
from tests.console.test_browser import page, shot  # noqa: F401 - a fixture, and its screenshots
from tests.reminders.test_e2e import ADMIN, _subscribe

pytestmark = pytest.mark.e2e

PASSWORD = "broadcast console password"


def _segment_of_buyers(stack: Any, size: int) -> tuple[str, list[str]]:
    sku, segment_id = f"TEA-{uuid.uuid4().hex[:6]}", f"tea-{uuid.uuid4().hex[:6]}"
    openids = [f"o-bb-{uuid.uuid4().hex[:10]}" for _ in range(size)]
    for openid in openids:
        _subscribe(stack, openid)
        _order(stack, openid, sku, 3900)
    body = {"name": "tea-buyers", "rules": [{"field": "purchased_sku", "op": "eq", "value": sku}]}
    response = requests.put(
        f"{stack.url}/admin/segments/{segment_id}", headers=ADMIN, data=json.dumps(body), timeout=10
    )
    assert response.status_code in (200, 201), response.text
    wait_for(lambda: _admin_get(stack, f"/admin/segments/{segment_id}")["members"] == size, timeout=90)
    return segment_id, openids


def _admin_get(stack: Any, path: str) -> dict:
    return requests.get(f"{stack.url}{path}", headers=ADMIN, timeout=10).json()


def _order(stack: Any, openid: str, sku: str, cents: int) -> None:
    order = {
        "order_id": uuid.uuid4().hex,
        "openid": openid,
        "items": [{"sku": sku, "qty": 1, "price_cents": cents}],
        "total_cents": cents,
        "purchased_at": datetime.now(UTC).isoformat(),
    }
    response = requests.post(f"{stack.url}/admin/orders", headers=ADMIN, data=json.dumps(order), timeout=10)
    assert response.status_code in (200, 201), response.text


def test_an_admin_broadcasts_to_a_segment_and_reads_the_report(stack, page):  # noqa: F811
    segment_id, openids = _segment_of_buyers(stack, 16)
    username = f"bc-{uuid.uuid4().hex[:8]}"
    made = subprocess.run(
        ["make", "-s", "operator", f"NAME={username}", f"PASSWORD={PASSWORD}"],
        cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr + made.stdout
    page.goto(f"{stack.url}/console/broadcasts")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="群发", exact=True).wait_for()
    # Compose: the segment, a text, a 50 % holdout, now
    page.get_by_label("发给哪个人群").select_option(segment_id)
    page.get_by_label("文字内容").fill("新茶到店，凭此消息试饮一杯")
    page.get_by_label("对照组比例（%，0–50）").fill("50")
    shot(page, "20-broadcasts-compose")
    with page.expect_navigation():
        page.get_by_role("button", name="安排群发").click()
    assert "已安排" in page.get_by_role("status").inner_text()
    broadcast_id = page.url.rsplit("/", 1)[1].split("?")[0]
    shot(page, "21-broadcast-scheduled")
    # The schedule sends it (ops' "run it now"); WeChat's counts come back
    stack.invoke("broadcast_sender")

    def view() -> dict:
        return _admin_get(stack, f"/admin/broadcasts/{broadcast_id}")

    wait_for(lambda: view()["status"] == "sent" and view()["sent"] == view()["audience"], timeout=60)
    state = view()
    assert state["audience"] + state["holdout"] == 16 and state["audience"] >= 2 and state["holdout"] >= 1
    # Two recipients and one held-out member buy afterwards
    sends = requests.get(f"{stack.sandbox_url}/sandbox/mass", timeout=5).json()["sends"]
    received = {o for s in sends if s["clientmsgid"].startswith(broadcast_id) for o in s["touser"]}
    held = [o for o in openids if o not in received]
    for openid in [*sorted(received)[:2], held[0]]:
        _order(stack, openid, "TEA-NEXT", 12800)
    # The broadcast's page draws the comparison and gives the numbers
    page.goto(f"{stack.url}/console/broadcasts/{broadcast_id}")
    page.get_by_role("img", name="群发后 7 天内购买的比例").wait_for()
    body = page.inner_text("body")
    assert "已发送" in body and "转化率提升" in body and "95% 置信区间" in body
    assert "256.00" in body and "128.00" in body
    shot(page, "22-broadcast-report")
    page.goto(f"{stack.url}/console/broadcasts")
    assert broadcast_id in page.inner_text("body")
    shot(page, "23-broadcasts-list")
    # And the same comparison for repurchase reminders (none due in this stack: an empty report)
    page.goto(f"{stack.url}/console/reminders/report")
    page.get_by_role("img", name="到期后 7 天内复购的比例").wait_for()
    shot(page, "24-reminders-report")
    assert page.errors == []  # type: ignore[attr-defined]
