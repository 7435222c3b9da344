"""The console's inbox pages (chalice.test.Client, cookies kept): a store operator works their
store's conversations with the customer's context beside them; an admin sees HQ's queue and the
overview's service figures. Who may open which page: tests/console/test_roles.py."""

from __future__ import annotations

import json
from datetime import timedelta

from functions.core import clock, txn
from functions.inbox import domain
from functions.notifications.domain import get_notification
from tests.callback.stories import ADMIN
from tests.console.conftest import Browser, put_operator
from tests.inbox.conftest import ask, follower


def test_a_store_operator_answers_a_question_with_the_customer_beside_it(client, store):
    # Given a customer won by the store's staff member, with an order, who asks a question
    openid = follower(client, store, staff_id="wang")
    order = {
        "order_id": f"SO-{openid}",
        "openid": openid,
        "items": [{"sku": "FRIDGE", "qty": 1, "price_cents": 399900}],
        "total_cents": 399900,
    }
    assert client.http.post("/admin/orders", headers=ADMIN, body=json.dumps(order)).status_code in (200, 201)
    ask(client, openid, "冰箱什么时候到")
    device = Browser(client)
    device.login(put_operator(client, ADMIN, role="store", store_id=store))
    # When the operator opens the inbox: the conversation is there
    listing = device.get("/console/inbox")
    assert listing.status == 200 and openid in listing.text and "冰箱什么时候到" in listing.text
    cid = domain.conversation_id(store, openid)
    page = device.get(f"/console/inbox/{cid}")
    # Then the customer's context is beside it, and the window's time left
    assert f"SO-{openid}" in page.text and "3999.00" in page.text and "wang" in page.text
    assert "回复窗口还剩" in page.text and "47 小时" in page.text
    # And a reply goes out through the queue
    answer = device.post(f"/console/inbox/{cid}/replies", {"csrf_token": page.csrf, "text": "明天上午送到"})
    assert answer.status == 303
    (staff,) = [m for m in domain.get_conversation(cid).messages if m.sender == "staff"]
    assert staff.text == "明天上午送到" and staff.operator
    assert get_notification(staff.notification_id)["kind"] == "inbox_reply"
    # A question asked 49 hours ago: the form is off and a reply is refused with the reason
    old = follower(client, store)
    clock.set_now(clock.now() - timedelta(hours=49))
    txn.run(domain.intake(store, domain.Incoming(old, "text", "k1", text="还在吗"))[1])
    clock.set_now(None)
    late = domain.conversation_id(store, old)
    later = device.get(f"/console/inbox/{late}")
    assert "已超过 48 小时" in later.text
    refused = device.post(f"/console/inbox/{late}/replies", {"csrf_token": later.csrf, "text": "抱歉"})
    assert refused.status == 409 and "48 小时" in refused.text


def test_an_admin_sees_hq_queue_and_the_service_figures(client, store, admin):
    openid = follower(client, store)
    ask(client, openid, "有人吗")
    clock.set_now(clock.now() + timedelta(minutes=31))
    domain.escalate_overdue()
    queue = admin.get("/console/inbox")
    assert queue.status == 200 and openid in queue.text and "总部队列" in queue.text
    overview = admin.get("/console/")
    assert "客服响应" in overview.text and "升级到总部" in overview.text
