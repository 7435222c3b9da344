"""The console's broadcasts page: compose and schedule, then the report as a chart."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest

from functions.audit import domain as audit
from functions.broadcasts import domain as broadcasts
from functions.core import clock
from tests.broadcasts.conftest import Segments, followers
from tests.console.conftest import Browser, put_operator, put_store, uid


def real_segment(client, admin_headers) -> str:
    segment_id = uid("seg")
    body = {"name": "vip-buyers", "rules": [{"field": "purchased_sku", "op": "eq", "value": uid("SKU")}]}
    response = client.http.put(f"/admin/segments/{segment_id}", headers=admin_headers, body=json.dumps(body))
    assert response.status_code in (200, 201), response.body
    return segment_id


def test_ops_compose_and_schedule_a_broadcast(client, admin_headers, admin):
    segment_id = real_segment(client, admin_headers)
    page = admin.get("/console/broadcasts")
    assert page.status == 200 and f'value="{segment_id}"' in page.text
    later = (clock.now() + timedelta(days=1)).astimezone(clock.business_tz()).strftime("%Y-%m-%dT%H:%M")
    made = admin.submit(
        "/console/broadcasts",
        "/console/broadcasts",
        {
            "segment_id": segment_id,
            "kind": "text",
            "text": "周末会员日，全场八折",
            "holdout_percent": "20",
            "send_at": later,
        },
    )
    assert made.status == 303, made.text
    broadcast_id = re.search(r"/console/broadcasts/(bc-[0-9]{8}-[0-9a-f]{12})", made.location).group(1)
    view = broadcasts.get_broadcast(broadcast_id)
    assert (view["status"], view["holdout_percent"], view["text"]) == (
        "scheduled",
        20,
        "周末会员日，全场八折",
    )
    assert view["send_at"].startswith(clock.iso(clock.parse_iso(f"{later}:00+08:00"))[:16])
    detail = admin.get(made.path())
    assert "已安排" in detail.text and "待发送" in detail.text and "发送后才有效果数据" in detail.text
    assert broadcast_id in admin.get("/console/broadcasts").text
    assert any(e.action == "broadcast.create" and e.target == broadcast_id for e in audit.recent(days=1))


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"kind": "media", "media": ""}, 400),
        ({"kind": "text", "text": "  "}, 400),
        ({"holdout_percent": "60"}, 400),
        ({"send_at": "tomorrow"}, 400),
        ({"send_at": "2026-02-30T10:00"}, 400),
        ({"segment_id": "no-such-segment"}, 404),
    ],
)
def test_a_bad_broadcast_form_is_refused(client, admin_headers, admin, fields, status):
    form = {"segment_id": real_segment(client, admin_headers), "kind": "text", "text": "hi", **fields}
    answer = admin.submit("/console/broadcasts", "/console/broadcasts", form)
    assert answer.status == status, answer.text


def test_the_report_is_drawn_against_the_holdout(client, admin_headers, admin, monkeypatch):
    # Given a sent broadcast with a holdout, and a purchase by one recipient
    fake = Segments()
    monkeypatch.setattr(broadcasts, "segments", fake)
    members = followers(30)
    created = broadcasts.create_broadcast(
        broadcasts.NewBroadcast(fake.define(members), "新品试饮", None, 30, None)
    )
    assert broadcasts.send(created["broadcast_id"]) == "sent"
    buyer = next(m.openid for m in broadcasts._members(created["broadcast_id"]) if m.group == "recipient")
    order = {
        "order_id": uuid.uuid4().hex,
        "openid": buyer,
        "items": [{"sku": "TEA", "qty": 1, "price_cents": 3900}],
        "total_cents": 3900,
    }
    assert client.http.post("/admin/orders", headers=admin_headers, body=json.dumps(order)).status_code == 201
    # When ops open it
    page = admin.get(f"/console/broadcasts/{created['broadcast_id']}?window_days=3")
    # Then the chart and the exact numbers are there
    assert page.status == 200
    assert "<svg" in page.text and "群发后 3 天内购买的比例" in page.text and "95% 置信区间" in page.text
    assert "39.00" in page.text
    assert admin.get(f"/console/broadcasts/{created['broadcast_id']}?window_days=0").status == 400


def test_broadcasts_are_for_admins(client, admin_headers):
    store_id = put_store(client, admin_headers)
    device = Browser(client)
    assert device.login(put_operator(client, admin_headers, role="store", store_id=store_id)).status == 303
    assert device.get("/console/broadcasts").status == 403


def test_the_reminders_report_page(admin):
    page = admin.get("/console/reminders/report?from=2031-03-01&to=2031-03-31&window_days=5")
    assert page.status == 200, page.text
    assert "到期后 5 天内复购的比例" in page.text and "<svg" in page.text
    assert "/console/reminders/report" in admin.get("/console/reminders").text
    assert admin.get("/console/reminders/report").status == 200  # the last 30 days before the window
    for bad in (
        "from=2031-03-31&to=2031-03-01",
        "to=0001-01-05",
        "window_days=0",
        "from=2031-01-01&to=2031-12-31",
    ):
        assert admin.get(f"/console/reminders/report?{bad}").status in (400, 422), bad
