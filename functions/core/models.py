"""PynamoDB base settings shared by every table.

Timeouts and retries are short so a slow DynamoDB cannot push a WeChat callback past
its 5-second deadline or an API call past API Gateway's 29 s. Every attempt, from a model or
a transaction, passes the request's deadline first (functions.core.deadline).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from functions.core import deadline
from functions.core.config import resource_name


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


class _LazyMeta(type):
    """PynamoDB reads `Meta.table_name` and `Meta.region` when a model first talks to DynamoDB;
    computing them then, not at import, keeps imports free of settings and environment reads."""

    @property
    def table_name(cls) -> str:
        return resource_name(cls.table)

    @property
    def region(cls) -> str:
        return _region()


class _WithinDeadline(Mapping[str, str]):
    """PynamoDB merges a connection's `extra_headers` into every HTTP attempt, retries included,
    just before it is sent: the one hook it offers per attempt. This mapping adds no header; it
    refuses an attempt that could end past the request's deadline (DeadlineExceeded, which the
    SDK does not retry). Its worst case is read when it is asked, as a test may change them."""

    def __iter__(self) -> Iterator[str]:
        worst_case = TableMeta.connect_timeout_seconds + TableMeta.read_timeout_seconds
        deadline.require(worst_case, "a DynamoDB request")
        return iter(())

    def __getitem__(self, name: str) -> str:
        raise KeyError(name)

    def __len__(self) -> int:
        return 0


WITHIN_DEADLINE = _WithinDeadline()


class TableMeta(metaclass=_LazyMeta):
    """Base of every model's Meta: set `table` to the logical name of infra/data.yaml."""

    table: str
    host: Any = None
    connect_timeout_seconds = 1
    read_timeout_seconds = 2
    max_retry_attempts = 2
    extra_headers = WITHIN_DEADLINE


@cache
def transaction_connection(max_retry_attempts: int = TableMeta.max_retry_attempts) -> Connection:
    """The connection for TransactWrite/TransactGet: the models' short timeouts, one per container."""
    return Connection(
        region=_region(),
        connect_timeout_seconds=TableMeta.connect_timeout_seconds,
        read_timeout_seconds=TableMeta.read_timeout_seconds,
        max_retry_attempts=max_retry_attempts,
        extra_headers=WITHIN_DEADLINE,
    )


def condition_failed(error: Exception) -> bool:
    """Whether a PynamoDB write failed only because its condition did not hold."""
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


class Gsi1(GlobalSecondaryIndex):
    """Every table's first generic index (gsi1pk, gsi1sk); see infra/data.yaml."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class Gsi2(GlobalSecondaryIndex):
    """Every table's second generic index (gsi2pk, gsi2sk)."""

    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)
