"""Sending to our SQS queues by logical name (`notifications`, ...), as infra/data.yaml names them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from typing import Any

from functions.core.aws import client
from functions.core.config import resource_name

MAX_DELAY_S = 900


@cache
def queue_url(logical: str) -> str:
    # Look up by name: CloudFormation's Ref is not an endpoint URL on moto.
    return client("sqs").get_queue_url(QueueName=resource_name(logical))["QueueUrl"]


def send(logical: str, body: dict[str, Any], delay_s: int = 0) -> str:
    response = client("sqs").send_message(
        QueueUrl=queue_url(logical),
        MessageBody=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        DelaySeconds=max(0, min(int(delay_s), MAX_DELAY_S)),
    )
    return response["MessageId"]


def send_many(logical: str, bodies: Iterable[dict[str, Any]]) -> None:
    """Send in batches of 10 (SQS's limit); raise if any entry fails."""
    batch: list[dict[str, Any]] = []
    for body in bodies:
        batch.append(body)
        if len(batch) == 10:
            _send_batch(logical, batch)
            batch = []
    if batch:
        _send_batch(logical, batch)


def _send_batch(logical: str, bodies: list[dict[str, Any]]) -> None:
    entries = [
        {"Id": str(i), "MessageBody": json.dumps(b, separators=(",", ":"), ensure_ascii=False)}
        for i, b in enumerate(bodies)
    ]
    response = client("sqs").send_message_batch(QueueUrl=queue_url(logical), Entries=entries)
    if response.get("Failed"):
        raise RuntimeError(f"SQS send_message_batch failed: {response['Failed']}")


def reset_queue_urls() -> None:
    queue_url.cache_clear()
