"""End to end against `make run`: SQS goes away while a change is stored, and its message still
reaches the customer once SQS is back (the transactional outbox and its stream relay)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import boto3
import pytest
import requests

from tests.conftest import RunningStack, wait_for
from tests.logistics.support import native_body, native_headers, order_body

pytestmark = pytest.mark.e2e

ADMIN = {"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"}
KEPT_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy", "DelaySeconds")


@contextmanager
def notifications_queue_deleted(stack: RunningStack) -> Iterator[None]:
    """The stack's notifications queue is gone (as in an SQS outage) until the block ends;
    then it is created again with the same settings."""
    sqs = boto3.client(
        "sqs",
        endpoint_url=stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    [url] = [u for u in sqs.list_queues()["QueueUrls"] if u.endswith("-notifications")]
    name = url.rsplit("/", 1)[-1]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    sqs.delete_queue(QueueUrl=url)
    try:
        yield
    finally:
        sqs.create_queue(
            QueueName=name, Attributes={k: attributes[k] for k in KEPT_ATTRIBUTES if k in attributes}
        )


def customer(stack: RunningStack) -> tuple[str, dict[str, str]]:
    """A customer signed in through WeChat OAuth (the sandbox), with an order of theirs."""
    openid = f"o-outbox-{uuid.uuid4().hex[:10]}"
    token = requests.get(f"{stack.url}/auth/wechat", params={"code": f"openid:{openid}"}, timeout=10)
    assert token.status_code == 200, token.text
    return openid, {"Authorization": f"Bearer {token.json()['token']}", "Content-Type": "application/json"}


def record_order(stack: RunningStack, openid: str, **shipment: str) -> str:
    order_id = f"SO-{uuid.uuid4().hex[:10]}"
    body = order_body(order_id, openid, shipment.get("carrier"), shipment.get("tracking_no"))
    recorded = requests.post(f"{stack.url}/admin/orders", headers=ADMIN, data=body, timeout=10)
    assert recorded.status_code == 201, recorded.text
    return order_id


def book(stack: RunningStack, openid: str, me: dict[str, str], order_id: str | None = None) -> str:
    area, day = f"outbox-{uuid.uuid4().hex[:8]}", (date.today() + timedelta(days=3)).isoformat()
    slots = {"area": area, "date": day, "windows": [{"window": "09:00-12:00", "capacity": 5}]}
    assert requests.put(f"{stack.url}/admin/slots", headers=ADMIN, json=slots, timeout=10).status_code == 200
    body = {
        "slot_id": f"{area}|{day}|09:00-12:00",
        "order_id": order_id or record_order(stack, openid),
        "address": "上海市黄浦区南京东路1号",
        "phone": "13800138000",
    }
    booked = requests.post(f"{stack.url}/bookings", headers=me, data=json.dumps(body), timeout=10)
    assert booked.status_code == 201, booked.text
    return booked.json()["booking_id"]


def sent(stack: RunningStack, openid: str, notification_id: str) -> bool:
    return any(m.get("client_msg_id") == notification_id for m in stack.sandbox_messages(openid))


def receipt_sent(stack: RunningStack, openid: str, order_id: str) -> None:
    """Wait for the order's points receipt, written by the order event's consumer a moment after
    the order: written while SQS is down, it would hold back the stream's later records."""
    assert wait_for(lambda: sent(stack, openid, f"receipt-{order_id}"), timeout=120)


# -- the changes: each prepares what it needs, and returns the change to make while SQS is
# -- down, which answers (openid, notification id) -------------------------------------------

Change = Callable[[], tuple[str, str]]


def booking_confirmed(stack: RunningStack) -> Change:
    openid, me = customer(stack)
    return lambda: (openid, f"booking-{book(stack, openid, me)}-confirmed")


def booking_cancelled(stack: RunningStack) -> Change:
    openid, me = customer(stack)
    order_id = record_order(stack, openid)
    booking_id = book(stack, openid, me, order_id)
    assert wait_for(lambda: sent(stack, openid, f"booking-{booking_id}-confirmed"), timeout=120)
    receipt_sent(stack, openid, order_id)

    def cancel() -> tuple[str, str]:
        cancelled = requests.delete(f"{stack.url}/bookings/{booking_id}", headers=me, timeout=10)
        assert cancelled.status_code == 200, cancelled.text
        return openid, f"booking-{booking_id}-cancelled"

    return cancel


def coupon_issued(stack: RunningStack) -> Change:
    openid, _ = customer(stack)
    campaign_id = f"outbox-{uuid.uuid4().hex[:8]}"
    campaign = {
        "title": "会员满减券",
        "discount_cents": 3000,
        "min_spend_cents": 20000,
        "valid_from": "2020-01-01",
        "valid_to": "2099-12-31",
        "total_limit": 10,
        "per_customer_limit": 1,
    }
    url = f"{stack.url}/admin/coupon-campaigns/{campaign_id}"
    assert requests.put(url, headers=ADMIN, json=campaign, timeout=10).status_code == 201

    def issue() -> tuple[str, str]:
        issued = requests.post(f"{url}/issue", headers=ADMIN, json={"openids": [openid]}, timeout=10)
        assert issued.status_code == 200, issued.text
        [result] = issued.json()["results"]
        assert result["status"] == "issued", result
        return openid, f"coupon-{result['code'].replace('-', '')}"

    return issue


def shipment_status(stack: RunningStack) -> Change:
    openid, _ = customer(stack)
    tracking_no = f"YT{uuid.uuid4().hex[:10].upper()}"
    receipt_sent(stack, openid, record_order(stack, openid, carrier="yuantong", tracking_no=tracking_no))
    raw = native_body(tracking_no, "out_for_delivery", "2024-05-02T08:00:00+08:00", carrier="yuantong")

    def push() -> tuple[str, str]:
        pushed = requests.post(
            f"{stack.url}/logistics/events", headers=native_headers(raw), data=raw, timeout=10
        )
        assert pushed.status_code == 202, pushed.text
        return openid, f"shipment-yuantong-{tracking_no}-out_for_delivery-30"

    return push


@pytest.mark.parametrize("prepare", [booking_confirmed, booking_cancelled, coupon_issued, shipment_status])
def test_a_change_stored_while_sqs_is_down_gets_its_message_once_sqs_is_back(stack, prepare):
    change = prepare(stack)
    with notifications_queue_deleted(stack):
        # Given SQS is down, when the change is made, then it is stored and answered as usual
        openid, notification_id = change()
        # And the relay tried to enqueue its message, and could not
        assert wait_for(
            lambda: any("could not enqueue" in line and notification_id in line for line in stack.output),
            timeout=60,
        ), "".join(stack.output[-30:])
        assert not sent(stack, openid, notification_id)
    # When SQS is back, then the message reaches the customer within two minutes, sent once
    assert wait_for(lambda: sent(stack, openid, notification_id), timeout=120)

    def recorded() -> dict | None:
        # WeChat has it before the worker's `sent` write commits: wait for the record too.
        view = requests.get(
            f"{stack.url}/admin/notifications/{notification_id}", headers=ADMIN, timeout=10
        ).json()
        return view if view["status"] in ("sent", "delivered") else None

    view = wait_for(recorded, timeout=30)
    assert view and view["attempts"] == 1, view
