"""boto3 clients with short timeouts, created once per container.

Endpoints come from AWS_ENDPOINT_URL locally (the moto server) and from AWS in Lambda.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Short enough to keep a WeChat callback inside its 5 s, long enough for a busy moto.
CLIENT_CONFIG = Config(
    connect_timeout=1,
    read_timeout=2,
    retries={"max_attempts": 2, "mode": "standard"},
)


@cache
def client(service: str) -> Any:
    return boto3.session.Session().client(service, config=CLIENT_CONFIG)


def reset_clients() -> None:
    client.cache_clear()
