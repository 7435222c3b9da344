"""What the benchmarks share: their environment and a count of the AWS calls they make.

Import this before anything from `functions`: the storage models read the environment at import.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter


def bench_environment(prefix: str, **extra: str) -> None:
    """A benchmark's own resource prefix and fake credentials; no real AWS or WeChat is reachable."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "RESOURCE_PREFIX": prefix,
            **extra,
        }
    )
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "WECHAT_API_BASE"):
        os.environ.pop(key, None)


class AwsCalls:
    """Counts every botocore call ("service:Operation") and the time spent inside them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._ms = 0.0

    def install(self) -> None:
        import botocore.client

        original = botocore.client.BaseClient._make_api_call
        counter = self

        def counted(client, operation_name, api_params):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return original(client, operation_name, api_params)
            finally:
                with counter._lock:
                    counter._calls[f"{client.meta.service_model.service_name}:{operation_name}"] += 1
                    counter._ms += (time.perf_counter() - started) * 1000

        botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._ms = 0.0

    def snapshot(self) -> tuple[Counter[str], float]:
        """(calls since the last reset, milliseconds spent in them)."""
        with self._lock:
            return Counter(self._calls), self._ms


aws_calls = AwsCalls()
