"""End to end over HTTP against `make run`: a segment of buyers, a broadcast to it, the
sandbox's mass/send, and MASSSENDJOBFINISH's counts back on the broadcast."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
import requests

from tests.conftest import wait_for
from tests.reminders.test_e2e import ADMIN, _subscribe


def _get(stack, path: str) -> dict:
    response = requests.get(f"{stack.url}{path}", headers=ADMIN, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.e2e
def test_a_segment_gets_a_broadcast_and_its_counts_come_back(stack):
    # Given three followers who bought a new SKU, and a segment of that SKU's buyers
    sku, segment_id = f"TEA-{uuid.uuid4().hex[:6]}", f"buyers-{uuid.uuid4().hex[:6]}"
    openids = [f"o-bc-{uuid.uuid4().hex[:10]}" for _ in range(3)]
    for openid in openids:
        _subscribe(stack, openid)
        order = {
            "order_id": uuid.uuid4().hex,
            "openid": openid,
            "items": [{"sku": sku, "qty": 1, "price_cents": 3900}],
            "total_cents": 3900,
            "purchased_at": datetime.now(UTC).isoformat(),
        }
        response = requests.post(
            f"{stack.url}/admin/orders", headers=ADMIN, data=json.dumps(order), timeout=10
        )
        assert response.status_code in (200, 201), response.text
    segment = {"name": "tea-buyers", "rules": [{"field": "purchased_sku", "op": "eq", "value": sku}]}
    response = requests.put(
        f"{stack.url}/admin/segments/{segment_id}", headers=ADMIN, data=json.dumps(segment), timeout=10
    )
    assert response.status_code in (200, 201), response.text
    wait_for(lambda: _get(stack, f"/admin/segments/{segment_id}")["members"] == 3, timeout=90)
    # When ops broadcast to it, to go out now
    body = {"segment_id": segment_id, "text": "新茶到店，凭此消息试饮一杯"}
    response = requests.post(
        f"{stack.url}/admin/broadcasts", headers=ADMIN, data=json.dumps(body), timeout=10
    )
    assert response.status_code == 201, response.text
    broadcast_id = response.json()["broadcast_id"]
    # (ops' "run it now": the minute's schedule would do the same)
    stack.invoke("broadcast_sender")

    # Then the sandbox receives one mass/send to the three of them
    def sends() -> list[dict]:
        all_sends = requests.get(f"{stack.sandbox_url}/sandbox/mass", timeout=5).json()["sends"]
        return [s for s in all_sends if s["clientmsgid"].startswith(f"{broadcast_id}#")]

    wait_for(lambda: len(sends()) == 1, timeout=60)
    (sent,) = sends()
    assert sorted(sent["touser"]) == sorted(openids)
    assert sent["text"] == {"content": "新茶到店，凭此消息试饮一杯"}
    # And MASSSENDJOBFINISH comes back through the callback and fills in the counts
    wait_for(lambda: _get(stack, f"/admin/broadcasts/{broadcast_id}")["sent"] == 3, timeout=60)
    view = _get(stack, f"/admin/broadcasts/{broadcast_id}")
    assert (view["status"], view["audience"], view["holdout"], view["skipped_monthly_cap"]) == (
        "sent",
        3,
        0,
        0,
    )
    assert view["report"]["recipients"]["members"] == 3
    assert len(sends()) == 1
