"""The cold-import benchmark runs and prints every figure docs/benchmarks.md keeps."""

from __future__ import annotations

import pytest

from tests.conftest import run_benchmark


@pytest.mark.slow
def test_the_import_benchmark_reports_app_and_both_libraries_against_bare():
    stdout = run_benchmark("bench_import", "--runs", "1")
    for figure in ("import app", "bare + msgspec", "bare + pydantic v2", "x bare", "heavy modules"):
        assert figure in stdout, stdout
    assert "heavy modules loaded by `import app`: []" in stdout
