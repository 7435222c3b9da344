"""Property: any sequence of book / reschedule / cancel / capacity changes from several
customers keeps `booked == active bookings <= capacity` for every slot, each call has the
outcome a simple model predicts, and every booking's stored state has its message."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from functions.core.errors import AppError
from tests.bookings.conftest import days_ahead, record_order

CUSTOMERS = ("c0", "c1", "c2")
WINDOWS = ("09:00-12:00", "13:00-17:00")
ORDERS = 6


def outcome(call) -> str:
    try:
        call()
    except AppError as error:
        return error.code
    return "ok"


class BookingMachine(RuleBasedStateMachine):
    bookings = Bundle("bookings")

    @initialize(capacities=st.tuples(st.integers(1, 2), st.integers(1, 2)))
    def define_slots(self, capacities):
        from functions.bookings import slots

        self.area = f"prop-{uuid.uuid4().hex[:10]}"
        day = days_ahead(3)
        keys = [slots.SlotKey(self.area, day, w) for w in WINDOWS]
        slots.define_slots(keys, list(capacities))
        self.slots = [k.slot_id for k in keys]
        self.capacity = dict(zip(self.slots, capacities, strict=True))
        # Each order is recorded, and belongs to one of the customers
        self.owner: dict[str, str] = {}
        for n in range(ORDERS):
            customer = CUSTOMERS[n % len(CUSTOMERS)]
            self.owner[record_order(customer, f"{self.area}-order-{n}")] = customer
        # The model: booking_id -> (openid, order_id, slot_id or None when cancelled)
        self.model: dict[str, tuple[str, str, str | None]] = {}

    def booked(self, slot_id: str) -> int:
        return sum(1 for _, _, s in self.model.values() if s == slot_id)

    def active_orders(self) -> set[str]:
        return {order for _, order, s in self.model.values() if s is not None}

    @rule(
        target=bookings,
        customer=st.sampled_from(CUSTOMERS),
        slot=st.integers(0, 1),
        order=st.integers(0, ORDERS - 1),
    )
    def book(self, customer, slot, order):
        from functions.bookings import domain

        slot_id, order_id = self.slots[slot], f"{self.area}-order-{order}"
        if self.owner[order_id] != customer:
            expected = "order_not_found"
        elif self.booked(slot_id) >= self.capacity[slot_id]:
            expected = "slot_full"
        elif order_id in self.active_orders():
            expected = "already_booked"
        else:
            expected = "ok"
        result: dict = {}

        def call():
            result["r"], _ = domain.book(
                customer, domain.BookingRequest(slot_id, order_id, "上海市徐汇区1号", "13800138000")
            )

        assert outcome(call) == expected
        if expected != "ok":
            return multiple()
        booking_id = result["r"]["booking_id"]
        self.model[booking_id] = (customer, order_id, slot_id)
        return booking_id

    @rule(booking_id=bookings, slot=st.integers(0, 1))
    def reschedule(self, booking_id, slot):
        from functions.bookings import domain

        openid, order_id, current = self.model[booking_id]
        target = self.slots[slot]
        if current is None:
            expected = "booking_cancelled"
        elif current != target and self.booked(target) >= self.capacity[target]:
            expected = "slot_full"
        else:
            expected = "ok"
        assert outcome(lambda: domain.reschedule(openid, booking_id, target)) == expected
        if expected == "ok":
            self.model[booking_id] = (openid, order_id, target)

    @rule(
        target=bookings,
        customer=st.sampled_from(CUSTOMERS),
        slot=st.integers(0, 1),
        order=st.integers(0, ORDERS - 1),
    )
    def book_more(self, customer, slot, order):
        # Booking is drawn twice as often as the other calls, so slots fill up.
        return self.book(customer, slot, order)

    @rule(booking_id=bookings, other=st.sampled_from(CUSTOMERS))
    def cancel(self, booking_id, other):
        from functions.bookings import domain

        openid, order_id, _ = self.model[booking_id]
        if other != openid:  # someone else's booking is invisible to them
            assert outcome(lambda: domain.cancel(other, booking_id)) == "booking_not_found"
        assert domain.cancel(openid, booking_id).status == "cancelled"
        self.model[booking_id] = (openid, order_id, None)

    @rule(slot=st.integers(0, 1), capacity=st.integers(0, 3))
    def ops_change_capacity(self, slot, capacity):
        from functions.bookings import slots

        slot_id = self.slots[slot]
        key = slots.parse_slot_id(slot_id)
        expected = "capacity_below_booked" if capacity < self.booked(slot_id) else "ok"
        assert outcome(lambda: slots.define_slots([key], [capacity])) == expected
        if expected == "ok":
            self.capacity[slot_id] = capacity

    @invariant()
    def counters_equal_active_bookings(self):
        from functions.bookings import domain, slots

        if not hasattr(self, "slots"):
            return
        for slot_id in self.slots:
            slot = slots.get_slot(slots.parse_slot_id(slot_id))
            active = domain.active_bookings_in_slot(slot_id)
            assert slot.booked == len(active) == self.booked(slot_id)
            assert slot.booked <= slot.capacity == self.capacity[slot_id]

    @invariant()
    def every_stored_state_has_its_message(self):
        from functions.bookings import domain
        from functions.notifications.domain import get_notification

        kinds = {"confirmed": "booking_confirmed", "cancelled": "booking_cancelled"}
        for booking_id, (openid, _, _) in getattr(self, "model", {}).items():
            booking = domain.get_booking(openid, booking_id)
            message = get_notification(domain.message_id(booking))
            assert message is not None and message["openid"] == openid
            expected = (
                "booking_rescheduled" if booking.version > 1 and booking.status == "confirmed" else None
            )
            assert message["kind"] == (expected or kinds[booking.status])


def test_no_sequence_of_calls_breaks_the_slot_invariant(aws):
    run_state_machine_as_test(
        BookingMachine,
        settings=settings(
            max_examples=8,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
