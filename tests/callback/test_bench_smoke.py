"""The callback benchmark keeps working (tiny N, in its own process: it sets its own env)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_the_benchmark_runs_and_reports_every_figure():
    done = subprocess.run(
        [sys.executable, "-m", "tests.perf.bench_callback", "--n", "3", "--imports", "1", "--warmup", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for figure in ("baseline", "subscribe with scene", "TEMPLATESENDJOBFINISH", "x bare", "DynamoDB 2"):
        assert figure in done.stdout, done.stdout
