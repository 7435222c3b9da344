"""Races against the moto server, calling the domain as the routes do (tests/races.py helpers)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.bookings.conftest import record_order as own_order
from tests.races import ask
from tests.warranty.conftest import serial_of, uid

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("patient_clients")]


def test_50_customers_racing_to_register_one_serial_exactly_one_wins(aws):
    from functions.reminders.products import Product, put_product
    from functions.warranty import serials

    # Given one manufactured unit
    sku = uid("AC")
    put_product(Product(sku=sku, name="空调", replenish_days=None, warranty_months=12))
    serial = serial_of()
    serials.add_serials(sku, [serial])
    start = threading.Barrier(50)

    def attempt(i: int) -> tuple[str, str]:
        start.wait()
        # A racer retried after a transport failure is the same customer again: 200, not a second win
        answer = ask(lambda: serials.register(f"racer-{i}", serial))
        if answer.refusal is not None:
            return f"racer-{i}", answer.code
        return f"racer-{i}", "created" if answer.value[1] or answer.retries else "again"

    # When 50 customers scan and register it at the same moment
    with ThreadPoolExecutor(50) as pool:
        results = dict(pool.map(attempt, range(50)))
    # Then exactly one owns it, and every other is told it is registered already
    winners = [openid for openid, code in results.items() if code in ("created", "again")]
    assert len(winners) == 1, results
    assert Counter(results.values())["already_registered"] == 49
    assert serials.get_unit(serial).openid == winners[0]


def test_a_repair_visit_and_deliveries_racing_for_the_last_places_never_overbook(aws, make_slots):
    from functions.bookings import domain as bookings
    from functions.bookings import slots
    from functions.reminders.products import Product, put_product
    from functions.warranty import serials, service

    # Given a slot with 3 places, 2 of them taken by deliveries already
    (slot_id,) = make_slots(capacity=3)
    for i in range(2):
        bookings.book(
            f"early-{i}",
            bookings.BookingRequest(slot_id, own_order(f"early-{i}"), "上海市静安区", "13800138000"),
        )
    # ... and 5 open repair requests
    sku = uid("AC")
    put_product(Product(sku=sku, name="空调", replenish_days=None, warranty_months=12))
    requests = []
    for i in range(5):
        serial = serial_of()
        serials.add_serials(sku, [serial])
        serials.register(f"owner-{i}", serial)
        requests.append(service.open_request(f"owner-{i}", serial, "不制冷")[0]["request_id"])
    start = threading.Barrier(25)

    def deliver(i: int) -> str:
        order_id = own_order(f"late-{i}", f"race-{slot_id}-{i}")
        start.wait()
        request = bookings.BookingRequest(slot_id, order_id, "上海市静安区", "13800138000")
        return ask(lambda: bookings.book(f"late-{i}", request, idempotency_key=order_id)).code

    def repair(request_id: str) -> str:
        start.wait()
        return ask(lambda: service.schedule(request_id, slot_id)).code

    # When 20 deliveries and 5 repair visits race for the last place
    with ThreadPoolExecutor(25) as pool:
        racing = [pool.submit(deliver, i) for i in range(20)] + [pool.submit(repair, r) for r in requests]
        outcomes = [future.result() for future in racing]
    # Then exactly one of them got it, the rest were told the slot is full
    assert Counter(outcomes) == {"ok": 1, "slot_full": 24}, Counter(outcomes)
    slot = slots.get_slot(slots.parse_slot_id(slot_id))
    deliveries = len(bookings.active_bookings_in_slot(slot_id))
    visits = sum(service.get_request(r).status == "scheduled" for r in requests)
    assert slot.booked == deliveries + visits == 3


def test_racing_cancellations_of_a_visit_release_its_place_once(aws, make_slots):
    from functions.bookings import slots
    from functions.reminders.products import Product, put_product
    from functions.warranty import serials, service

    (slot_id, other) = make_slots(capacity=2, windows=("09:00-12:00", "13:00-17:00"))
    sku = uid("AC")
    put_product(Product(sku=sku, name="空调", replenish_days=None, warranty_months=12))
    serial = serial_of()
    serials.add_serials(sku, [serial])
    serials.register("owner", serial)
    request_id = service.open_request("owner", serial, "不制冷")[0]["request_id"]
    service.schedule(request_id, slot_id)
    start = threading.Barrier(12)

    def change(i: int) -> str:
        start.wait()
        if i % 3 == 0:
            return ask(lambda: service.schedule(request_id, other)).code
        return ask(lambda: service.cancel(request_id)).code

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(change, range(12)))
    held = service.get_request(request_id)
    counts = [slots.get_slot(slots.parse_slot_id(s)).booked for s in (slot_id, other)]
    # Whatever the order, the visit holds at most one place, and only if it is still scheduled
    expected = [int(held.status == "scheduled" and held.slot_id == s) for s in (slot_id, other)]
    assert counts == expected, (held, counts)
