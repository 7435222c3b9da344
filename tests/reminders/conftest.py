"""Reminder tests race threads on counters and conditional writes: make the in-process moto
server atomic per request, as DynamoDB is per item (see support.serialize_moto_dynamodb)."""

from __future__ import annotations

import pytest

from tests.reminders import support


@pytest.fixture(autouse=True)
def _atomic_moto() -> None:
    support.serialize_moto_dynamodb()
