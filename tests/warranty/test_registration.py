"""Serials and warranty registration through the routes (chalice.test.Client on moto)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tests.bookings.conftest import record_order as own_order
from tests.warranty.conftest import call, customer, notification, record_order, register, serial_of, uid

BUSINESS = "+08:00"


def at_business(day: str, hhmm: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00{BUSINESS}")


# -- POST /admin/serials ------------------------------------------------------------------


def test_ops_register_serials_normalised_and_a_repeat_changes_nothing(client, product):
    sku = product()
    raw = ["ab12-34", "XYZ789", "xyz789"]
    first = call(client, "POST", "/admin/serials", {"sku": sku, "serials": raw})
    assert first.status_code == 201
    assert first.json_body["serials"] == ["AB12-34", "XYZ789"]
    assert (first.json_body["created"], first.json_body["existing"]) == (2, 0)
    again = call(client, "POST", "/admin/serials", {"sku": sku, "serials": ["AB12-34"]})
    assert (again.json_body["created"], again.json_body["existing"]) == (0, 1)


def test_one_bad_serial_refuses_the_whole_list_before_any_write(client, product):
    from functions.warranty.serials import get_unit

    sku = product()
    good = serial_of()
    refused = call(client, "POST", "/admin/serials", {"sku": sku, "serials": [good, "bad/serial"]})
    assert refused.status_code == 400 and refused.json_body["error"] == "invalid_serials"
    assert get_unit(good) is None


def test_a_serial_known_under_another_sku_refuses_the_whole_list(client, product, units):
    from functions.warranty.serials import get_unit

    first_sku, other_sku = product(), product()
    [taken] = units(first_sku)
    fresh = serial_of()
    refused = call(client, "POST", "/admin/serials", {"sku": other_sku, "serials": [fresh, taken]})
    assert refused.status_code == 409 and refused.json_body["error"] == "serial_sku_conflict"
    assert get_unit(fresh) is None and get_unit(taken).sku == first_sku


def test_at_most_1000_serials_a_call(client, product):
    sku = product()
    too_many = call(client, "POST", "/admin/serials", {"sku": sku, "serials": [f"S{i}" for i in range(1001)]})
    assert too_many.status_code == 400 and too_many.json_body["error"] == "invalid_serials"


def test_a_thousand_serials_in_one_call(client, product):
    sku = product()
    batch = [serial_of("K") for _ in range(1000)]
    response = call(client, "POST", "/admin/serials", {"sku": sku, "serials": batch})
    assert response.status_code == 201 and response.json_body["created"] == 1000


# -- POST /warranty/registrations ---------------------------------------------------------


def test_a_customer_registers_again_200_another_409_unknown_404(client, product, units):
    sku = product(months=12)
    [serial] = units(sku)
    alice, bob = uid("o"), uid("o")
    # Either case: the answer carries the stored, normalised serial
    first = register(client, alice, serial.lower())
    assert first.status_code == 201, first.json_body
    assert first.json_body["serial"] == serial and first.json_body["sku"] == sku
    assert register(client, alice, serial).status_code == 200
    taken = register(client, bob, serial)
    assert (taken.status_code, taken.json_body["error"]) == (409, "already_registered")
    unknown = register(client, bob, serial_of())
    assert (unknown.status_code, unknown.json_body["error"]) == (404, "serial_not_found")
    # Alice's products list it; Bob's does not
    mine = call(client, "GET", "/warranty", headers=customer(alice)).json_body
    assert [p["serial"] for p in mine] == [serial]
    assert call(client, "GET", "/warranty", headers=customer(bob)).json_body == []


def test_warranty_until_counts_calendar_months_from_the_registration_or_the_purchase(client, product, units):
    from functions.core import clock

    sku = product(months=1)
    first, second = units(sku, 2)
    clock.set_now(at_business("2025-01-31"))
    by_registration = register(client, uid("o"), first)
    assert by_registration.json_body["warranty_until"] == "2025-02-28"
    assert by_registration.json_body["status"] == "in_warranty"
    by_purchase = register(client, uid("o"), second, purchased_on="2024-12-31")
    assert by_purchase.json_body["warranty_until"] == "2025-01-31"
    assert by_purchase.json_body["purchased_on"] == "2024-12-31"
    clock.set_now(at_business("2025-02-01"))
    assert by_purchase.json_body["status"] == "in_warranty"
    mine = call(client, "GET", "/warranty", headers=customer(by_purchase_owner(second))).json_body
    assert mine[0]["status"] == "expired"


def by_purchase_owner(serial: str) -> str:
    from functions.warranty.serials import get_unit

    return get_unit(serial).openid


def test_registration_refuses_bad_input_and_a_future_purchase(client, product, units):
    [serial] = units(product())
    openid = uid("o")
    future = (date.today() + timedelta(days=3)).isoformat()
    assert (
        register(client, openid, serial, purchased_on=future).json_body["error"] == "purchased_on_in_future"
    )
    assert register(client, openid, "no/slash").json_body["error"] == "invalid_serial"
    assert register(client, openid, "ＳＮ１").json_body["error"] == "invalid_serial"  # the pages normalise
    assert register(client, openid, serial, purchased_on="2025-02-30").status_code == 400
    assert call(client, "POST", "/warranty/registrations", {"serial": serial}, {}).status_code == 401
    # Nothing was registered by the refusals
    assert register(client, openid, serial).status_code == 201


def test_the_customer_gets_the_e_warranty_message_once(client, product, units):
    [serial] = units(product())
    openid = uid("o")
    register(client, openid, serial)
    register(client, openid, serial)
    sent = notification(f"warranty-{serial}-{openid}")
    assert sent["kind"] == "warranty_registered" and sent["openid"] == openid
    assert sent["url"].endswith(f"/h5/warranty?sn={serial}")
    assert sent["fields"]["serial"] == serial


def test_a_product_without_warranty_months_has_no_warranty(client, product, units):
    [serial] = units(product(months=None))
    answer = register(client, uid("o"), serial).json_body
    assert (answer["warranty_until"], answer["status"]) == (None, "no_warranty")


# -- serials on an order, and the delivery that installs them -------------------------------


def test_serials_on_an_order_register_to_the_buyer_with_the_purchase_date(client, product):
    sku = product(months=24)
    serial = serial_of()
    buyer = uid("o")
    recorded = record_order(
        client,
        buyer,
        [{"sku": sku, "qty": 1, "price_cents": 100, "serials": [serial.lower()]}],
        purchased_at="2025-03-31T12:00:00+08:00",
    )
    assert recorded.status_code == 201, recorded.json_body
    assert recorded.json_body["items"][0]["serials"] == [serial]
    [card] = call(client, "GET", "/warranty", headers=customer(buyer)).json_body
    assert (card["serial"], card["purchased_on"], card["warranty_until"]) == (
        serial,
        "2025-03-31",
        "2027-03-31",
    )
    # The buyer scanning the printed code is told it is theirs already
    assert register(client, buyer, serial).status_code == 200
    assert notification(f"warranty-{serial}-{buyer}")["kind"] == "warranty_registered"


def test_an_order_with_another_customers_serial_is_refused_whole(client, product, units):
    from functions.orders.domain import get_order

    sku = product()
    [serial] = units(sku)
    register(client, uid("o"), serial)
    order = record_order(client, uid("o"), [{"sku": sku, "qty": 1, "price_cents": 100, "serials": [serial]}])
    assert (order.status_code, order.json_body["error"]) == (409, "already_registered")
    assert get_order(order.json_body.get("order_id", "nothing")) is None


def test_an_order_refuses_more_serials_than_units_and_a_serial_twice(client, product):
    sku = product()
    twice = serial_of()
    too_many = record_order(
        client, uid("o"), [{"sku": sku, "qty": 1, "price_cents": 1, "serials": [serial_of(), serial_of()]}]
    )
    assert too_many.status_code == 422 and too_many.json_body["error"] == "serials_exceed_qty"
    repeated = record_order(
        client,
        uid("o"),
        [
            {"sku": sku, "qty": 1, "price_cents": 1, "serials": [twice]},
            {"sku": product(), "qty": 1, "price_cents": 1, "serials": [twice.lower()]},
        ],
    )
    assert repeated.status_code == 400 and repeated.json_body["error"] == "invalid_serials"


def book_delivery(client, openid: str, order_id: str, slot_id: str) -> str:
    body = {
        "slot_id": slot_id,
        "order_id": order_id,
        "address": "上海市静安区南京西路1号",
        "phone": "13800138000",
    }
    response = call(client, "POST", "/bookings", body, customer(openid))
    assert response.status_code == 201, response.json_body
    return response.json_body["booking_id"]


def test_a_completed_delivery_registers_its_serials_with_the_installation_date(
    client, product, units, make_slots
):
    from functions.core import clock

    sku = product(months=12)
    [serial] = units(sku)
    buyer = uid("o")
    order_id = record_order(client, buyer, [{"sku": sku, "qty": 1, "price_cents": 100}]).json_body["order_id"]
    (slot_id,) = make_slots(capacity=2)
    booking_id = book_delivery(client, buyer, order_id, slot_id)
    day = slot_id.split("|")[1]
    clock.set_now(at_business(day, "15:00"))
    done = call(client, "POST", f"/admin/bookings/{booking_id}/complete", {"serials": [serial]})
    assert done.status_code == 200, done.json_body
    assert (done.json_body["status"], done.json_body["completed_on"]) == ("done", day)
    [card] = call(client, "GET", "/warranty", headers=customer(buyer)).json_body
    assert (card["installed_on"], card["start_date"]) == (day, day)
    expected_end = date.fromisoformat(day).replace(year=date.fromisoformat(day).year + 1)
    assert card["warranty_until"] == expected_end.isoformat()
    # Completing again changes nothing; the booking no longer offers itself for a reminder
    again = call(client, "POST", f"/admin/bookings/{booking_id}/complete")
    assert again.status_code == 200 and again.json_body["completed_on"] == day


def test_a_completion_with_an_unknown_or_anothers_serial_changes_nothing(client, product, units, make_slots):
    sku = product()
    [theirs] = units(sku)
    register(client, uid("o"), theirs)
    buyer = uid("o")
    order_id = record_order(client, buyer, [{"sku": sku, "qty": 1, "price_cents": 100}]).json_body["order_id"]
    (slot_id,) = make_slots()
    booking_id = book_delivery(client, buyer, order_id, slot_id)
    unknown = call(client, "POST", f"/admin/bookings/{booking_id}/complete", {"serials": [serial_of()]})
    assert (unknown.status_code, unknown.json_body["error"]) == (404, "serial_not_found")
    taken = call(client, "POST", f"/admin/bookings/{booking_id}/complete", {"serials": [theirs]})
    assert (taken.status_code, taken.json_body["error"]) == (409, "already_registered")
    booking = call(client, "GET", f"/bookings/{booking_id}", headers=customer(buyer)).json_body
    assert booking["status"] == "confirmed"
    missing = call(client, "POST", "/admin/bookings/nope/complete", {})
    assert missing.status_code == 404


def test_a_cancelled_booking_cannot_be_completed(client, make_slots):
    buyer = uid("o")
    (slot_id,) = make_slots()
    booking_id = book_delivery(client, buyer, own_order(buyer), slot_id)
    call(client, "DELETE", f"/bookings/{booking_id}", headers=customer(buyer))
    refused = call(client, "POST", f"/admin/bookings/{booking_id}/complete", {})
    assert (refused.status_code, refused.json_body["error"]) == (409, "booking_cancelled")


def test_warranty_months_on_the_product_route(client):
    sku = uid("AC")
    put = call(client, "PUT", f"/admin/products/{sku}", {"name": "冰箱", "warranty_months": 36})
    assert put.json_body["warranty_months"] == 36
    assert call(client, "GET", f"/admin/products/{sku}").json_body["warranty_months"] == 36
    bad = call(client, "PUT", f"/admin/products/{sku}", {"name": "冰箱", "warranty_months": -1})
    assert bad.status_code == 400 and bad.json_body["error"] == "invalid_warranty_months"
