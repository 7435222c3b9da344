"""PynamoDB base settings shared by every table.

Timeouts and retries are short so a slow DynamoDB cannot push a WeChat callback past
its 5-second deadline or an API call past API Gateway's 29 s.
"""

from __future__ import annotations

import os

from functions.core.config import resource_name


class TableMeta:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    connect_timeout_seconds = 1
    read_timeout_seconds = 2
    max_retry_attempts = 2


def table_name(logical: str) -> str:
    """Physical table name, e.g. `wx-local-customers` (see infra/data.yaml)."""
    return resource_name(logical)
