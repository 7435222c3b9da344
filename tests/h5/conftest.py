"""Helpers for the page tests: a customer with a cookie jar over chalice.test.Client, orders,
areas with slots."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
CONTACT_FIELDS = {"address": "上海市静安区南京西路1号", "phone": "13800138000"}


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def days_ahead(n: int) -> str:
    from functions.core import clock

    return (clock.business_date() + timedelta(days=n)).isoformat()


@dataclass
class Page:
    status: int
    headers: dict[str, Any]
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("location") or self.headers.get("Location") or ""

    @property
    def csrf(self) -> str:
        found = CSRF.search(self.text)
        assert found, "the page has no form"
        return found.group(1)

    def path(self) -> str:
        """The local path and query of the redirect."""
        parts = urlsplit(self.location)
        return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class Phone:
    """A customer's phone: WeChat's browser over chalice.test.Client, keeping cookies."""

    client: Any
    cookies: dict[str, str] = field(default_factory=dict)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def _keep(self, response: Any) -> Page:
        raw = response.headers.get("Set-Cookie") or response.headers.get("set-cookie")
        for line in raw if isinstance(raw, list) else [raw] if raw else []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        body = response.body.decode() if isinstance(response.body, bytes) else (response.body or "")
        return Page(response.status_code, dict(response.headers), body)

    def get(self, path: str) -> Page:
        return self._keep(self.client.http.get(path, headers=self._headers()))

    def post(self, path: str, fields: dict[str, str]) -> Page:
        headers = self._headers({"Content-Type": "application/x-www-form-urlencoded"})
        return self._keep(self.client.http.post(path, headers=headers, body=urlencode(fields)))

    def submit(self, page_path: str, action: str, fields: dict[str, str]) -> Page:
        """Open the page, then send its form as a person would (its csrf_token included)."""
        opened = self.get(page_path)
        assert opened.status == 200, opened.text
        return self.post(action, {"csrf_token": opened.csrf, **fields})


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
