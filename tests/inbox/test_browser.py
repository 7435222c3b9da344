"""The inbox in a real browser at a laptop's size (1280 x 800), against its own `make run` with
INBOX_ESCALATE_MIN=1: a follower of the store asks through `wechat_sim`; the store's operator
(made with `make operator`) finds the question in their inbox, reads the customer's context
beside it, sees the 48-hour window, answers, and the answer reaches the WeChat sandbox; then
closes the conversation. A second follower's question, left unanswered, is escalated by the
stack's own schedule: the admin finds it in HQ's queue, and the overview counts it.

Each page is saved under test-artifacts/console/ (look at them). The browser setup is
tests/console/test_browser.py's."""

from __future__ import annotations

import subprocess
import uuid
from typing import Any

import pytest

from tests.conftest import ROOT, start_stack, stop_stack, wait_for
from tests.console.test_browser import page, shot  # noqa: F401 - a fixture, and its screenshots
from tests.inbox.test_e2e import admin, wechat_sim

pytestmark = pytest.mark.e2e

PASSWORD = "inbox console password"


@pytest.fixture(scope="module")
def stack() -> Any:
    """A `make run` whose conversations escalate after one minute, so its schedule shows it."""
    running = start_stack({"INBOX_ESCALATE_MIN": "1"})
    yield running
    stop_stack(running.process)


def make_operator(stack: Any, name: str, *role: str) -> None:
    done = subprocess.run(
        ["make", "-s", "operator", f"NAME={name}", f"PASSWORD={PASSWORD}", *role],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr + done.stdout


def sign_in(tab: Any, url: str, name: str) -> None:
    tab.goto(f"{url}/console/login")
    tab.get_by_label("用户名").fill(name)
    tab.get_by_label("密码").fill(PASSWORD)
    with tab.expect_navigation():
        tab.get_by_role("button", name="登录").click()


def test_a_store_operator_answers_a_customer_in_the_browser(stack, page):  # noqa: F811
    # Given the store, a follower won by its staff member, an order, and their question
    tag = uuid.uuid4().hex[:6]
    store_id, openid = f"qd-{tag}", f"o-inbox-{tag}"
    admin(stack, "PUT", f"/admin/stores/{store_id}", {"name": "青岛崂山店", "welcome": "欢迎"}, status=201)
    scene = admin(stack, "POST", "/admin/qrcodes", {"store_id": store_id, "staff_id": "wang-li"}, status=201)
    wechat_sim(stack, "subscribe", openid, "--scene", scene["scene"])
    items = [{"sku": "FRIDGE-BCD", "qty": 1, "price_cents": 399900}]
    order = {"order_id": f"SO-{tag}", "openid": openid, "items": items, "total_cents": 399900}
    admin(stack, "POST", "/admin/orders", order, status=201)
    wechat_sim(stack, "text", openid, "冰箱什么时候到？我周六上午在家")
    waiting = f"o-wait-{tag}"  # another follower of the store, whose question nobody answers
    wechat_sim(stack, "subscribe", waiting, "--scene", scene["scene"])
    wechat_sim(stack, "text", waiting, "洗衣机的保修是多久？")
    make_operator(stack, f"store-{tag}", "ROLE=store", f"STORE={store_id}")
    make_operator(stack, f"boss-{tag}")

    # The operator's inbox: the question, newest first, with how long the customer has waited
    sign_in(page, stack.url, f"store-{tag}")
    page.get_by_role("link", name="客服消息").click()
    page.get_by_role("heading", name="客服消息").wait_for()
    row = page.locator("tr", has_text=openid)
    assert "冰箱什么时候到" in row.inner_text()
    shot(page, "20-inbox")
    # The conversation, with the customer beside it and the window left
    with page.expect_navigation():
        row.get_by_role("link", name="打开").click()
    context = page.get_by_role("complementary", name="顾客信息")
    assert "青岛崂山店" in context.inner_text() and f"SO-{tag}" in context.inner_text()
    assert "回复窗口还剩" in page.get_by_role("note").inner_text()
    page.get_by_label("回复").fill("您好，冰箱周六上午 9 点到 12 点送到，请保持电话畅通。")
    shot(page, "21-conversation")
    with page.expect_navigation():
        page.get_by_role("button", name="发送回复").click()
    assert "正在通过微信客服消息发送" in page.get_by_role("status").inner_text()

    def sent() -> list[dict]:
        return [m for m in stack.sandbox_messages(openid) if m["kind"] == "custom"]

    assert wait_for(sent, timeout=60)[0]["text"]["content"].startswith("您好，冰箱周六上午")
    page.reload()
    assert page.locator(".message_staff").count() == 1
    wait_for(lambda: page.reload() or "已发送" in page.locator(".message_staff").inner_text(), timeout=30)
    shot(page, "22-answered")
    with page.expect_navigation():
        page.get_by_role("button", name="关闭会话").click()
    assert "会话已关闭" in page.get_by_role("status").inner_text()
    assert page.errors == []  # type: ignore[attr-defined]
    # Another store's inbox is not theirs (nor HQ's)
    assert page.goto(f"{stack.url}/console/inbox?store_id=hq").status == 403
    shot(page, "23-not-yours", full=False)
    page.errors.clear()  # type: ignore[attr-defined] - the 403 itself

    # Left unanswered for a minute, the second question is escalated by the stack's schedule
    def escalated() -> bool:
        queue = admin(stack, "GET", "/admin/inbox?status=escalated")["conversations"]
        return any(c["openid"] == waiting for c in queue)

    assert wait_for(escalated, timeout=300, every=2)
    # An admin: HQ's queue, and the overview's service figures
    page.context.clear_cookies()
    sign_in(page, stack.url, f"boss-{tag}")
    service = page.locator("section.card", has=page.get_by_role("heading", name="客服响应"))
    [store_row] = [r for r in service.locator("tbody tr").all_inner_texts() if "青岛崂山店" in r]
    assert store_row.split("\t")[1] == "1" and store_row.split("\t")[-1] == "1", store_row
    service.scroll_into_view_if_needed()
    shot(page, "24-overview-service", full=False)
    page.goto(f"{stack.url}/console/inbox")
    page.get_by_role("heading", name="客服消息").wait_for()
    queued = page.locator("tr", has_text=waiting)
    assert "青岛崂山店" in queued.inner_text() and "洗衣机的保修是多久" in queued.inner_text()
    shot(page, "25-hq-queue")
    assert page.errors == []  # type: ignore[attr-defined]
