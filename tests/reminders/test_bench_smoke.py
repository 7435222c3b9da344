"""The benchmark keeps working (tiny sizes; the figures are in docs/benchmarks.md)."""

from __future__ import annotations

import os
import re

import pytest

from tests.conftest import run_benchmark


@pytest.mark.slow
def test_the_benchmark_reads_only_what_is_due():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RESOURCE_PREFIX", "PYTEST"))}
    stdout = run_benchmark(
        "bench_reminders", "--purchases", "1000", "2000", "--due", "8", "--no-memory", timeout=300, env=env
    )
    lines = [line for line in stdout.splitlines() if line.startswith("purchases=")]
    assert len(lines) == 2
    for line in lines:
        # Every due item is read once, nothing else; a re-run sends nothing more.
        assert re.search(r"due=\s+8\s+read=\s+8 ", line), line
        assert "re-run: 0 more sent" in line, line
