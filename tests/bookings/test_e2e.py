"""End to end over HTTP against `make run`: sign in, ops define slots, list, book, reschedule,
cancel, and the day-before reminder job; the WeChat sandbox receives each message once."""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from tests.conftest import wait_for

pytestmark = pytest.mark.e2e

ADMIN = {"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"}


def record_order(url: str, openid: str) -> str:
    """Ops record the customer's order: only a recorded order of one's own can be booked."""
    order_id = f"SO-{openid}"
    order = {
        "order_id": order_id,
        "openid": openid,
        "items": [{"sku": "E2E-1", "qty": 1, "price_cents": 100}],
    }
    recorded = requests.post(
        f"{url}/admin/orders", headers=ADMIN, data=json.dumps({**order, "total_cents": 100}), timeout=10
    )
    assert recorded.status_code in (200, 201), recorded.text
    return order_id


def test_a_customer_books_moves_and_cancels_and_hears_about_each_step(stack, tmp_path: Path):
    url = stack.url
    openid = f"o-e2e-{uuid.uuid4().hex[:8]}"
    # Given a signed-in customer (WeChat OAuth through the sandbox)
    signed_in = requests.get(f"{url}/auth/wechat", params={"code": f"openid:{openid}"}, timeout=10)
    assert signed_in.status_code == 200, signed_in.text
    me = {"Authorization": f"Bearer {signed_in.json()['token']}", "Content-Type": "application/json"}
    # And ops opened two windows in an area, three days ahead
    area = f"e2e-{uuid.uuid4().hex[:8]}"
    day = (date.today() + timedelta(days=3)).isoformat()
    defined = requests.put(
        f"{url}/admin/slots",
        headers=ADMIN,
        data=json.dumps(
            {
                "area": area,
                "date": day,
                "windows": [
                    {"window": "09:00-12:00", "capacity": 2},
                    {"window": "13:00-17:00", "capacity": 1},
                ],
            }
        ),
        timeout=10,
    )
    assert defined.status_code == 200, defined.text

    # When the customer lists the slots
    listed = requests.get(
        f"{url}/slots", headers=me, params={"area": area, "from": day, "to": day}, timeout=10
    )
    assert listed.status_code == 200, listed.text
    morning, afternoon = (s["slot_id"] for s in listed.json())
    # And books the morning for an order (the H5 page sends an Idempotency-Key, and retries)
    body = {
        "slot_id": morning,
        "order_id": record_order(url, openid),
        "address": "北京市朝阳区建国路1号",
        "phone": "13800138000",
    }
    booked = [
        requests.post(
            f"{url}/bookings", headers={**me, "Idempotency-Key": "h5-1"}, data=json.dumps(body), timeout=10
        )
        for _ in range(2)
    ]
    assert [b.status_code for b in booked] == [201, 201]
    assert booked[0].json() == booked[1].json()
    booking_id = booked[0].json()["booking_id"]
    # And moves it to the afternoon, then cancels it (twice: a double tap)
    moved = requests.post(
        f"{url}/bookings/{booking_id}/reschedule",
        headers=me,
        data=json.dumps({"slot_id": afternoon}),
        timeout=10,
    )
    assert moved.status_code == 200 and moved.json()["slot_id"] == afternoon
    for _ in range(2):
        cancelled = requests.delete(f"{url}/bookings/{booking_id}", headers=me, timeout=10)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"

    # Then every place is free again
    after = requests.get(
        f"{url}/slots", headers=me, params={"area": area, "from": day, "to": day}, timeout=10
    )
    assert [s["remaining"] for s in after.json()] == [2, 1]
    # And each step's message was sent once, or dropped as stale (skipped:superseded) when a later
    # step came before it went out; the last step's always goes out
    steps = [f"booking-{booking_id}-{step}" for step in ("confirmed", "rescheduled-v2", "cancelled")]

    def decided() -> list[str] | None:
        views = [
            requests.get(f"{url}/admin/notifications/{n}", headers=ADMIN, timeout=10).json() for n in steps
        ]
        statuses = [v["status"] for v in views]
        return statuses if all(s in ("sent", "delivered", "skipped:superseded") for s in statuses) else None

    statuses = wait_for(decided)
    assert statuses and statuses[-1] in ("sent", "delivered"), statuses
    # (the order's points receipt is another story: tests/points)
    received = sorted(
        m["client_msg_id"]
        for m in stack.sandbox_messages(openid)
        if m["client_msg_id"].startswith("booking-")
    )
    assert received == sorted(n for n, s in zip(steps, statuses, strict=True) if s != "skipped:superseded")


def test_ops_run_the_reminder_job_for_a_date_and_rerunning_sends_nothing_twice(stack, tmp_path: Path):
    url = stack.url
    openid = f"o-e2e-{uuid.uuid4().hex[:8]}"
    token = requests.get(f"{url}/auth/wechat", params={"code": f"openid:{openid}"}, timeout=10).json()[
        "token"
    ]
    me = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    area = f"e2e-{uuid.uuid4().hex[:8]}"
    day = date.today() + timedelta(days=4)
    requests.put(
        f"{url}/admin/slots",
        headers=ADMIN,
        data=json.dumps(
            {"area": area, "date": day.isoformat(), "windows": [{"window": "09:00-12:00", "capacity": 1}]}
        ),
        timeout=10,
    ).raise_for_status()
    body = {
        "slot_id": f"{area}|{day.isoformat()}|09:00-12:00",
        "order_id": record_order(url, openid),
        "address": "广州市天河区1号",
        "phone": "13800138000",
    }
    assert requests.post(f"{url}/bookings", headers=me, data=json.dumps(body), timeout=10).status_code == 201
    # When ops run the daily job for the day before the slot, twice
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"date": (day - timedelta(days=1)).isoformat()}))
    first = json.loads(stack.invoke("booking_reminders", str(event)).strip().splitlines()[-1])
    second = json.loads(stack.invoke("booking_reminders", str(event)).strip().splitlines()[-1])
    # Then the reminder went out once
    assert first["reminded"] >= 1 and second["reminded"] == 0
    reminders = wait_for(
        lambda: [m for m in stack.sandbox_messages(openid) if m["data"]["thing1"]["value"] == "明天上门服务"]
    )
    assert len(reminders) == 1
    time.sleep(1.5)
    assert (
        len([m for m in stack.sandbox_messages(openid) if m["data"]["thing1"]["value"] == "明天上门服务"])
        == 1
    )
