"""A product's reminder holdout, and the report that says whether reminders sell."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from functions.core import clock, measure
from functions.reminders import job
from functions.reminders.products import Product, get_product, put_product
from tests.reminders import support


@pytest.fixture
def day(aws, _sandbox_server):
    day = support.fresh_day()
    clock.set_now(support.at(day))
    return day


def test_ops_sets_a_products_reminder_holdout(client, admin_headers):
    sku = support.sku()
    body = {"name": "洗衣凝珠", "replenish_days": 30, "reminder_holdout_percent": 20}
    response = client.http.put(f"/admin/products/{sku}", headers=admin_headers, body=json.dumps(body))
    assert response.status_code == 200
    assert json.loads(response.body)["reminder_holdout_percent"] == 20
    assert get_product(sku).reminder_holdout_percent == 20
    for bad in (51, -1, "10"):
        body = {"name": "洗衣凝珠", "reminder_holdout_percent": bad}
        response = client.http.put(f"/admin/products/{sku}", headers=admin_headers, body=json.dumps(body))
        assert response.status_code == 400
        assert json.loads(response.body)["error"] == "invalid_reminder_holdout_percent"
    assert get_product(sku).reminder_holdout_percent == 20


def test_the_holdout_is_not_reminded_and_is_recorded(day):
    # Given a product with a 50 % holdout and 30 customers due today
    sku = support.sku()
    put_product(Product(sku=sku, name="洗衣凝珠", replenish_days=30, reminder_holdout_percent=50))
    due = {}
    for _ in range(30):
        openid = support.openid()
        support.customer(openid)
        due[openid] = support.bought(openid, sku, support.at(day - timedelta(days=30), "15:00"))
    # When the day runs
    stats = support.run_day(day)
    # Then the hash's holdout is skipped:holdout with no message, and the rest are reminded
    held = {o for o in due if measure.held_out(job.holdout_key(sku), o, 50)}
    assert 0 < len(held) < 30
    for openid, event in due.items():
        status = support.due_status(openid, sku, event["order_id"], day)
        note = support.reminder_notification(day, openid, sku)
        if openid in held:
            assert status == "skipped:holdout" and note is None
        else:
            assert status == "sent" and note is not None
    assert stats["skipped"]["holdout"] == len(held) and stats["sent"] == 30 - len(held)


def _order(client, admin_headers, openid, sku, when, qty=1, price=5000, other_total=0):
    items = [{"sku": sku, "qty": qty, "price_cents": price}]
    if other_total:
        items.append({"sku": "OTHER", "qty": 1, "price_cents": other_total})
    body = {
        "order_id": f"ord-{uuid.uuid4().hex[:10]}",
        "openid": openid,
        "items": items,
        "total_cents": qty * price + other_total,
        "purchased_at": clock.iso(when),
    }
    response = client.http.post("/admin/orders", headers=admin_headers, body=json.dumps(body))
    assert response.status_code in (200, 201), response.body


def test_the_reminders_report_on_a_seeded_day(client, admin_headers, day):
    # Given 40 due customers of a product with a 50 % holdout, decided by the day's run
    sku = support.sku()
    put_product(Product(sku=sku, name="滤芯", replenish_days=30, reminder_holdout_percent=50))
    openids = []
    for _ in range(40):
        openid = support.openid()
        support.customer(openid)
        support.bought(openid, sku, support.at(day - timedelta(days=30), "15:00"))
        openids.append(openid)
    support.run_day(day)
    held = [o for o in openids if measure.held_out(job.holdout_key(sku), o, 50)]
    reminded = [o for o in openids if o not in held]
    # And purchases after it: 3 reminded buyers (2 x 5000 within the window, one buying also
    # something else), 1 held-out buyer; one reminded customer buys after the window, one
    # buys only another SKU — neither counts
    start = support.at(day, "11:00")
    _order(client, admin_headers, reminded[0], sku, start, qty=2, other_total=700)
    _order(client, admin_headers, reminded[1], sku, start + timedelta(days=6))
    _order(client, admin_headers, reminded[2], sku, start + timedelta(days=1))
    _order(client, admin_headers, reminded[3], sku, start + timedelta(days=8))
    _order(client, admin_headers, reminded[4], "OTHER", start, price=3000)
    _order(client, admin_headers, held[0], sku, start + timedelta(days=2))
    # When ops ask for the day's report (7-day window)
    query = f"from={day.isoformat()}&to={day.isoformat()}"
    response = client.http.get(f"/admin/reminders/report?{query}", headers=admin_headers)
    assert response.status_code == 200, response.body
    report = json.loads(response.body)
    # Then the groups, buyers and revenue are exactly the seeded ones, and the uplift follows
    assert report["recipients"] == {
        "members": len(reminded),
        "buyers": 3,
        "revenue_cents": 20000,
        "conversion": round(3 / len(reminded), 6),
    }
    assert report["holdout"]["members"] == len(held)
    assert (report["holdout"]["buyers"], report["holdout"]["revenue_cents"]) == (1, 5000)
    expected = measure.uplift(measure.Group(len(reminded), 3, 20000), measure.Group(len(held), 1, 5000))
    assert report["uplift"] == expected
    # A longer window takes in the late buyer
    response = client.http.get(f"/admin/reminders/report?{query}&window_days=10", headers=admin_headers)
    assert json.loads(response.body)["recipients"]["buyers"] == 4


@pytest.mark.parametrize(
    ("query", "status"),
    [("from=2031-01-10&to=2031-01-01", 422), ("from=2031-01-01&to=2031-06-01", 422), ("to=2031-01-01", 400),
     ("from=2031-01-01&to=2031-01-02&window_days=0", 400), ("from=9999-12-31&to=9999-12-31", 200)],
)  # fmt: skip
def test_bad_report_ranges_are_refused(client, admin_headers, query, status):
    response = client.http.get(f"/admin/reminders/report?{query}", headers=admin_headers)
    assert response.status_code == status, response.body
