"""Helpers for the console tests: operators with a cookie jar over chalice.test.Client, stores."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
PASSWORD = "correct horse battery"


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Page:
    status: int
    headers: dict[str, Any]
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("location") or self.headers.get("Location") or ""

    def path(self) -> str:
        parts = urlsplit(self.location)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    @property
    def csrf(self) -> str:
        found = CSRF.search(self.text)
        assert found, "the page has no form"
        return found.group(1)


@dataclass
class Browser:
    """An operator's browser: keeps the cookies the console sets."""

    client: Any
    cookies: dict[str, str] = field(default_factory=dict)
    set_cookies: list[str] = field(default_factory=list)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def _keep(self, response: Any) -> Page:
        raw = response.headers.get("Set-Cookie") or response.headers.get("set-cookie")
        for line in raw if isinstance(raw, list) else [raw] if raw else []:
            self.set_cookies.append(line)
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

    def login(self, username: str, password: str = PASSWORD) -> Page:
        return self.post("/console/login", {"username": username, "password": password})

    def submit(self, page_path: str, action: str, fields: dict[str, str]) -> Page:
        """Open the page, then send a form as a person would (its csrf_token included)."""
        opened = self.get(page_path)
        assert opened.status == 200, opened.text
        return self.post(action, {"csrf_token": opened.csrf, **fields})


def put_store(client: Any, admin_headers: dict[str, str], name: str = "静安旗舰店") -> str:
    store_id = uid("st")
    body = json.dumps({"name": name, "welcome": f"欢迎光临{name}"})
    response = client.http.put(f"/admin/stores/{store_id}", headers=admin_headers, body=body)
    assert response.status_code == 201, response.body
    return store_id


def put_operator(
    client: Any, admin_headers: dict[str, str], role: str = "admin", store_id: str | None = None
) -> str:
    username = uid("op")
    body = {"password": PASSWORD, "role": role, **({"store_id": store_id} if store_id else {})}
    response = client.http.put(f"/admin/operators/{username}", headers=admin_headers, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return username


@pytest.fixture
def browser(client: Any) -> Callable[[], Browser]:
    return lambda: Browser(client)


@pytest.fixture
def admin(client: Any, admin_headers: dict[str, str]) -> Browser:
    """A signed-in admin operator."""
    device = Browser(client)
    username = put_operator(client, admin_headers)
    assert device.login(username).status == 303
    return device


@pytest.fixture
def area(aws: str) -> Callable[..., tuple[str, list[str]]]:
    """`area(name, capacity)`: a fresh named area with two windows in three days; (area, slot ids)."""
    from datetime import timedelta

    from functions.bookings import areas, slots
    from functions.core import clock

    def make(name: str = "静安区", capacity: int = 3) -> tuple[str, list[str]]:
        area_id = uid("area")
        areas.put_area(area_id, name)
        day = (clock.business_date() + timedelta(days=3)).isoformat()
        keys = [slots.SlotKey(area_id, day, w) for w in ("09:00-12:00", "13:00-17:00")]
        slots.define_slots(keys, [capacity] * len(keys))
        return area_id, [k.slot_id for k in keys]

    return make
