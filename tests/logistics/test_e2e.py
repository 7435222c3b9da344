"""End to end over HTTP against `make run`: ops record an order with its shipment, we play
Kuaidi100 pushing the tracking, and the customer's template messages arrive in the sandbox."""

from __future__ import annotations

import time

import pytest
import requests

from tests.logistics.support import FORM_HEADERS, kuaidi100_form, kuaidi100_param, order_body, unique

pytestmark = pytest.mark.e2e

OK = {"result": True, "returnCode": "200", "message": "成功"}


def shipment_messages(stack, openid: str) -> list[dict]:
    """The customer's shipment notices (a recorded order also sends its points receipt)."""
    return [m for m in stack.sandbox_messages(openid) if m.get("client_msg_id", "").startswith("shipment-")]


def wait_for_messages(stack, openid: str, count: int, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    messages: list[dict] = []
    while time.monotonic() < deadline:
        messages = shipment_messages(stack, openid)
        if len(messages) >= count:
            return messages
        time.sleep(0.3)
    return messages


def test_kuaidi100_pushes_reach_the_customer_once_per_status(stack):
    openid, order_id, tracking_no = unique("o-"), unique("ord-"), unique("YT")
    admin = {"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"}

    # Given ops recorded the order with its shipment
    response = requests.post(
        f"{stack.url}/admin/orders",
        headers=admin,
        data=order_body(order_id, openid, "yuantong", tracking_no),
        timeout=10,
    )
    assert response.status_code == 201, response.text

    # When Kuaidi100 pushes "out for delivery", twice (a retry)
    history = [
        ("2024-05-01 08:00:00", "【上海】已揽收", "1"),
        ("2024-05-02 08:30:00", "【上海】快递员正在派件", "5"),
    ]
    form = kuaidi100_form(kuaidi100_param(tracking_no, history, "5"))
    for _ in range(2):
        pushed = requests.post(
            f"{stack.url}/logistics/kuaidi100", headers=FORM_HEADERS, data=form.encode(), timeout=10
        )
        assert pushed.status_code == 200 and pushed.json() == OK
    # (hours pass before the parcel is signed for: a status still unsent by then would be
    # superseded by the newer one, not sent late)
    assert len(wait_for_messages(stack, openid, 1)) == 1

    # And then "signed for"
    history.append(("2024-05-02 11:00:00", "【上海】已签收，签收人：本人", "301"))
    form = kuaidi100_form(kuaidi100_param(tracking_no, history, "3", status="shutdown"))
    pushed = requests.post(
        f"{stack.url}/logistics/kuaidi100", headers=FORM_HEADERS, data=form.encode(), timeout=10
    )
    assert pushed.json() == OK

    # Then the customer's own view shows the status and the whole history
    token = requests.get(f"{stack.url}/auth/wechat", params={"code": f"openid:{openid}"}, timeout=10)
    if token.status_code == 200:
        mine = requests.get(
            f"{stack.url}/shipments", headers={"Authorization": f"Bearer {token.json()['token']}"}, timeout=10
        ).json()
        assert mine[0]["status"] == "delivered"
        assert [h["context"] for h in mine[0]["history"]][0].startswith("【上海】已签收")
        assert len(mine[0]["history"]) == 3

    # And exactly one template message per status change arrives in WeChat
    messages = wait_for_messages(stack, openid, 2)
    time.sleep(1.5)  # nothing more may follow
    messages = shipment_messages(stack, openid)
    statuses = sorted(m["data"]["thing2"]["value"] for m in messages)
    assert statuses == sorted(["派送中", "已签收"])
