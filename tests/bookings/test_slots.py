"""Ops define capacity per area, date and window; customers list what remains."""

from __future__ import annotations

import json

import pytest

from tests.bookings.conftest import days_ahead, headers, record_order, request, uid


def put_slots(client, admin_headers, area: str, day: str, windows: list[dict]) -> object:
    body = json.dumps({"area": area, "date": day, "windows": windows})
    return client.http.put("/admin/slots", headers=admin_headers, body=body)


def list_slots(client, area: str, start: str, end: str, openid: str = "o-viewer") -> list[dict]:
    response = client.http.get(f"/slots?area={area}&from={start}&to={end}", headers=headers(openid))
    assert response.status_code == 200, response.json_body
    return response.json_body


def test_admin_defines_windows_and_customers_see_remaining_capacity(client, admin_headers):
    # Given an area with two windows on one day and one on the next
    area, day, next_day = uid("area"), days_ahead(3), days_ahead(4)
    created = put_slots(
        client,
        admin_headers,
        area,
        day,
        [{"window": "13:00-17:00", "capacity": 5}, {"window": "09:00-12:00", "capacity": 3}],
    )
    assert created.status_code == 200, created.json_body
    put_slots(client, admin_headers, area, next_day, [{"window": "09:00-12:00", "capacity": 1}])
    # When a customer lists both days
    slots = list_slots(client, area, day, next_day)
    # Then every window is there, ordered by date and time, with its remaining capacity
    assert [(s["date"], s["window"], s["capacity"], s["remaining"]) for s in slots] == [
        (day, "09:00-12:00", 3, 3),
        (day, "13:00-17:00", 5, 5),
        (next_day, "09:00-12:00", 1, 1),
    ]
    assert slots[0]["slot_id"] == f"{area}|{day}|09:00-12:00"
    # And a range of one day returns only that day
    assert [s["date"] for s in list_slots(client, area, next_day, next_day)] == [next_day]


def test_redefining_a_window_updates_it_and_keeps_what_is_booked(client, admin_headers):
    area, day = uid("area"), days_ahead(3)
    put_slots(client, admin_headers, area, day, [{"window": "09:00-12:00", "capacity": 2}])
    slot_id = f"{area}|{day}|09:00-12:00"
    me = uid("o")
    assert (
        client.http.post(
            "/bookings", headers=headers(me), body=json.dumps(request(slot_id, record_order(me)))
        ).status_code
        == 201
    )
    # When ops raise the capacity
    response = put_slots(client, admin_headers, area, day, [{"window": "09:00-12:00", "capacity": 6}])
    # Then the booking still counts
    assert response.status_code == 200
    assert response.json_body["slots"][0] == {
        "slot_id": slot_id,
        "area": area,
        "date": day,
        "window": "09:00-12:00",
        "capacity": 6,
        "remaining": 5,
    }


def test_lowering_capacity_below_booked_is_refused_and_changes_nothing(client, admin_headers):
    # Given a window with 2 places booked, and a second window
    area, day = uid("area"), days_ahead(3)
    put_slots(
        client,
        admin_headers,
        area,
        day,
        [{"window": "09:00-12:00", "capacity": 4}, {"window": "13:00-17:00", "capacity": 4}],
    )
    slot_id = f"{area}|{day}|09:00-12:00"
    me = uid("o")
    for _ in range(2):
        assert (
            client.http.post(
                "/bookings", headers=headers(me), body=json.dumps(request(slot_id, record_order(me)))
            ).status_code
            == 201
        )
    # When ops lower it to 1 while also changing the other window in the same request
    response = put_slots(
        client,
        admin_headers,
        area,
        day,
        [{"window": "13:00-17:00", "capacity": 9}, {"window": "09:00-12:00", "capacity": 1}],
    )
    # Then it is refused with a clear code naming the window, and neither window changed
    assert response.status_code == 409
    assert response.json_body["error"] == "capacity_below_booked"
    assert "09:00-12:00 (booked 2)" in response.json_body["message"]
    assert [(s["capacity"], s["remaining"]) for s in list_slots(client, area, day, day)] == [(4, 2), (4, 4)]
    # But lowering exactly to what is booked is allowed: the window is then full
    ok = put_slots(client, admin_headers, area, day, [{"window": "09:00-12:00", "capacity": 2}])
    assert ok.status_code == 200 and ok.json_body["slots"][0]["remaining"] == 0


