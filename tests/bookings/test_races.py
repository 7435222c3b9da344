"""Many threads race on one slot against the moto server, calling the domain directly.

The invariant - a slot's `booked` equals its confirmed bookings and never exceeds capacity -
lives in DynamoDB conditions, so no interleaving of book / reschedule / cancel can break it.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.bookings.conftest import record_order
from tests.races import ask

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("patient_clients")]


def book(openid: str, slot_id: str, order_id: str | None = None) -> str:
    from functions.bookings import domain

    # One order per (customer, slot), sent with an Idempotency-Key: a racer's retry after a
    # transport failure (tests/races.py) is the same booking, never a second one.
    order_id = order_id or "order-" + hashlib.sha256(f"{openid}|{slot_id}".encode()).hexdigest()[:16]
    response, _ = domain.book(
        openid,
        domain.BookingRequest(
            slot_id, record_order(openid, order_id), "杭州市西湖区文三路1号", "13800138000"
        ),
        idempotency_key=order_id,
    )
    return response["booking_id"]


def outcome(call) -> str:
    """ "ok" or the refusal's code, once the call is answered (tests/races.py)."""
    return ask(call).code


def assert_counter_matches(slot_id: str, capacity: int) -> int:
    from functions.bookings import domain, slots

    slot = slots.get_slot(slots.parse_slot_id(slot_id))
    active = domain.active_bookings_in_slot(slot_id)
    assert slot.booked == len(active), (slot, len(active))
    assert 0 <= slot.booked <= capacity
    return slot.booked


def test_200_threads_racing_for_10_places_get_exactly_10(make_slots):
    # Given a slot with 10 places
    (slot_id,) = make_slots(capacity=10)
    start = threading.Barrier(200)

    def attempt(i: int) -> str:
        start.wait()
        return outcome(lambda: book(f"racer-{i}", slot_id))

    # When 200 customers book at the same moment
    with ThreadPoolExecutor(200) as pool:
        results = Counter(pool.map(attempt, range(200)))
    # Then exactly 10 succeed, the rest are told the slot is full, and nothing is left
    assert results == {"ok": 10, "slot_full": 190}
    assert assert_counter_matches(slot_id, 10) == 10
    from functions.bookings import slots

    assert slots.get_slot(slots.parse_slot_id(slot_id)).remaining == 0


def test_mixed_books_reschedules_and_cancels_keep_every_counter_exact(make_slots):
    from functions.bookings import domain

    # Given two slots of 10, half full, and more customers waiting
    slot_a, slot_b = make_slots(capacity=10, windows=("09:00-12:00", "13:00-17:00"))
    held = [(f"holder-{i}", book(f"holder-{i}", slot_a if i % 2 else slot_b)) for i in range(10)]
    rng = random.Random(7)
    jobs = []
    for i in range(60):
        choice = rng.random()
        if choice < 0.4:
            jobs.append(("book", f"new-{i}", rng.choice([slot_a, slot_b])))
        elif choice < 0.7:
            jobs.append(("reschedule", *rng.choice(held), rng.choice([slot_a, slot_b])))
        else:
            jobs.append(("cancel", *rng.choice(held)))
    start = threading.Barrier(len(jobs))

    def run(job) -> str:
        start.wait()
        if job[0] == "book":
            return outcome(lambda: book(job[1], job[2]))
        if job[0] == "reschedule":
            return outcome(lambda: domain.reschedule(job[1], job[2], job[3]))
        return outcome(lambda: domain.cancel(job[1], job[2]))

    # When they all run at once, while a watcher keeps reading both counters
    from functions.bookings import slots

    done, seen = threading.Event(), []

    def watch() -> None:
        while not done.is_set():
            seen.extend(slots.get_slot(slots.parse_slot_id(s)).booked for s in (slot_a, slot_b))

    watcher = threading.Thread(target=watch)
    watcher.start()
    with ThreadPoolExecutor(len(jobs)) as pool:
        results = Counter(pool.map(run, jobs))
    done.set()
    watcher.join()
    # Then no counter was ever seen outside 0..capacity
    assert seen and all(0 <= booked <= 10 for booked in seen)
    # And only the expected refusals happened, and each counter equals its active bookings
    assert set(results) <= {"ok", "slot_full", "booking_cancelled", "busy"}, results
    assert results["ok"] > 0
    assert assert_counter_matches(slot_a, 10) + assert_counter_matches(slot_b, 10) <= 20


def test_racing_cancels_release_the_place_exactly_once(make_slots):
    from functions.bookings import domain, slots

    (slot_id,) = make_slots(capacity=3)
    booking_id = book("canceller", slot_id)
    start = threading.Barrier(20)

    def cancel(_: int) -> str:
        start.wait()
        return ask(lambda: domain.cancel("canceller", booking_id)).value.status

    with ThreadPoolExecutor(20) as pool:
        statuses = set(pool.map(cancel, range(20)))
    assert statuses == {"cancelled"}
    assert slots.get_slot(slots.parse_slot_id(slot_id)).booked == 0


def test_racing_reschedules_of_one_booking_hold_exactly_one_place(make_slots):
    from functions.bookings import domain

    targets = make_slots(capacity=5, windows=("09:00-12:00", "12:00-14:00", "14:00-16:00", "16:00-18:00"))
    booking_id = book("mover", targets[0])
    start = threading.Barrier(24)

    def move(i: int) -> str:
        start.wait()
        return outcome(lambda: domain.reschedule("mover", booking_id, targets[i % 4]))

    with ThreadPoolExecutor(24) as pool:
        results = Counter(pool.map(move, range(24)))
    assert set(results) <= {"ok", "busy"}
    held = [assert_counter_matches(slot_id, 5) for slot_id in targets]
    assert sum(held) == 1
    final = domain.get_booking("mover", booking_id)
    assert held[targets.index(final.slot_id)] == 1
