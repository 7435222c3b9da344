"""Service areas have names people read (PUT /admin/areas/{area}), and orders name their area."""

from __future__ import annotations

import json

import pytest

from tests.bookings.conftest import days_ahead, uid


def test_ops_name_an_area_and_rename_it(client, admin_headers):
    area = uid("area")
    named = client.http.put(
        f"/admin/areas/{area}", headers=admin_headers, body=json.dumps({"name": " 静安区 "})
    )
    assert named.status_code == 200 and named.json_body == {"area": area, "name": "静安区"}
    renamed = client.http.put(
        f"/admin/areas/{area}", headers=admin_headers, body=json.dumps({"name": "静安"})
    )
    assert renamed.json_body["name"] == "静安"
    from functions.bookings.areas import name_of, names

    assert name_of(area) == "静安"
    assert names([area, "never-named"]) == {area: "静安", "never-named": "never-named"}


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("/admin/areas/ok-area", {"name": ""}, "invalid_name"),
        ("/admin/areas/ok-area", {"name": "   "}, "invalid_name"),
        ("/admin/areas/ok-area", {"name": "区" * 33}, "invalid_name"),
        ("/admin/areas/ok-area", {"name": "a\nb"}, "invalid_name"),
        ("/admin/areas/ok-area", {}, "invalid_name"),
        ("/admin/areas/bad%20area", {"name": "静安区"}, "invalid_area"),
    ],
)
def test_a_bad_area_or_name_is_refused_and_changes_nothing(client, admin_headers, path, body, error):
    response = client.http.put(path, headers=admin_headers, body=json.dumps(body))
    assert response.status_code == 400 and response.json_body["error"] == error


def test_naming_an_area_needs_the_admin_key(client):
    response = client.http.put(
        "/admin/areas/x", headers={"Content-Type": "application/json"}, body='{"name":"x"}'
    )
    assert response.status_code == 401


def test_defining_slots_records_which_areas_have_slots_on_which_days(make_slots):
    from datetime import date, timedelta

    from functions.bookings.areas import with_slots

    soon, later = uid("area"), uid("area")
    make_slots(area=soon, day=days_ahead(3))
    make_slots(area=later, day=days_ahead(20))
    start = date.fromisoformat(days_ahead(0))
    listed = {a.area for a in with_slots(start, start + timedelta(days=13))}
    assert soon in listed and later not in listed


def test_an_order_names_the_area_whose_slots_serve_it(client, admin_headers):
    from functions.orders.domain import get_order, orders_of

    openid, area = uid("o"), uid("area")
    order = {
        "order_id": uid("SO"),
        "openid": openid,
        "items": [{"sku": "TV-1", "qty": 1, "price_cents": 100}],
        "total_cents": 100,
        "area": area,
    }
    response = client.http.post("/admin/orders", headers=admin_headers, body=json.dumps(order))
    assert response.status_code == 201 and response.json_body["area"] == area
    assert get_order(order["order_id"]).area == area
    assert [o.order_id for o in orders_of(openid)] == [order["order_id"]]
    bad = client.http.post(
        "/admin/orders",
        headers=admin_headers,
        body=json.dumps({**order, "order_id": uid("SO"), "area": "a b"}),
    )
    assert bad.status_code == 400 and bad.json_body["error"] == "invalid_area"