@pytest.mark.parametrize(
    "body, code",
    [
        ({"date": "2030-01-01", "windows": [{"window": "09:00-12:00", "capacity": 1}]}, "invalid_area"),
        (
            {"area": "a|b", "date": "2030-01-01", "windows": [{"window": "09:00-12:00", "capacity": 1}]},
            "invalid_area",
        ),
        (
            {"area": "A", "date": "2030-02-30", "windows": [{"window": "09:00-12:00", "capacity": 1}]},
            "invalid_date",
        ),
        (
            {"area": "A", "date": "30-01-01", "windows": [{"window": "09:00-12:00", "capacity": 1}]},
            "invalid_date",
        ),
        ({"area": "A", "date": "2030-01-01", "windows": []}, "invalid_windows"),
        (
            {"area": "A", "date": "2030-01-01", "windows": [{"window": "9-12", "capacity": 1}]},
            "invalid_window",
        ),
        (
            {"area": "A", "date": "2030-01-01", "windows": [{"window": "12:00-09:00", "capacity": 1}]},
            "invalid_window",
        ),
        (
            {"area": "A", "date": "2030-01-01", "windows": [{"window": "25:00-26:00", "capacity": 1}]},
            "invalid_window",
        ),
        (
            {"area": "A", "date": "2030-01-01", "windows": [{"window": "09:00-12:00\n", "capacity": 1}]},
            "invalid_window",
        ),
        (
            {"area": "a#b", "date": "2030-01-01", "windows": [{"window": "09:00-12:00", "capacity": 1}]},
            "invalid_area",
        ),
        (
            {"area": "A", "date": "2030-01-01", "windows": [{"window": "09:00-12:00", "capacity": -1}]},
            "invalid_capacity",
        ),
        (
            {"area": "A", "date": "2030-01-01", "windows": [{"window": "09:00-12:00", "capacity": 1.5}]},
            "invalid_capacity",
        ),
        (
            {"area": "A", "date": "2030-01-01", "windows": [{"window": "09:00-12:00", "capacity": True}]},
            "invalid_capacity",
        ),
        (
            {"area": "A", "date": "2030-01-01", "windows": [{"window": "09:00-12:00", "capacity": "3"}]},
            "invalid_capacity",
        ),
        (
            {
                "area": "A",
                "date": "2030-01-01",
                "windows": [
                    {"window": "09:00-12:00", "capacity": 1},
                    {"window": "09:00-12:00", "capacity": 2},
                ],
            },
            "invalid_windows",
        ),
    ],
)
def test_bad_definitions_are_refused_and_store_nothing(client, admin_headers, body, code):
    area = uid("area")
    if body.get("area") == "A":
        body = {**body, "area": area}
    response = client.http.put("/admin/slots", headers=admin_headers, body=json.dumps(body))
    assert response.status_code == 400
    assert response.json_body["error"] == code
    assert list_slots(client, area, "2030-01-01", "2030-01-01") == []


def test_admin_key_and_customer_token_are_required(client):
    body = json.dumps(
        {"area": "A", "date": "2030-01-01", "windows": [{"window": "09:00-12:00", "capacity": 1}]}
    )
    wrong_key = {"X-Api-Key": "nope", "Content-Type": "application/json"}
    assert client.http.put("/admin/slots", headers=wrong_key, body=body).status_code == 401
    assert client.http.get("/slots?area=A&from=2030-01-01&to=2030-01-02").status_code == 401


@pytest.mark.parametrize(
    "query, status, code",
    [
        ("from=2030-01-01&to=2030-01-02", 400, "invalid_area"),
        ("area=a|b&from=2030-01-01&to=2030-01-02", 400, "invalid_area"),
        ("area=A&from=2030-13-01&to=2030-12-31", 400, "invalid_from"),
        ("area=A&from=2030-01-01", 400, "invalid_to"),
        # rules that span the two dates
        ("area=A&from=2030-01-05&to=2030-01-01", 422, "invalid_range"),
        ("area=A&from=2030-01-01&to=2030-12-31", 422, "invalid_range"),
    ],
)
def test_bad_slot_queries_are_refused(client, query, status, code):
    response = client.http.get(f"/slots?{query}", headers=headers("o-viewer"))
    assert response.status_code == status
    assert response.json_body["error"] == code


def test_listing_slots_is_one_query_never_a_scan(client, admin_headers, monkeypatch):
    from pynamodb.connection.base import Connection

    area, day = uid("area"), days_ahead(3)
    put_slots(client, admin_headers, area, day, [{"window": "09:00-12:00", "capacity": 1}])
    calls: list[str] = []
    original = Connection.dispatch

    def spy(self, operation_name, operation_kwargs):
        calls.append(operation_name)
        return original(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "dispatch", spy)
    assert len(list_slots(client, area, day, days_ahead(30))) == 1
    assert calls == ["Query"]
