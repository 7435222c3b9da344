"""`make invoke` and `wechat_sim` answer a wrong argument with one line that says what to do,
never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.local.stack import free_port
from tests.conftest import ROOT


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "LOCAL_RUN_DIR": str(tmp_path), "PORT": str(free_port()), **env}
    return subprocess.run(args, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


def one_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def invoke(tmp_path: Path, *args: str, **env: str) -> str:
    return one_line(run([sys.executable, "-m", "infra.local.invoke", *args], tmp_path, **env))


def event_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "event.json"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "is not JSON"),
        ('["2026-12-03"]', "must hold a JSON object"),
        ('{"date": "2026-13-01"}', '"date" in EVENT file'),
        ('{"date": "tomorrow"}', "must be a date YYYY-MM-DD"),
        ('{"detail": {"date": 20261203}}', "must be a date YYYY-MM-DD"),
    ],
)
def test_invoke_refuses_a_bad_event_file_in_one_line(tmp_path, content, says):
    assert says in invoke(tmp_path, "booking_reminders", "--event", event_file(tmp_path, content))


def test_invoke_refuses_a_missing_event_file(tmp_path):
    line = invoke(tmp_path, "booking_reminders", "--event", str(tmp_path / "nowhere.json"))
    assert "does not exist" in line and "nowhere.json" in line


def test_invoke_through_make_refuses_inline_json_and_shows_how_to_write_the_file(tmp_path):
    done = run(["make", "-s", "invoke", "FN=booking_reminders", 'EVENT={"date": "2026-12-03"}'], tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    ours = [line for line in done.stderr.splitlines() if line.startswith("make invoke:")]
    assert ours == [
        "make invoke: EVENT takes a file holding the JSON, not the JSON itself: "
        """echo '{"date": "2026-12-03"}' > /tmp/event.json, then EVENT=/tmp/event.json"""
    ]


def test_invoke_without_a_running_stack_says_to_start_one(tmp_path):
    line = invoke(tmp_path, "booking_reminders", "--event", event_file(tmp_path, '{"date": "2026-12-03"}'))
    assert line.startswith("make invoke: no local stack serves on port") and "make run" in line


def test_invoke_knows_a_stopped_stack_from_a_running_one(tmp_path):
    port = str(free_port())
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    record = {"pid": int(dead.stdout), "api": f"http://127.0.0.1:{port}", "environment": {}}
    (tmp_path / f"env-{port}.json").write_text(json.dumps(record))
    line = invoke(tmp_path, "booking_reminders", PORT=port)
    assert line == f"make invoke: the local stack on port {port} has stopped: start it again with `make run`"


def test_invoke_refuses_a_missing_function_name_in_one_line(tmp_path):
    assert "the following arguments are required: function" in invoke(tmp_path)


def sim(tmp_path: Path, *args: str) -> str:
    return one_line(run([sys.executable, "-m", "infra.local.wechat_sim", *args], tmp_path))


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["text", "o-demo"], "text needs the message after the openid"),
        (["click", "o-demo"], "click needs the key"),
        (["shout", "o-demo"], "invalid choice: 'shout'"),
        (["subscribe", "o-demo", "--mode", "secret"], "invalid choice: 'secret'"),
        (["subscribe", "o-demo"], "no local stack serves on port"),
    ],
)
def test_wechat_sim_refuses_a_wrong_argument_in_one_line(tmp_path, args, says):
    line = sim(tmp_path, *args)
    assert line.startswith("python -m infra.local.wechat_sim: ") and says in line


def test_wechat_sim_says_when_the_api_cannot_be_reached(tmp_path):
    line = sim(tmp_path, "subscribe", "o-demo", "--url", f"http://127.0.0.1:{free_port()}")
    assert "cannot reach" in line and "make run" in line
