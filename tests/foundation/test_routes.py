"""The route table app.py declares its routes from (functions/routes.py) is the routes the modules
declare, and a route's module loads on its first request (functions.core.lazy)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from infra import routes

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_route_table_is_the_declared_routes():
    assert routes.TABLE.read_text() == routes.render(), "out of date: run python -m infra.routes"


_FIRST_REQUEST = """
import json, sys
from chalice.test import Client
import app
before = sorted(m for m in sys.modules if m.startswith("functions.") and m.endswith(".handlers"))
with Client(app.app) as client:
    status = client.http.get("/slots?area=nowhere").status_code
after = sorted(m for m in sys.modules if m.startswith("functions.") and m.endswith(".handlers"))
print(json.dumps({"before": before, "after": after, "status": status}))
"""


def test_import_app_loads_no_route_module_and_a_request_loads_its_own():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_REQUEST], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["before"] == []
    # The slots route's module, and no other capability's handlers
    assert seen["after"] == ["functions.bookings.handlers"]
    assert seen["status"] == 401  # its own answer: a customer signs in first


def test_each_route_module_imports_on_its_own():
    """Whichever route is asked for first, its module imports in a fresh interpreter."""
    from functions.routes import ROUTES

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    for module in ROUTES:
        done = subprocess.run(
            [sys.executable, "-c", f"import {module}"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{module}: {done.stderr}"
