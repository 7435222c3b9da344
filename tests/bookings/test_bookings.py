"""Booking, rescheduling and cancelling through the HTTP handlers (chalice.test.Client on moto)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tests.bookings.conftest import days_ahead, headers, request, uid
from tests.notifications.conftest import shown_as_wechat_accepts


def post(client, openid: str, body: dict, **extra: str):
    return client.http.post("/bookings", headers=headers(openid, **extra), body=json.dumps(body))


def remaining(slot_id: str) -> int:
    from functions.bookings import slots

    slot = slots.get_slot(slots.parse_slot_id(slot_id))
    assert slot is not None
    return slot.remaining


def notification(notification_id: str) -> dict | None:
    from functions.notifications.domain import get_notification

    return get_notification(notification_id)


def test_a_booking_takes_one_place_and_confirms_by_template_message(client, make_slots, order):
    # Given a window with 3 places, and my recorded order
    (slot_id,) = make_slots(capacity=3)
    me = uid("o")
    order_id = order(me)
    # When I book it for my order
    response = post(client, me, request(slot_id, order_id))
    # Then it is confirmed and one place is gone
    assert response.status_code == 201, response.json_body
    booking_id = response.json_body["booking_id"]
    assert response.json_body == {"booking_id": booking_id, "slot_id": slot_id, "status": "confirmed"}
    assert remaining(slot_id) == 2
    # And it is in my bookings
    mine = client.http.get("/bookings", headers=headers(me)).json_body
    assert [(b["booking_id"], b["order_id"], b["status"]) for b in mine] == [
        (booking_id, order_id, "confirmed")
    ]
    # And a confirmation is queued with WeChat-sized fields
    queued = notification(f"booking-{booking_id}-confirmed")
    assert queued is not None and queued["openid"] == me and queued["kind"] == "booking_confirmed"
    assert shown_as_wechat_accepts("booking_confirmed", queued["fields"])


def test_a_full_slot_an_unknown_slot_and_a_booked_order_are_refused(client, make_slots, order):
    (slot_id,) = make_slots(capacity=1)
    me = uid("o")
    booked, another = order(me), order(me)
    assert post(client, me, request(slot_id, booked)).status_code == 201
    # A second order for the full slot
    full = post(client, me, request(slot_id, another))
    assert (full.status_code, full.json_body["error"]) == (409, "slot_full")
    # A slot nobody defined
    (other,) = make_slots(capacity=5)
    unknown = other.replace("09:00-12:00", "18:00-20:00")
    response = post(client, me, request(unknown, another))
    assert (response.status_code, response.json_body["error"]) == (404, "slot_not_found")
    # A malformed id is a shape error (CONTRACT §1)
    for malformed in ("no-such-slot", f"{unknown}|x"):
        response = post(client, me, request(malformed, another))
        assert (response.status_code, response.json_body["error"]) == (400, "invalid_slot_id")
    # A well-formed id whose date or window cannot exist names no slot
    day = unknown.split("|")[1]
    for impossible in (f"A|{day[:4]}-02-30|09:00-12:00", f"A|{day}|12:00-09:00", f"A|{day}|25:00-26:00"):
        response = post(client, me, request(impossible, another))
        assert (response.status_code, response.json_body["error"]) == (404, "slot_not_found")
    # The same order again, in a slot with room
    again = post(client, me, request(other, booked))
    assert (again.status_code, again.json_body["error"]) == (409, "already_booked")
    # Nothing of this took a place
    assert (remaining(slot_id), remaining(other)) == (0, 5)


def test_a_cancelled_order_can_be_booked_again(client, make_slots, order):
    (slot_id,) = make_slots(capacity=2)
    me = uid("o")
    order_id = order(me)
    first = post(client, me, request(slot_id, order_id)).json_body["booking_id"]
    assert client.http.delete(f"/bookings/{first}", headers=headers(me)).status_code == 200
    second = post(client, me, request(slot_id, order_id))
    assert second.status_code == 201
    assert remaining(slot_id) == 1


def test_past_slots_and_bookings_after_the_cut_off_are_422(client, make_slots, order):
    from functions.core import clock

    # Given a slot on day D; the cut-off is 18:00 business time on D-1
    day = days_ahead(5)
    (slot_id,) = make_slots(capacity=5, day=day)
    cutoff = clock.business_datetime(date.fromisoformat(day) - timedelta(days=1), "18:00")
    # At 17:59 the day before, booking still works
    clock.set_now(cutoff - timedelta(minutes=1))
    me = uid("o")
    assert post(client, me, request(slot_id, order(me))).status_code == 201
    # At 18:00 it is closed
    clock.set_now(cutoff)
    closed = post(client, me, request(slot_id, order(me)))
    assert (closed.status_code, closed.json_body["error"]) == (422, "booking_closed")
    # Once the window has started it is in the past
    clock.set_now(clock.business_datetime(date.fromisoformat(day), "09:00"))
    past = post(client, me, request(slot_id, order(me)))
    assert (past.status_code, past.json_body["error"]) == (422, "slot_in_past")
    assert remaining(slot_id) == 4


def test_the_cut_off_time_is_a_setting(client, make_slots, monkeypatch, order):
    from functions.core import clock
    from functions.core.config import reset_settings

    day = days_ahead(5)
    (slot_id,) = make_slots(capacity=5, day=day)
    monkeypatch.setenv("BOOKING_CUTOFF", "12:00")
    reset_settings()
    try:
        clock.set_now(clock.business_datetime(date.fromisoformat(day) - timedelta(days=1), "12:30"))
        me = uid("o")
        closed = post(client, me, request(slot_id, order(me)))
        assert (closed.status_code, closed.json_body["error"]) == (422, "booking_closed")
    finally:
        monkeypatch.delenv("BOOKING_CUTOFF")
        reset_settings()


def test_a_retried_post_with_the_same_idempotency_key_returns_the_first_result(client, make_slots, order):
    (slot_id,) = make_slots(capacity=5)
    me = uid("o")
    body = request(slot_id, order(me))
    # When the H5 page retries the same POST with its Idempotency-Key
    first = post(client, me, body, **{"Idempotency-Key": "k-123"})
    again = post(client, me, body, **{"Idempotency-Key": "k-123"})
    # Then both answers are the same booking and only one place is taken
    assert first.status_code == again.status_code == 201
    assert again.json_body == first.json_body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert remaining(slot_id) == 4
    # The same key with a different request is an error, not a silent replay
    other = post(client, me, {**body, "phone": "13900139000"}, **{"Idempotency-Key": "k-123"})
    assert (other.status_code, other.json_body["error"]) == (422, "idempotency_key_reused")
    # Keys are per customer: someone else's k-123 is a new booking
    someone = uid("o")
    theirs = post(client, someone, request(slot_id, order(someone)), **{"Idempotency-Key": "k-123"})
    assert theirs.status_code == 201 and theirs.json_body["booking_id"] != first.json_body["booking_id"]


def test_an_expired_idempotency_record_no_longer_replays(client, make_slots, order):
    from functions.core import clock

    (slot_id,) = make_slots(capacity=5)
    me = uid("o")
    first = post(client, me, request(slot_id, order(me)), **{"Idempotency-Key": "k-exp"})
    assert first.status_code == 201
    clock.set_now(clock.now() + timedelta(hours=25))
    later = post(client, me, request(slot_id, order(me)), **{"Idempotency-Key": "k-exp"})
    assert later.status_code == 201 and later.json_body["booking_id"] != first.json_body["booking_id"]


def test_someone_elses_order_cannot_be_booked(client, make_slots, order):
    (slot_id,) = make_slots(capacity=5)
    owner, intruder = uid("o"), uid("o")
    response = post(client, intruder, request(slot_id, order(owner)))
    assert (response.status_code, response.json_body["error"]) == (404, "order_not_found")
    assert remaining(slot_id) == 5


def test_an_order_not_recorded_yet_cannot_be_booked_by_anyone(client, make_slots, order):
    # Given an order id that is not recorded (yet): booking it would fill the slot and block
    # its real owner with 409 already_booked once the order is recorded
    (slot_id,) = make_slots(capacity=5)
    owner, intruder = uid("o"), uid("o")
    order_id = uid("SO")
    for caller in (intruder, owner):
        response = post(client, caller, request(slot_id, order_id))
        assert (response.status_code, response.json_body["error"]) == (404, "order_not_found")
    assert remaining(slot_id) == 5
    # Once recorded, its owner books it
    order(owner, order_id)
    assert post(client, owner, request(slot_id, order_id)).status_code == 201


def test_a_booking_counts_in_the_stores_daily_stats(client, make_slots, order):
    from functions.core import clock
    from functions.stores.stats import daily_stats

    (slot_id,) = make_slots(capacity=5)
    me, store_id = uid("o"), uid("store")
    assert post(client, me, request(slot_id, order(me, store_id=store_id))).status_code == 201
    today = clock.business_date()
    assert daily_stats(store_id, today, today)[0]["bookings"] == 1


def test_customers_see_and_change_only_their_own_bookings(client, make_slots, order):
    (slot_id, other_slot) = make_slots(capacity=5, windows=("09:00-12:00", "13:00-17:00"))
    owner, intruder = uid("o"), uid("o")
    booking_id = post(client, owner, request(slot_id, order(owner))).json_body["booking_id"]
    assert client.http.get("/bookings", headers=headers(intruder)).json_body == []
    for response in (
        client.http.get(f"/bookings/{booking_id}", headers=headers(intruder)),
        client.http.delete(f"/bookings/{booking_id}", headers=headers(intruder)),
        client.http.post(
            f"/bookings/{booking_id}/reschedule",
            headers=headers(intruder),
            body=json.dumps({"slot_id": other_slot}),
        ),
    ):
        assert (response.status_code, response.json_body["error"]) == (404, "booking_not_found")
    assert (
        client.http.get(f"/bookings/{booking_id}", headers=headers(owner)).json_body["status"] == "confirmed"
    )
    assert (remaining(slot_id), remaining(other_slot)) == (4, 5)


def test_reschedule_moves_the_place_and_a_full_target_changes_nothing(client, make_slots, order):
    (morning, afternoon, evening) = make_slots(
        capacity=1, windows=("09:00-12:00", "13:00-17:00", "18:00-20:00")
    )
    me, someone = uid("o"), uid("o")
    booking_id = post(client, me, request(morning, order(me))).json_body["booking_id"]
    assert post(client, someone, request(evening, order(someone))).status_code == 201  # evening is now full
    # When I move to the afternoon
    moved = client.http.post(
        f"/bookings/{booking_id}/reschedule", headers=headers(me), body=json.dumps({"slot_id": afternoon})
    )
    # Then the afternoon place is taken and the morning one released
    assert moved.status_code == 200, moved.json_body
    assert (moved.json_body["slot_id"], moved.json_body["status"]) == (afternoon, "confirmed")
    assert (remaining(morning), remaining(afternoon)) == (1, 0)
    assert notification(f"booking-{booking_id}-rescheduled-v2")["kind"] == "booking_rescheduled"
    # When I try the full evening
    refused = client.http.post(
        f"/bookings/{booking_id}/reschedule", headers=headers(me), body=json.dumps({"slot_id": evening})
    )
    # Then nothing changes anywhere
    assert (refused.status_code, refused.json_body["error"]) == (409, "slot_full")
    assert (remaining(morning), remaining(afternoon), remaining(evening)) == (1, 0, 0)
    assert client.http.get(f"/bookings/{booking_id}", headers=headers(me)).json_body["slot_id"] == afternoon


def test_reschedule_checks_the_target_slot_rules(client, make_slots, order):
    from functions.core import clock

    (slot_id,) = make_slots(capacity=2)
    me = uid("o")
    booking_id = post(client, me, request(slot_id, order(me))).json_body["booking_id"]
    tomorrow = (clock.business_date() + timedelta(days=1)).isoformat()
    (late,) = make_slots(capacity=2, day=tomorrow, windows=("23:00-24:00",))
    clock.set_now(clock.business_datetime(clock.business_date(), "18:30"))
    closed = client.http.post(
        f"/bookings/{booking_id}/reschedule", headers=headers(me), body=json.dumps({"slot_id": late})
    )
    assert (closed.status_code, closed.json_body["error"]) == (422, "booking_closed")
    unknown = client.http.post(
        f"/bookings/{booking_id}/reschedule", headers=headers(me), body=json.dumps({"slot_id": "x|y|z"})
    )
    assert (unknown.status_code, unknown.json_body["error"]) == (400, "invalid_slot_id")
    assert remaining(slot_id) == 1


def test_cancel_releases_capacity_once_even_when_sent_twice(client, make_slots, order):
    (slot_id,) = make_slots(capacity=2)
    me = uid("o")
    booking_id = post(client, me, request(slot_id, order(me))).json_body["booking_id"]
    assert remaining(slot_id) == 1
    # When the DELETE is sent twice
    first = client.http.delete(f"/bookings/{booking_id}", headers=headers(me))
    second = client.http.delete(f"/bookings/{booking_id}", headers=headers(me))
    # Then both answer cancelled and the place came back once
    assert first.status_code == second.status_code == 200
    assert first.json_body["status"] == second.json_body["status"] == "cancelled"
    assert remaining(slot_id) == 2
    assert notification(f"booking-{booking_id}-cancelled")["kind"] == "booking_cancelled"
    # And a cancelled booking cannot be moved
    moved = client.http.post(
        f"/bookings/{booking_id}/reschedule", headers=headers(me), body=json.dumps({"slot_id": slot_id})
    )
    assert (moved.status_code, moved.json_body["error"]) == (409, "booking_cancelled")


@pytest.mark.parametrize(
    "change, code",
    [
        ({"phone": "call me"}, "invalid_phone"),
        ({"phone": None}, "invalid_phone"),
        ({"address": ""}, "invalid_address"),
        ({"address": "x" * 201}, "invalid_address"),
        ({"order_id": 42}, "invalid_order_id"),
        ({"slot_id": None}, "invalid_slot_id"),
        # the grammar of CONTRACT §1, and no control characters in free text
        ({"order_id": "SO/1"}, "invalid_order_id"),
        ({"order_id": "x" * 65}, "invalid_order_id"),
        ({"address": "上海市\n浦东新区"}, "invalid_address"),
        ({"address": "   "}, "invalid_address"),
        ({"phone": "13800138000\n"}, "invalid_phone"),
    ],
)
def test_bad_booking_requests_are_400_and_take_nothing(client, make_slots, order, change, code):
    (slot_id,) = make_slots(capacity=1)
    me = uid("o")
    response = post(client, me, {**request(slot_id, order(me)), **change})
    assert (response.status_code, response.json_body["error"]) == (400, code)
    assert remaining(slot_id) == 1


def test_a_malformed_booking_id_is_400_and_an_unknown_one_404(client):
    me = uid("o")
    for method in ("get", "delete"):
        malformed = getattr(client.http, method)("/bookings/" + "x" * 65, headers=headers(me))
        assert (malformed.status_code, malformed.json_body["error"]) == (400, "invalid_booking_id")
        unknown = getattr(client.http, method)("/bookings/" + "0" * 32, headers=headers(me))
        assert (unknown.status_code, unknown.json_body["error"]) == (404, "booking_not_found")


def test_the_address_is_stored_without_surrounding_spaces(client, make_slots, order):
    (slot_id,) = make_slots(capacity=1)
    me = uid("o")
    booking_id = post(
        client, me, {**request(slot_id, order(me)), "address": "  上海市浦东新区1号 "}
    ).json_body["booking_id"]
    assert (
        client.http.get(f"/bookings/{booking_id}", headers=headers(me)).json_body["address"]
        == "上海市浦东新区1号"
    )


def test_booking_needs_a_signed_in_customer_and_json(client, make_slots, order):
    (slot_id,) = make_slots(capacity=1)
    me = uid("o")
    anonymous = client.http.post(
        "/bookings",
        headers={"Content-Type": "application/json"},
        body=json.dumps(request(slot_id, order(me))),
    )
    assert anonymous.status_code == 401
    garbled = client.http.post("/bookings", headers=headers(uid("o")), body="{not json")
    assert (garbled.status_code, garbled.json_body["error"]) == (400, "invalid_json")
    bad_key = post(client, me, request(slot_id, order(me)), **{"Idempotency-Key": "has space"})
    assert (bad_key.status_code, bad_key.json_body["error"]) == (400, "invalid_idempotency_key")
    assert remaining(slot_id) == 1


def test_the_menu_summary_lists_active_bookings(client, make_slots, order):
    from functions.bookings.summary import for_customer

    me = uid("o")
    assert for_customer(me) == "您还没有预约记录。"
    (slot_id, later) = make_slots(capacity=2, windows=("09:00-12:00", "13:00-17:00"))
    active, gone = order(me), order(me)
    post(client, me, request(slot_id, active))
    cancelled = post(client, me, request(later, gone)).json_body["booking_id"]
    client.http.delete(f"/bookings/{cancelled}", headers=headers(me))
    text = for_customer(me)
    assert "1个有效预约" in text and "09:00-12:00" in text and active in text and gone not in text
