"""Helpers for the warranty tests: products with a warranty, manufactured serials, orders that
carry serials, delivery bookings and repair slots, through the real routes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.bookings.conftest import days_ahead, make_slots, uid  # noqa: F401 - fixtures
from tests.conftest import customer_headers

ADMIN = {"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"}


def serial_of(prefix: str = "SN") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12].upper()}"


def customer(openid: str, **extra: str) -> dict[str, str]:
    return {**customer_headers(openid), "Content-Type": "application/json", **extra}


def call(client: Any, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    send = getattr(client.http, method.lower())
    kwargs: dict[str, Any] = {"headers": headers or ADMIN}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    return send(path, **kwargs)


@pytest.fixture
def product(client: Any) -> Any:
    """`product(months)`: a fresh SKU with `warranty_months`; returns the SKU."""

    def make(months: int | None = 12, name: str = "海尔空调 KFR-35") -> str:
        sku = uid("AC")
        body = {"name": name, **({"warranty_months": months} if months is not None else {})}
        response = call(client, "PUT", f"/admin/products/{sku}", body)
        assert response.status_code == 200, response.json_body
        return sku

    return make


@pytest.fixture
def units(client: Any) -> Any:
    """`units(sku, n)`: n manufactured serials of the SKU, registered by ops."""

    def make(sku: str, n: int = 1) -> list[str]:
        serials = [serial_of() for _ in range(n)]
        response = call(client, "POST", "/admin/serials", {"sku": sku, "serials": serials})
        assert response.status_code == 201, response.json_body
        return serials

    return make


def record_order(client: Any, openid: str, lines: list[dict[str, Any]], **extra: Any) -> Any:
    body = {
        "order_id": uid("SO"),
        "openid": openid,
        "items": lines,
        "total_cents": 100,
        **extra,
    }
    return call(client, "POST", "/admin/orders", body)


def register(client: Any, openid: str, serial: str, **extra: Any) -> Any:
    return call(client, "POST", "/warranty/registrations", {"serial": serial, **extra}, customer(openid))


def notification(notification_id: str) -> dict[str, Any] | None:
    from functions.notifications.domain import get_notification

    return get_notification(notification_id)
