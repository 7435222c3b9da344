"""End to end over HTTP against `make run`: a 90-day purchase is reminded once, however often
ops runs the day."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
import requests

from tests.conftest import wait_for

ADMIN = {"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"}


def _subscribe(stack, openid: str) -> None:
    """WeChat tells us the customer followed."""
    stack.wechat_event(openid, "subscribe")


def _indexed(stack, openid: str, sku: str, order_id: str, day: str) -> bool:
    """Peek at the stack's own DynamoDB: has the order_recorded event been indexed yet?"""
    from functions.reminders.due import due_pk, due_sk, shard_of

    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    item = dynamodb.get_item(
        TableName="wx-local-reminders",
        Key={"pk": {"S": due_pk(day, shard_of(openid, sku))}, "sk": {"S": due_sk(openid, sku, order_id)}},
    )
    return "Item" in item


def _reminders(stack, openid: str) -> list[dict]:
    return [m for m in stack.sandbox_messages(openid) if m.get("template_id") == "TPL_REMINDER_SANDBOX"]


@pytest.mark.e2e
def test_a_due_purchase_is_reminded_once_over_http(stack, tmp_path: Path):
    from functions.core import clock
    from functions.reminders.due import SHARDS

    openid, sku, order_id = f"o-e2e-{uuid.uuid4().hex[:10]}", f"SK2-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    today = clock.business_date(datetime.now(UTC)).isoformat()
    # Given a 90-day product, a subscribed customer, and their order 90 days ago with consent
    product = requests.put(
        f"{stack.url}/admin/products/{sku}",
        headers=ADMIN,
        data=json.dumps({"name": "SK-II 神仙水", "replenish_days": 90}),
        timeout=10,
    )
    assert product.status_code == 200, product.text
    _subscribe(stack, openid)
    purchased_at = clock.iso(datetime.now(UTC) - timedelta(days=90))
    order = requests.post(
        f"{stack.url}/admin/orders",
        headers=ADMIN,
        data=json.dumps(
            {
                "order_id": order_id,
                "openid": openid,
                "items": [{"sku": sku, "qty": 1, "price_cents": 159000}],
                "total_cents": 159000,
                "purchased_at": purchased_at,
                "reminder_consent": True,
            }
        ),
        timeout=10,
    )
    assert order.status_code in (200, 201), order.text
    assert wait_for(lambda: _indexed(stack, openid, sku, order_id, today)), "order event never indexed"
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps({"date": today}))

    def stats() -> dict:
        return requests.get(f"{stack.url}/admin/reminders/runs/{today}", headers=ADMIN, timeout=10).json()

    before = stats()["passes"]
    # When ops runs the job for today
    out = stack.invoke("repurchase_reminders", str(event_file))
    assert json.loads(out.strip().splitlines()[-1]) == {"date": today, "shards": SHARDS}
    # Then the sandbox receives exactly one reminder for the customer
    assert wait_for(lambda: len(_reminders(stack, openid)) == 1, timeout=90), stack.output[-30:]
    assert wait_for(lambda: stats()["passes"] >= before + SHARDS)
    # When ops runs it again
    stack.invoke("repurchase_reminders", str(event_file))
    assert wait_for(lambda: stats()["passes"] >= before + 2 * SHARDS)
    time.sleep(2)  # let anything a second run might have queued reach the sandbox
    # Then still exactly one
    assert len(_reminders(stack, openid)) == 1
    assert stats()["sent"] >= 1
