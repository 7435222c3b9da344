"""The benchmark keeps working (tiny N; its figures are printed, never asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_benchmark

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_benchmark_runs_with_a_small_n():
    stdout = run_benchmark("bench_notifications", "--n", "20", "--sequential-n", "10", timeout=180)
    assert (
        "speed-up" in stdout and "AWS calls per sent notification" in stdout and "per 10,000 sends" in stdout
    )
