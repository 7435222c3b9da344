"""Helpers for the inbox tests: a follower of a store (through a QR code), their questions as
WeChat delivers them, and the inbox's admin routes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.local.wechat_sim import WeChat, deliver
from tests.callback.conftest import settings_env  # noqa: F401 - a fixture
from tests.callback.stories import ADMIN, new_id, open_store, qr_scene
from tests.console.conftest import admin  # noqa: F401 - a fixture

sim = WeChat()


def follower(client: Any, store_id: str | None = None, staff_id: str | None = None) -> str:
    """A new follower, won by `store_id`'s code (or by none: HQ's)."""
    openid = new_id("o")
    key = f"qrscene_{qr_scene(client, store_id, staff_id=staff_id)}" if store_id else None
    status, _ = deliver(client, sim, sim.event(openid, "subscribe", key))
    assert status == 200
    return openid


def ask(client: Any, openid: str, text: str, **kwargs: Any) -> tuple[int, Any]:
    return deliver(client, sim, sim.text(openid, text, **kwargs))


def call(client: Any, method: str, path: str, body: Any = None) -> Any:
    send = getattr(client.http, method.lower())
    kwargs: dict[str, Any] = {"headers": ADMIN}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    return send(path, **kwargs)


def inbox(client: Any, store_id: str | None, status: str = "open", **extra: str) -> dict[str, Any]:
    query = "&".join(
        f"{k}={v}" for k, v in {"store_id": store_id, "status": status, **extra}.items() if v is not None
    )
    response = call(client, "GET", f"/admin/inbox?{query}")
    assert response.status_code == 200, response.json_body
    return response.json_body


def conversation_of(client: Any, store_id: str, openid: str, status: str = "open") -> dict[str, Any]:
    (found,) = [c for c in inbox(client, store_id, status)["conversations"] if c["openid"] == openid]
    return found


@pytest.fixture
def store(client: Any) -> str:
    return open_store(client)[0]
