"""Import hygiene: capabilities own their data, and importing does nothing."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
SHARED = {"core"}


def _imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def test_no_capability_imports_another_capabilitys_models():
    offences = []
    for path in sorted(FUNCTIONS.glob("*/*.py")):
        owner = path.parent.name
        for name in _imported_modules(path):
            parts = name.split(".")
            cross = len(parts) >= 3 and parts[0] == "functions" and parts[1] not in (owner, *SHARED)
            if cross and parts[2] == "models":
                offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offences == [], "\n".join(offences)


def test_no_function_level_imports_in_capabilities():
    """Imports sit at the top of a module: none hides inside a function to dodge a cycle.
    The exception is cold start: the WeChat client and the notification worker are imported on
    first use, so that the API and callback functions never load what they never call; so are
    the pages' template engine (jinja2, ~90 ms) and QR library (segno, ~35 ms), which only a
    page needs (functions/web/pages.py, functions/web/qr.py), and the console's password hashing
    (argon2), which only a sign-in needs (functions/operators/domain.py). Each queue and schedule
    function (functions/<capability>/background.py) imports its own work on its first call,
    since `import app` declares them all; and the message templates' configuration (with its
    YAML parser) loads in a sender, or in a page opened inside WeChat that offers the subscribe
    button."""
    allowed = {
        "wechatpy",
        "functions.core.wechat",
        "functions.callback.crypto",
        "yaml",
        "functions.notifications.templates",
        "jinja2",
        "segno",
        "markupsafe",
        "argon2",
    }
    offences = []
    for path in sorted(FUNCTIONS.rglob("*.py")):
        if path.name == "background.py":
            continue  # a queue or schedule function imports its work on its first call
        tree = ast.parse(path.read_text(), str(path))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [f"{node.module}.{alias.name}" for alias in node.names]
                else:
                    continue
                for name in names:
                    if not any(name == a or name.startswith(a + ".") for a in allowed):
                        offences.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert offences == [], "\n".join(offences)


_NO_NETWORK = """
import socket
def refuse(*args, **kwargs):
    raise AssertionError("network call at import")
socket.socket.connect = refuse
socket.create_connection = refuse
import app
import functions.core.config
assert functions.core.config.get_settings.cache_info().currsize == 0, "settings read at import"
import sys
lazy = [m for m in ("jinja2", "segno", "markupsafe", "requests", "wechatpy", "yaml") if m in sys.modules]
queue_work = ("functions.notifications.worker", "functions.notifications.outbox", "functions.reminders.job",
              "functions.orders.subscribers", "functions.bookings.reminders", "functions.warranty.visits")
lazy += [m for m in queue_work if m in sys.modules]
assert not lazy, f"imported at cold start: {lazy}"
print("imported")
"""


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {
            "SECRETS_SSM_PATH": "/wechat-retail/prod",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_DEFAULT_REGION": "ap-east-1",
        },
    ],
    ids=["empty-environment", "ssm-configured-aws-unreachable"],
)
def test_importing_app_reads_no_setting_and_calls_no_network(extra):
    env = {"PATH": os.environ.get("PATH", ""), **extra}
    done = subprocess.run(
        [sys.executable, "-c", _NO_NETWORK], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"
