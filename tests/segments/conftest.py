"""Helpers for the segments tests: unique ids, a segment through the real route, events fed as
their consumers feed them, and the recompute job's tasks run in-process."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

import pytest

from functions.core import clock
from functions.customers.domain import Customer
from functions.segments import events, jobs

ADMIN = {"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"}


def uid(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def put(client: Any, segment_id: str, body: dict[str, Any]) -> Any:
    return client.http.put(f"/admin/segments/{segment_id}", headers=ADMIN, body=json.dumps(body))


def get(client: Any, path: str) -> Any:
    return client.http.get(path, headers=ADMIN)


def follow(openid: str, store: str | None = None, staff: str | None = None, at: str | None = None,
           consent: bool = False, subscribed: bool = True) -> None:  # fmt: skip
    """The customers table's stream record of a follow, as segment_customer_events gets it."""
    events.on_customer_changed(
        Customer(
            openid=openid,
            subscribed=subscribed,
            reminder_consent=consent,
            first_store_id=store,
            first_staff_id=staff,
            subscribed_at=at or clock.iso(clock.now()),
        )
    )


def order(openid: str, order_id: str | None = None, skus: Iterable[str] = ("SKU",), total: int = 1000,
          at: str | None = None) -> None:  # fmt: skip
    events.on_order_recorded(
        {
            "type": "order_recorded",
            "order_id": order_id or uid("ord-"),
            "openid": openid,
            "items": [{"sku": s, "qty": 1, "price_cents": total} for s in skus],
            "total_cents": total,
            "purchased_at": at or clock.iso(clock.now()),
        }
    )


def run_job_tasks(tasks: list[dict[str, Any]]) -> list[jobs.ShardResult]:
    return [jobs.process_shard(task) for task in tasks]


@pytest.fixture
def sent_tasks(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The segment-jobs queue's messages, kept here instead of sent (the test runs them)."""
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(jobs.queues, "send_many", lambda queue, bodies: sent.extend(bodies))
    monkeypatch.setattr(jobs.queues, "send", lambda queue, body, delay_s=0: sent.append(body) or "id")
    return sent
