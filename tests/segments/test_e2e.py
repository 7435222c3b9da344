"""End to end over HTTP against `make run`: a follow and an order make a member through the
stream and the order-events queue; the tag follows through the sync; an unfollow undoes both."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.conftest import wait_for

pytestmark = pytest.mark.e2e
ADMIN = {"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"}


def _event(stack, openid: str, event: str) -> None:
    stack.wechat_event(openid, event)


def _segment(stack, segment_id: str) -> dict:
    return requests.get(f"{stack.url}/admin/segments/{segment_id}", headers=ADMIN, timeout=10).json()


def _tag_members(stack, tag_id: int) -> list[str]:
    tags = requests.get(f"{stack.sandbox_url}/sandbox/tags", timeout=5).json()["tags"]
    return next(t["openids"] for t in tags if t["id"] == tag_id)


def test_a_buyer_who_follows_joins_the_segment_and_its_tag(stack):
    sku, segment_id = f"SKU{uuid.uuid4().hex[:8]}", f"seg-{uuid.uuid4().hex[:8]}"
    buyer, other = f"o-{uuid.uuid4().hex[:10]}", f"o-{uuid.uuid4().hex[:10]}"
    rules = [
        {"field": "purchased_sku", "op": "eq", "value": sku},
        {"field": "subscribed", "op": "eq", "value": True},
    ]
    created = requests.put(
        f"{stack.url}/admin/segments/{segment_id}",
        headers=ADMIN,
        json={"name": segment_id, "rules": rules, "wechat_tag": True},
        timeout=10,
    )
    assert created.status_code == 200, created.text
    tag_id = created.json()["wechat_tag_id"]
    for openid, bought in ((buyer, sku), (other, "ELSE")):
        _event(stack, openid, "subscribe")
        order = {"order_id": uuid.uuid4().hex, "openid": openid, "items": [{"sku": bought, "qty": 1, "price_cents": 900}],
                 "total_cents": 900}  # fmt: skip
        assert (
            requests.post(f"{stack.url}/admin/orders", headers=ADMIN, json=order, timeout=10).status_code
            == 201
        )
    assert wait_for(lambda: _segment(stack, segment_id)["members"] == 1, timeout=60)
    page = requests.get(f"{stack.url}/admin/segments/{segment_id}/members", headers=ADMIN, timeout=10).json()
    assert page == {"openids": [buyer], "cursor": None}
    stack.invoke("segment_tag_sync")
    assert _tag_members(stack, tag_id) == [buyer]
    # When the buyer unfollows, they leave the segment and the tag
    _event(stack, buyer, "unsubscribe")
    assert wait_for(lambda: _segment(stack, segment_id)["members"] == 0, timeout=60)
    stack.invoke("segment_tag_sync")
    assert _tag_members(stack, tag_id) == []
