"""The benchmark keeps working (tiny sizes; the figures are in docs/benchmarks.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_the_benchmark_reads_only_what_is_due():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RESOURCE_PREFIX", "PYTEST"))}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.perf.bench_reminders",
            "--purchases",
            "1000",
            "2000",
            "--due",
            "8",
            "--no-memory",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("purchases=")]
    assert len(lines) == 2
    for line in lines:
        # Every due item is read once, nothing else; a re-run sends nothing more.
        assert re.search(r"due=\s+8\s+read=\s+8 ", line), line
        assert "re-run: 0 more sent" in line, line
