"""The benchmark keeps working (tiny N; its figures are printed, never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_benchmark_runs_with_a_small_n():
    done = subprocess.run(
        [sys.executable, "-m", "tests.perf.bench_notifications", "--n", "20", "--sequential-n", "10"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "msg/s" in done.stdout and "per 10,000 sends" in done.stdout
