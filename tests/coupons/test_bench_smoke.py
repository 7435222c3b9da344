"""The coupon benchmark keeps working (tiny N, in its own process: it sets its own env)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_the_benchmark_runs_and_reports_every_figure():
    done = subprocess.run(
        [sys.executable, "-m", "tests.perf.bench_coupons", "--n", "6", "--threads", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for figure in (
        "baseline",
        "redemptions, no contention",
        "redemptions, all on one code",
        "claims, hot campaign, 8 shard(s)",
        "claims after sold out",
    ):
        assert figure in done.stdout, done.stdout
    assert "'already_redeemed': 5" in done.stdout
