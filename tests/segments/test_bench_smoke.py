"""The benchmark keeps working (tiny sizes; the figures are in docs/benchmarks.md)."""

from __future__ import annotations

import os
import re

import pytest

from tests.conftest import run_benchmark


@pytest.mark.slow
def test_the_recompute_reads_each_customer_once_and_an_event_costs_three_calls():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RESOURCE_PREFIX", "PYTEST"))}
    stdout = run_benchmark(
        "bench_segments", "--customers", "600", "--events", "20", "--segments", "3", "--no-memory",
        timeout=300, env=env,
    )  # fmt: skip
    recompute = next(line for line in stdout.splitlines() if line.startswith("customers="))
    assert re.search(r"baseline scan 600 items", recompute), recompute
    assert re.search(r"items read=600 ", recompute), recompute
    assert "incremental: 20 events, 4 segments: 3.00 DynamoDB calls per event" in stdout, stdout
