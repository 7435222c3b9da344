from __future__ import annotations

import pytest

from tests.callback.moto_serial import serialize_moto_dynamodb


@pytest.fixture(scope="session", autouse=True)
def _atomic_moto() -> None:
    serialize_moto_dynamodb()
