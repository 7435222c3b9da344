"""Fixtures for the booking tests: unique areas, slots a few days ahead, signed-in customers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
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


def _reset_connections() -> None:
    from pynamodb.models import Model

    from functions.core import aws as aws_clients
    from functions.core.models import transaction_connection

    pending = list(Model.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        model._connection = None
    transaction_connection.cache_clear()
    aws_clients.reset_clients()


@pytest.fixture
def patient_dynamodb(aws: str) -> Iterator[None]:
    """Longer DynamoDB timeouts while hundreds of threads race.

    The embedded moto server runs in this test process, serialises every DynamoDB request
    (infra/local/moto_patches.py) and shares the GIL with the racing client threads, so with
    200 of them a request can queue for more than the 2 s read timeout the app uses against
    AWS. A timeout here would test the laptop, not the invariant."""
    from botocore.config import Config

    from functions.core import aws as aws_clients
    from functions.core.models import TableMeta

    saved = (TableMeta.connect_timeout_seconds, TableMeta.read_timeout_seconds, aws_clients.CLIENT_CONFIG)
    TableMeta.connect_timeout_seconds, TableMeta.read_timeout_seconds = 10, 60
    aws_clients.CLIENT_CONFIG = Config(connect_timeout=10, read_timeout=60)
    _reset_connections()
    yield
    TableMeta.connect_timeout_seconds, TableMeta.read_timeout_seconds, aws_clients.CLIENT_CONFIG = saved
    _reset_connections()
