"""The invariants under concurrency and over arbitrary event sequences:
the status never moves back, history keeps each event once, one message per status change
(recorded with the change, in the outbox)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.core.http import decode_json
from functions.logistics import pushes, shipments
from functions.logistics import status as machine
from functions.logistics.requests import NativeEvent
from functions.logistics.shipments import get_shipment, notification_id
from functions.orders.domain import OrderInput, record_order
from tests.logistics.support import kuaidi100_param, native_body, unique
from tests.races import ask


def recorded(openid: str) -> list[str]:
    """The shipment messages recorded for the customer (the outbox), oldest first."""
    from functions.notifications.domain import customer_notifications

    found = customer_notifications(openid, limit=200)
    return [n["notification_id"] for n in reversed(found) if n["kind"] == "shipment_status"]


def linked_shipment(carrier: str = "acme") -> tuple[str, str]:
    tracking_no, openid = unique("T"), unique("o-")
    record_order(
        OrderInput(
            order_id=unique("ord-"),
            openid=openid,
            store_id=None,
            items=[{"sku": "AC-1", "qty": 1, "price_cents": 100}],
            total_cents=100,
            purchased_at="2024-05-01T00:00:00Z",
            reminder_consent=None,
            shipment={"carrier": carrier, "tracking_no": tracking_no},
        )
    )
    return tracking_no, openid


def native(tracking_no: str, status: str, at: str, event_id: str) -> shipments.Push:
    return pushes.native_push(
        decode_json(native_body(tracking_no, status, at, event_id=event_id), NativeEvent)
    )


@pytest.mark.slow
@pytest.mark.usefixtures("patient_clients")
def test_racing_identical_kuaidi100_pushes_move_the_status_once(aws):
    tracking_no, openid = linked_shipment("yuantong")
    entries = [
        ("2024-05-01 08:00:00", "已揽收", "1"),
        ("2024-05-01 20:00:00", "到达上海", "0"),
        ("2024-05-02 08:00:00", "派件中", "5"),
    ]
    param = kuaidi100_param(tracking_no, entries, "5")
    barrier = threading.Barrier(16)

    def one() -> shipments.IngestResult:
        barrier.wait()
        return ask(lambda: shipments.ingest(pushes.parse_kuaidi100(param))).value

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: one(), range(16)))
    assert sum(1 for r in results if r.changed_to) == 1
    assert sum(r.new_events for r in results) == 3
    assert recorded(openid) == [notification_id("yuantong", tracking_no, "out_for_delivery", 30)]
    assert len(get_shipment("yuantong", tracking_no).history) == 3


@pytest.mark.slow
@pytest.mark.usefixtures("patient_clients")
def test_racing_different_events_message_each_change_once(aws):
    tracking_no, openid = linked_shipment()
    events = [
        ("picked_up", "2024-05-01T08:00:00Z"),
        ("in_transit", "2024-05-01T12:00:00Z"),
        ("exception", "2024-05-01T13:00:00Z"),
        ("out_for_delivery", "2024-05-02T01:00:00Z"),
        ("failed_attempt", "2024-05-02T03:00:00Z"),
        ("delivered", "2024-05-03T03:00:00Z"),
    ]
    pushes_to_send = [native(tracking_no, s, at, f"ev-{i}") for i, (s, at) in enumerate(events)] * 4
    barrier = threading.Barrier(len(pushes_to_send))

    def one(push: shipments.Push) -> shipments.IngestResult:
        barrier.wait()
        return ask(lambda: shipments.ingest(push)).value

    with ThreadPoolExecutor(len(pushes_to_send)) as pool:
        results = list(pool.map(one, pushes_to_send))
    stored = get_shipment("acme", tracking_no)
    assert stored.status == "delivered"
    assert len(stored.history) == len(events)
    changes = [r.changed_to for r in results if r.changed_to]
    assert len(recorded(openid)) == len(changes)
    assert len(set(recorded(openid))) == len(changes)
    assert recorded(openid)[-1] == notification_id("acme", tracking_no, "delivered", 50)


@pytest.mark.slow
@pytest.mark.usefixtures("patient_clients")
def test_an_order_racing_its_first_pushes_is_told_the_final_status(aws):
    tracking_no, openid, order_id = unique("T"), unique("o-"), unique("ord-")
    events = [("picked_up", "2024-05-01T08:00:00Z"), ("in_transit", "2024-05-01T12:00:00Z")]
    work = [native(tracking_no, s, at, f"ev-{i}") for i, (s, at) in enumerate(events)] * 3
    barrier = threading.Barrier(len(work) + 1)

    def push_one(push: shipments.Push) -> None:
        barrier.wait()
        ask(lambda: shipments.ingest(push))

    def order() -> None:
        barrier.wait()
        ask(
            lambda: record_order(
                OrderInput(
                    order_id,
                    openid,
                    None,
                    [{"sku": "A", "qty": 1, "price_cents": 1}],
                    1,
                    "2024-05-01T00:00:00Z",
                    None,
                    {"carrier": "acme", "tracking_no": tracking_no},
                )
            )
        )

    with ThreadPoolExecutor(len(work) + 1) as pool:
        futures = [pool.submit(push_one, p) for p in work] + [pool.submit(order)]
        for f in futures:
            f.result()
    # Whatever the interleaving, the customer is told the final status (ids are deterministic,
    # so a repeated announcement is one notification).
    assert notification_id("acme", tracking_no, "in_transit", 20) in recorded(openid)


# -- properties ---------------------------------------------------------------------------

STATUS = st.sampled_from(machine.STATUSES)
HOUR = st.integers(min_value=0, max_value=30)
EVENTS = st.lists(st.tuples(STATUS, HOUR, st.integers(0, 11)), min_size=1, max_size=10)


def at(hour: int) -> str:
    return f"2024-05-{1 + hour // 24:02d}T{hour % 24:02d}:00:00Z"


@settings(max_examples=400, deadline=None)
@given(EVENTS)
def test_machine_never_moves_back_and_ignores_arrival_order_on_the_main_line(events):
    state = machine.State()
    for status, hour, _ in events:
        moved = machine.advance(state, status, at(hour))
        if moved is not None:
            assert moved.position > state.position
            assert moved.status != state.status or moved.status == "exception"
            state = moved
    main = [(s, at(h)) for s, h, _ in events if s != "exception"]
    if len(main) == len(events):
        # Without the exception branch, the result is the highest status, whatever the order.
        best = max(main, key=lambda e: machine.FIXED_POSITION[e[0]])[0]
        assert state.status == best


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(EVENTS)
def test_stored_status_follows_the_machine_and_messages_equal_transitions(aws, events):
    tracking_no, openid = linked_shipment()
    model = machine.State()
    expected_messages = []
    last_position = 0
    for status, hour, event_no in events:
        # event_no repeats model re-pushed events: the same id is the same event
        shipments.ingest(native(tracking_no, status, at(hour), f"ev-{event_no}-{status}-{hour}"))
        moved = machine.advance(model, status, at(hour))
        if moved is not None:
            model = moved
            expected_messages.append(notification_id("acme", tracking_no, moved.status, moved.position))
        row = shipments.ShipmentRow.get(shipments.shipment_pk("acme", tracking_no), "SHIPMENT")
        assert row.status == model.status
        assert int(row.position or 0) >= last_position  # never backwards
        last_position = int(row.position or 0)
    assert recorded(openid) == expected_messages
    distinct = {(s, h, n) for s, h, n in events}
    assert len(get_shipment("acme", tracking_no).history) == len(distinct)
