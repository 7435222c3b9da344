"""Helpers for the notification tests: customers, sandbox faults, a cold token, fast retries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Backoff of 0 s: a retried record is visible again at once, so drain() sees every attempt."""
    from functions.notifications import worker

    monkeypatch.setattr(worker, "BACKOFF_BASE_S", 0)
    yield


@pytest.fixture(autouse=True)
def _token_left_usable(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests here invalidate tokens and use up forced refreshes; leave the next test (ours or
    another capability's in this process) a cold start, as a fresh deployment would have."""
    yield
    if "sandbox" in request.fixturenames:
        cold_token()


# Named values that every kind's template (infra/templates.yaml) can show.
VALUES = {
    "tracking_no": "SF1234567890",
    "status": "Order 123 shipped",
    "detail": "Left Shanghai depot",
    "time": "2024-05-01 10:00",
    "place": "静安区 周三 09:00-12:00",
    "reference": "ORDER-123",
    "title": "10元券",
    "benefit": "满100减10",
    "valid_to": "2024-06-01",
    "code": "ABCD-EFGH",
    "product": "Coffee beans",
    "purchased_on": "2024-05-01",
    "serial": "SN-1",
    "warranty_until": "2026-05-01",
}


def shown_as_wechat_accepts(kind: str, fields: dict[str, Any]) -> bool:
    """The named values, rendered by the kind's template as the worker sends them, pass the
    sandbox's type checks (WeChat's 47003 rules)."""
    from functions.notifications.templates import template_for
    from infra.local.sandbox import data_errcode

    template = template_for(kind)
    return template is not None and data_errcode(template.render(fields)) == 0


def new_openid() -> str:
    return "o" + uuid.uuid4().hex[:27]


def customer(openid: str | None = None, *, subscribed: bool = True, consent: bool = False) -> str:
    from functions.core import clock
    from functions.customers.models import CustomerRow

    openid = openid or new_openid()
    row = CustomerRow(openid, subscribed=subscribed, reminder_consent=consent)
    if not subscribed:
        row.unsubscribed_at = clock.iso(clock.now())
    row.save()
    return openid


def fault(sandbox: Any, **spec: Any) -> None:
    response = requests.post(f"{sandbox.url}/sandbox/faults", json=spec, timeout=5)
    response.raise_for_status()


def calls(sandbox: Any, api: str) -> int:
    with sandbox.state.lock:
        return sandbox.state.calls.get(api, 0)


def sent_to(sandbox: Any, openid: str) -> list[dict[str, Any]]:
    with sandbox.state.lock:
        return [m for m in sandbox.state.messages if m["touser"] == openid]


def record(notification_id: str) -> dict[str, Any]:
    from functions.notifications.domain import get_notification

    found = get_notification(notification_id)
    assert found is not None
    return found


def cold_token() -> None:
    """As after a cold start with nothing shared: no token item, no in-memory copy."""
    from functions.core import wechat

    for row in wechat.TokenRow.query(f"TOKEN#{_app_id()}"):
        row.delete()
    wechat.token_cache().forget()


def _app_id() -> str:
    from functions.core.config import get_settings

    return get_settings().wechat_app_id


def drain_notifications() -> int:
    from tests.conftest import drain

    return drain("notifications", "notification_worker")


def deliver_again(body: dict[str, Any]) -> None:
    """A message the worker re-enqueued with a delay arrives (now), and the worker runs."""
    import json

    import boto3

    from functions.core.config import resource_name

    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=resource_name("notifications"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    drain_notifications()
