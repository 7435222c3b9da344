"""Helpers for the console tests: operators with a cookie jar over chalice.test.Client, stores."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests import pages
from tests.pages import Page

PASSWORD = "correct horse battery"


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Browser(pages.Browser):
    """An operator's browser: keeps the cookies the console sets."""

    def login(self, username: str, password: str = PASSWORD) -> Page:
        return self.post("/console/login", {"username": username, "password": password})


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
