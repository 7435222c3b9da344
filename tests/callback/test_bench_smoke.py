"""The callback benchmark keeps working (tiny N, in its own process: it sets its own env)."""

from __future__ import annotations

import pytest

from tests.conftest import run_benchmark


@pytest.mark.slow
def test_the_benchmark_runs_and_reports_every_figure():
    stdout = run_benchmark("bench_callback", "--n", "3", "--warmup", "1")
    for figure in (
        "baseline",
        "subscribe with scene",
        "text into the inbox",
        "TEMPLATESENDJOBFINISH",
        "DynamoDB 2",
    ):
        assert figure in stdout, stdout
