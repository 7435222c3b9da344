"""Setup through the public admin API, and reads of what the callback stored."""

from __future__ import annotations

import json
import uuid

from functions.core import clock
from functions.stores import stats

ADMIN = {"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"}


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def open_store(client, welcome: str | None = None) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    store_id = new_id("st")
    welcome = welcome or f"欢迎光临 {store_id}!"
    response = client.http.put(
        f"/admin/stores/{store_id}", headers=ADMIN, body=json.dumps({"name": "Store", "welcome": welcome})
    )
    assert response.status_code == 201, response.body
    return store_id, welcome


def qr_scene(client, store_id: str, staff_id: str | None = None, **extra) -> str:  # type: ignore[no-untyped-def]
    body = {"store_id": store_id, **({"staff_id": staff_id} if staff_id else {}), **extra}
    response = client.http.post("/admin/qrcodes", headers=ADMIN, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return json.loads(response.body)["scene"]


def counters(store_id: str) -> dict[str, int]:
    day = clock.business_date()
    (today,) = stats.daily_stats(store_id, day, day)
    return {k: v for k, v in today.items() if k != "date"}
