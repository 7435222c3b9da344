"""Helpers for the page tests: a customer with a cookie jar over chalice.test.Client, orders,
areas with slots."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from tests.pages import Browser

CONTACT_FIELDS = {"address": "上海市静安区南京西路1号", "phone": "13800138000"}


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def days_ahead(n: int) -> str:
    from functions.core import clock

    return (clock.business_date() + timedelta(days=n)).isoformat()


class Phone(Browser):
    """A customer's phone: WeChat's browser over chalice.test.Client, keeping cookies."""


@pytest.fixture
def phone(client: Any) -> Callable[[str | None], Phone]:
    """`phone(openid)`: signed in as that customer (the session cookie /h5/auth would set)."""
    from functions.core.session import issue_token
    from functions.web.session import SESSION_COOKIE

    def make(openid: str | None = None) -> Phone:
        device = Phone(client)
        if openid:
            device.cookies[SESSION_COOKIE] = issue_token(openid)
        return device

    return make


def record_order(openid: str, area: str | None = None, order_id: str | None = None) -> str:
    from functions.core import clock
    from functions.orders.domain import OrderInput, record_order

    order_id = order_id or uid("SO")
    record_order(
        OrderInput(
            order_id=order_id,
            openid=openid,
            store_id=None,
            items=[{"sku": "WASHER-1", "qty": 1, "price_cents": 299900}],
            total_cents=299900,
            purchased_at=clock.iso(clock.now()),
            reminder_consent=None,
            shipment=None,
            area=area,
        )
    )
    return order_id


@pytest.fixture
def area(aws: str) -> Callable[..., tuple[str, list[str]]]:
    """`area(name, capacity, windows, day)`: a fresh named area with slots; (area, slot ids)."""
    from functions.bookings import areas, slots

    def make(
        name: str = "静安区",
        capacity: int = 3,
        windows: tuple[str, ...] = ("09:00-12:00", "13:00-17:00"),
        day: str | None = None,
        area_id: str | None = None,
    ) -> tuple[str, list[str]]:
        area_id = area_id or uid("area")
        if name:
            areas.put_area(area_id, name)
        keys = [
            slots.SlotKey(area_id, date.fromisoformat(day or days_ahead(3)).isoformat(), w) for w in windows
        ]
        slots.define_slots(keys, [capacity] * len(keys))
        return area_id, [k.slot_id for k in keys]

    return make
