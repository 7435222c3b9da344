"""End to end over HTTP against `make run`: an order carrying a serial, its delivery booked and
completed by ops, the e-warranty card showing the installation date, a repair request scheduled
into a slot, and the reminder the day before the visit; the WeChat sandbox receives each message."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from tests.conftest import wait_for

pytestmark = pytest.mark.e2e

ADMIN = {"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"}


def admin(stack, method: str, path: str, body: dict | None = None, status: int = 200) -> dict:
    response = requests.request(
        method, f"{stack.url}{path}", headers=ADMIN, data=json.dumps(body) if body else None, timeout=10
    )
    assert response.status_code == status, response.text
    return response.json()


def test_from_an_order_with_a_serial_to_the_reminder_of_a_repair_visit(stack, tmp_path: Path):
    url = stack.url
    openid = f"o-e2e-{uuid.uuid4().hex[:8]}"
    token = requests.get(f"{url}/auth/wechat", params={"code": f"openid:{openid}"}, timeout=10).json()[
        "token"
    ]
    me = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    sku, serial = f"AC-{uuid.uuid4().hex[:6]}", f"SN{uuid.uuid4().hex[:12].upper()}"
    area = f"e2e-{uuid.uuid4().hex[:8]}"
    delivery_day = date.today() + timedelta(days=2)
    visit_day = date.today() + timedelta(days=4)
    admin(stack, "PUT", f"/admin/products/{sku}", {"name": "海尔空调", "warranty_months": 12})
    for day in (delivery_day, visit_day):
        windows = [{"window": "09:00-12:00", "capacity": 2}]
        admin(stack, "PUT", "/admin/slots", {"area": area, "date": day.isoformat(), "windows": windows})

    # An order whose line carries the unit's serial: it registers to the buyer with the order
    order_id = f"SO-{uuid.uuid4().hex[:8]}"
    items = [{"sku": sku, "qty": 1, "price_cents": 399900, "serials": [serial.lower()]}]
    order = {"order_id": order_id, "openid": openid, "items": items, "total_cents": 399900, "area": area}
    admin(stack, "POST", "/admin/orders", order, status=201)
    [card] = requests.get(f"{url}/warranty", headers=me, timeout=10).json()
    assert (card["serial"], card["status"], card["installed_on"]) == (serial, "in_warranty", None)

    # The delivery is booked, then ops mark it done with the serial: installed today
    booking = {
        "slot_id": f"{area}|{delivery_day.isoformat()}|09:00-12:00",
        "order_id": order_id,
        "address": "青岛市崂山区海尔路1号",
        "phone": "13800138000",
    }
    booked = requests.post(f"{url}/bookings", headers=me, data=json.dumps(booking), timeout=10)
    assert booked.status_code == 201, booked.text
    booking_id = booked.json()["booking_id"]
    done = admin(stack, "POST", f"/admin/bookings/{booking_id}/complete", {"serials": [serial]})
    installed = done["completed_on"]
    assert done["status"] == "done"

    # The e-warranty card shows the installation date, and its end a year on
    [card] = requests.get(f"{url}/warranty", headers=me, timeout=10).json()
    assert (card["installed_on"], card["start_date"]) == (installed, installed)
    page = requests.get(
        f"{url}/h5/warranty", params={"sn": serial}, cookies={"h5_session": token}, timeout=10
    )
    assert page.status_code == 200, page.text[:300]
    day = date.fromisoformat(installed)
    assert f'安装日期</span><span class="cell__bd">{day.year}年{day.month}月{day.day}日' in page.text

    # A repair request, scheduled by ops into a slot
    opened = requests.post(
        f"{url}/service-requests",
        headers={**me, "Idempotency-Key": "e2e-1"},
        data=json.dumps({"serial": serial, "problem": "不制冷"}),
        timeout=10,
    )
    assert opened.status_code == 201 and opened.json()["in_warranty"] is True
    request_id = opened.json()["request_id"]
    visit_slot = f"{area}|{visit_day.isoformat()}|09:00-12:00"
    scheduled = admin(
        stack, "POST", f"/admin/service-requests/{request_id}/schedule", {"slot_id": visit_slot}
    )
    assert scheduled["status"] == "scheduled"
    slots = requests.get(
        f"{url}/slots",
        headers=me,
        params={"area": area, "from": visit_day.isoformat(), "to": visit_day.isoformat()},
    ).json()
    assert [s["remaining"] for s in slots] == [1]

    # The reminder job for the day before the visit reminds it, once
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"date": (visit_day - timedelta(days=1)).isoformat()}))
    first = json.loads(stack.invoke("booking_reminders", str(event)).strip().splitlines()[-1])
    second = json.loads(stack.invoke("booking_reminders", str(event)).strip().splitlines()[-1])
    assert first["repair_visits"]["reminded"] == 1 and second["repair_visits"]["reminded"] == 0

    # The customer heard about each step: e-warranty, booking, visit scheduled, visit reminder
    def said() -> list[str] | None:
        texts = [
            m["data"].get("thing1", {}).get("value")
            if m.get("template_id") != "TPL_WARRANTY_SANDBOX"
            else "e-warranty"
            for m in stack.sandbox_messages(openid)
        ]
        wanted = {"e-warranty", "预约已确认", "维修已预约", "明天上门维修"}
        return texts if wanted <= set(texts) else None

    texts = wait_for(said, timeout=60)
    assert texts is not None and texts.count("明天上门维修") == 1 and texts.count("e-warranty") == 1
