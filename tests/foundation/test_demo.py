"""`make demo` runs a customer's whole journey against `make run`: the journey the README
shows is the one that works."""

from __future__ import annotations

import subprocess

import pytest

from infra.local.demo import STEPS
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def demo(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-s", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_make_demo_runs_the_whole_journey(stack):
    done = demo(stack.env)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    # Every step ran, in order, and Chinese reads as Chinese
    positions = [done.stdout.index(f"{n:2}. {title}: ") for n, (title, _) in enumerate(STEPS, 1)]
    assert positions == sorted(positions)
    assert "欢迎光临静安店" in done.stdout and "\\u" not in done.stdout
    assert done.stdout.rstrip().endswith(f"The whole journey works: {len(STEPS)} steps.")


def test_make_demo_names_the_step_that_fails(stack):
    done = demo({**stack.env, "ADMIN_API_KEY": "not-the-stacks-key"})
    assert done.returncode != 0
    assert "make demo: step 1 (store) failed: PUT /admin/stores/" in done.stderr
    assert "answered 401" in done.stderr and "Traceback" not in done.stderr
