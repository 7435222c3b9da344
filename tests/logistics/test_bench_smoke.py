"""The logistics benchmark keeps working (tiny N, in a fresh process with its own moto)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_bench_logistics_runs_and_a_repush_writes_nothing():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST", "RESOURCE_PREFIX"))}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.perf.bench_logistics",
            "--shipments",
            "3",
            "--repushes",
            "6",
            "--events",
            "4",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    repush = next(line for line in done.stdout.splitlines() if line.startswith("repush"))
    assert "{'Query': 6}" in repush
