"""Fixtures for the booking tests: unique areas, slots a few days ahead, signed-in customers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from tests.conftest import customer_headers


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def days_ahead(n: int) -> str:
    """A business date n days from now (n >= 2 is always before the cut-off)."""
    from functions.core import clock

    return (clock.business_date() + timedelta(days=n)).isoformat()


@pytest.fixture
def make_slots(aws: str) -> Callable[..., list[str]]:
    """Define windows in a fresh area through the domain; returns their slot ids."""
    from functions.bookings import slots

    def make(
        capacity: int = 10,
        windows: tuple[str, ...] = ("09:00-12:00",),
        day: str | None = None,
        area: str | None = None,
    ) -> list[str]:
        area = area or uid("area")
        day = day or days_ahead(3)
        keys = [slots.SlotKey(area, date.fromisoformat(day).isoformat(), w) for w in windows]
        slots.define_slots(keys, [capacity] * len(keys))
        return [k.slot_id for k in keys]

    return make


def record_order(openid: str, order_id: str | None = None, store_id: str | None = None) -> str:
    """Record an order of `openid` (the row POST /admin/orders stores, without its event) and
    return its id: only a recorded order of one's own can be booked (CONTRACT §3)."""
    from functions.core import clock
    from functions.orders.models import OrderRow

    order_id = order_id or uid("SO")
    OrderRow(
        f"ORDER#{order_id}",
        "ORDER",
        order_id=order_id,
        openid=openid,
        store_id=store_id,
        items=[{"sku": "WASHER-1", "qty": 1, "price_cents": 299900}],
        total_cents=299900,
        purchased_at=clock.iso(clock.now()),
    ).save()
    return order_id


@pytest.fixture
def order(aws: str) -> Callable[..., str]:
    """record_order, once the embedded AWS runs."""
    return record_order


def request(slot_id: str, order_id: str) -> dict[str, str]:
    return {
        "slot_id": slot_id,
        "order_id": order_id,
        "address": "上海市浦东新区世纪大道100号",
        "phone": "13800138000",
    }


def headers(openid: str, **extra: str) -> dict[str, str]:
    return {**customer_headers(openid), **extra}
