"""End to end over HTTP against `make run`: a follower of a store writes through `wechat_sim` (as
WeChat relays it), the question appears in the store's inbox, the answer reaches the WeChat
sandbox as `message/custom/send`, and a follower WeChat's window has closed for gets
`failed:window_closed`. The escalation schedule is a function of the stack."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
import requests

from tests.conftest import ROOT, wait_for

pytestmark = pytest.mark.e2e

ADMIN = {"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"}


def admin(stack, method: str, path: str, body: dict | None = None, status: int = 200) -> dict:
    response = requests.request(
        method, f"{stack.url}{path}", headers=ADMIN, data=json.dumps(body) if body else None, timeout=10
    )
    assert response.status_code == status, response.text
    return response.json()


def wechat_sim(stack, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "infra.local.wechat_sim", *args],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def test_a_question_reaches_the_store_and_its_answer_reaches_wechat(stack):
    # Given a store and a follower won by its code
    store_id, openid = f"st-e2e-{uuid.uuid4().hex[:8]}", f"o-e2e-{uuid.uuid4().hex[:8]}"
    admin(stack, "PUT", f"/admin/stores/{store_id}", {"name": "青岛店", "welcome": "欢迎"}, status=201)
    scene = admin(stack, "POST", "/admin/qrcodes", {"store_id": store_id}, status=201)["scene"]
    wechat_sim(stack, "subscribe", openid, "--scene", scene)
    # When they ask something no keyword answers (safe mode, as the account is set up)
    assert json.loads(wechat_sim(stack, "text", openid, "冰箱什么时候到", "--mode", "aes")) == "success"
    # Then it is in the store's inbox
    [conversation] = admin(stack, "GET", f"/admin/inbox?store_id={store_id}&status=open")["conversations"]
    assert conversation["openid"] == openid
    assert [m["text"] for m in conversation["messages"]] == ["冰箱什么时候到"]
    # And the store's answer reaches WeChat as a customer-service message, through the queue
    cid = conversation["conversation_id"]
    reply = admin(stack, "POST", f"/admin/inbox/{cid}/replies", {"text": "明天上午送到"}, status=202)

    def custom_sent() -> list[dict]:
        return [m for m in stack.sandbox_messages(openid) if m["kind"] == "custom"]

    sent = wait_for(custom_sent, timeout=60)
    assert sent[0]["msgtype"] == "text" and sent[0]["text"]["content"] == "明天上午送到"
    status = wait_for(
        lambda: admin(stack, "GET", f"/admin/notifications/{reply['notification_id']}")["status"] == "sent",
        timeout=30,
    )
    assert status
    # Closed, and the next question reopens it with the same id
    assert admin(stack, "POST", f"/admin/inbox/{cid}/close")["status"] == "closed"
    wechat_sim(stack, "text", openid, "还有一个问题")
    [again] = admin(stack, "GET", f"/admin/inbox?store_id={store_id}")["conversations"]
    assert again["conversation_id"] == cid and again["status"] == "open"
    # The escalation schedule runs as a function of the stack
    assert '"escalated"' in stack.invoke("inbox_escalation")


def test_an_answer_wechat_refuses_with_45015_ends_failed_window_closed(stack):
    # A follower whose last message WeChat dates beyond 48 hours (the sandbox is told so)
    openid = f"o-e2e-{uuid.uuid4().hex[:8]}"
    wechat_sim(stack, "text", openid, "在吗")
    requests.post(
        f"{stack.sandbox_url}/sandbox/interactions", json={"openid": openid, "at": 1_000_000}, timeout=5
    ).raise_for_status()
    [conversation] = [
        c for c in admin(stack, "GET", "/admin/inbox?store_id=hq")["conversations"] if c["openid"] == openid
    ]
    reply = admin(
        stack, "POST", f"/admin/inbox/{conversation['conversation_id']}/replies", {"text": "在的"}, 202
    )
    path = f"/admin/notifications/{reply['notification_id']}"
    assert wait_for(lambda: admin(stack, "GET", path)["status"] == "failed:window_closed", timeout=60)
