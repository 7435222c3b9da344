"""The coupon benchmark keeps working (tiny N, in its own process: it sets its own env)."""

from __future__ import annotations

import pytest

from tests.conftest import run_benchmark


@pytest.mark.slow
def test_the_benchmark_runs_and_reports_every_figure():
    stdout = run_benchmark("bench_coupons", "--n", "6", "--threads", "2")
    for figure in (
        "baseline",
        "redemptions, no contention",
        "redemptions, all on one code",
        "claims, hot campaign, 8 shard(s)",
        "claims after sold out",
    ):
        assert figure in stdout, stdout
    assert "'already_redeemed': 5" in stdout
