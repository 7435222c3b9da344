"""After-sales requests: opened by the customer (idempotent per Idempotency-Key), scheduled by
ops into the same slots as deliveries, moved, completed, cancelled, reminded the day before."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from tests.bookings.conftest import record_order as own_order
from tests.warranty.conftest import call, customer, notification, register, uid


@pytest.fixture
def registered(client, product, units):
    """`registered(months)`: a unit registered to a fresh customer: (openid, serial)."""

    def make(months: int | None = 12) -> tuple[str, str]:
        [serial] = units(product(months=months))
        openid = uid("o")
        assert register(client, openid, serial).status_code == 201
        return openid, serial

    return make


def open_request(client, openid: str, serial: str, key: str | None = None, problem: str = "不制冷") -> object:
    extra = {"Idempotency-Key": key} if key else {}
    return call(
        client, "POST", "/service-requests", {"serial": serial, "problem": problem}, customer(openid, **extra)
    )


def booked(slot_id: str) -> int:
    from functions.bookings import slots

    return slots.get_slot(slots.parse_slot_id(slot_id)).booked


def test_a_customer_opens_a_request_for_a_registered_product_once_per_key(client, registered):
    openid, serial = registered(months=12)
    first = open_request(client, openid, serial, key="k-1")
    assert first.status_code == 201, first.json_body
    assert first.json_body["status"] == "open" and first.json_body["in_warranty"] is True
    retry = open_request(client, openid, serial, key="k-1")
    assert retry.json_body == first.json_body and retry.headers.get("Idempotent-Replayed") == "true"
    reused = open_request(client, openid, serial, key="k-1", problem="漏水")
    assert (reused.status_code, reused.json_body["error"]) == (422, "idempotency_key_reused")
    mine = call(client, "GET", "/service-requests", headers=customer(openid)).json_body
    assert [r["request_id"] for r in mine] == [first.json_body["request_id"]]
    assert mine[0]["problem"] == "不制冷"


def test_out_of_warranty_and_someone_elses_product(client, registered):
    openid, serial = registered(months=None)
    assert open_request(client, openid, serial).json_body["in_warranty"] is False
    stranger = open_request(client, uid("o"), serial)
    assert (stranger.status_code, stranger.json_body["error"]) == (404, "serial_not_found")
    too_long = open_request(client, openid, serial, problem="坏" * 201)
    assert too_long.status_code == 400 and too_long.json_body["error"] == "invalid_problem"
    blank = open_request(client, openid, serial, problem="   ")
    assert blank.status_code == 400


def test_ops_schedule_move_and_cancel_a_visit_taking_and_releasing_places_once(
    client, registered, make_slots
):
    openid, serial = registered()
    request_id = open_request(client, openid, serial).json_body["request_id"]
    first_slot, second_slot = make_slots(capacity=2, windows=("09:00-12:00", "13:00-17:00"))
    # Open requests are listed for ops, oldest first
    listed = call(client, "GET", "/admin/service-requests").json_body
    assert request_id in [r["request_id"] for r in listed]

    scheduled = call(
        client, "POST", f"/admin/service-requests/{request_id}/schedule", {"slot_id": first_slot}
    )
    assert scheduled.status_code == 200, scheduled.json_body
    assert (scheduled.json_body["status"], scheduled.json_body["slot_id"]) == ("scheduled", first_slot)
    assert (booked(first_slot), booked(second_slot)) == (1, 0)
    assert notification(f"service-{request_id}-scheduled-v2")["kind"] == "service_scheduled"
    assert request_id not in [
        r["request_id"] for r in call(client, "GET", "/admin/service-requests").json_body
    ]

    # The same slot again changes nothing; another slot moves the visit
    call(client, "POST", f"/admin/service-requests/{request_id}/schedule", {"slot_id": first_slot})
    assert booked(first_slot) == 1
    moved = call(client, "POST", f"/admin/service-requests/{request_id}/schedule", {"slot_id": second_slot})
    assert moved.json_body["slot_id"] == second_slot
    assert (booked(first_slot), booked(second_slot)) == (0, 1)

    # Cancelled twice: the place comes back once
    for _ in range(2):
        cancelled = call(client, "POST", f"/admin/service-requests/{request_id}/cancel")
        assert cancelled.status_code == 200 and cancelled.json_body["status"] == "cancelled"
    assert (booked(first_slot), booked(second_slot)) == (0, 0)
    assert notification(f"service-{request_id}-cancelled")["kind"] == "service_cancelled"
    again = call(client, "POST", f"/admin/service-requests/{request_id}/schedule", {"slot_id": first_slot})
    assert (again.status_code, again.json_body["error"]) == (409, "service_request_cancelled")


def test_a_full_slot_or_no_slot_changes_nothing_and_a_done_visit_keeps_its_place(
    client, registered, make_slots
):
    openid, serial = registered()
    request_id = open_request(client, openid, serial).json_body["request_id"]
    (full,) = make_slots(capacity=0)
    refused = call(client, "POST", f"/admin/service-requests/{request_id}/schedule", {"slot_id": full})
    assert (refused.status_code, refused.json_body["error"]) == (409, "slot_full")
    nowhere = call(
        client,
        "POST",
        f"/admin/service-requests/{request_id}/schedule",
        {"slot_id": "x|2030-01-01|09:00-12:00"},
    )
    assert (nowhere.status_code, nowhere.json_body["error"]) == (404, "slot_not_found")
    early = call(client, "POST", f"/admin/service-requests/{request_id}/complete")
    assert (early.status_code, early.json_body["error"]) == (409, "service_request_open")
    assert call(client, "GET", "/service-requests", headers=customer(openid)).json_body[0]["status"] == "open"

    (slot,) = make_slots(capacity=1)
    call(client, "POST", f"/admin/service-requests/{request_id}/schedule", {"slot_id": slot})
    done = call(client, "POST", f"/admin/service-requests/{request_id}/complete")
    assert done.json_body["status"] == "done" and booked(slot) == 1
    late = call(client, "POST", f"/admin/service-requests/{request_id}/cancel")
    assert (late.status_code, late.json_body["error"]) == (409, "service_request_done")
    assert call(client, "POST", "/admin/service-requests/nope/cancel").status_code == 404


def test_a_visit_takes_the_same_places_as_deliveries(client, registered, make_slots):
    openid, serial = registered()
    request_id = open_request(client, openid, serial).json_body["request_id"]
    (slot_id,) = make_slots(capacity=1)
    buyer = uid("o")
    body = {
        "slot_id": slot_id,
        "order_id": own_order(buyer),
        "address": "上海市静安区南京西路1号",
        "phone": "13800138000",
    }
    assert call(client, "POST", "/bookings", body, customer(buyer)).status_code == 201
    refused = call(client, "POST", f"/admin/service-requests/{request_id}/schedule", {"slot_id": slot_id})
    assert refused.json_body["error"] == "slot_full"


def run_reminders(client, day: date) -> dict:
    event = client.events.generate_cw_event(
        source="aws.events",
        detail_type="Scheduled Event",
        detail={"date": day.isoformat()},
        resources=["arn:aws:events:local:000000000000:rule/booking_reminders"],
    )
    return client.lambda_.invoke("booking_reminders", event).payload


def test_the_day_before_reminder_covers_repair_visits_once(client, registered, make_slots):
    from functions.core import clock

    openid, serial = registered()
    request_id = open_request(client, openid, serial).json_body["request_id"]
    day = date(2040, 1, 1) + timedelta(days=random.randrange(20_000))
    (slot_id,) = make_slots(capacity=3, day=(day + timedelta(days=1)).isoformat())
    clock.set_now(clock.business_datetime(day - timedelta(days=3), "10:00"))
    call(client, "POST", f"/admin/service-requests/{request_id}/schedule", {"slot_id": slot_id})
    clock.set_now(None)

    first = run_reminders(client, day)
    assert first["repair_visits"]["reminded"] == 1
    second = run_reminders(client, day)
    assert (second["repair_visits"]["reminded"], second["repair_visits"]["already"]) == (0, 1)
    sent = notification(f"service-{request_id}-reminder-{(day + timedelta(days=1)).isoformat()}")
    assert sent["kind"] == "service_reminder" and sent["openid"] == openid
    assert sent["url"].endswith("/h5/service")
