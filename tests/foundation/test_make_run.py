"""`make run` starts the whole stack, serves /health, runs `make invoke`, and stops cleanly;
it refuses taken ports before starting anything, stops on a signal at any moment, and never
touches another live run's record."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
from pathlib import Path

import boto3
import pytest
import requests

from infra.local.stack import PortTaken, free_port, start_embedded_aws, wait_for
from tests.conftest import ROOT, popen_make_run, start_stack, stop_stack


def descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,pgid="], capture_output=True, text=True).stdout
    return [int(p) for p, g in (line.split() for line in out.splitlines()) if int(g) == pid]


def record_of(env: dict[str, str]) -> Path:
    return Path(env["LOCAL_RUN_DIR"]) / f"env-{env['PORT']}.json"


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def run_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST", "WECHAT_API_BASE"))}
    env.update(
        PORT=str(free_port()),
        MOTO_PORT=str(free_port()),
        SANDBOX_PORT=str(free_port()),
        LOCAL_RUN_DIR=str(tmp_path),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


@pytest.mark.e2e
def test_make_run_serves_health_then_stops_without_orphans(tmp_path):
    stack = start_stack()
    try:
        assert requests.get(f"{stack.url}/health", timeout=5).json() == {"status": "ok"}
        sandbox = requests.get(f"{stack.sandbox_url}/sandbox/messages", timeout=5)
        assert sandbox.json() == {"messages": []}
        # And it recorded itself where `make invoke` and `make demo` look for it
        record = json.loads(record_of(stack.env).read_text())
        assert (record["api"], record["sandbox"]) == (stack.url, stack.sandbox_url)
    finally:
        stop_stack(stack.process, signal.SIGTERM)
    assert wait_for(lambda: not descendants(stack.process.pid), timeout=10)
    assert stack.process.returncode is not None
    assert not record_of(stack.env).exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{stack.url}/health", timeout=2)


@pytest.mark.e2e
def test_make_invoke_runs_a_function_against_the_running_stack(tmp_path):
    stack = start_stack({"APP": "tests.foundation.runtime_app:app"})
    try:
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"date": "2026-05-01"}))
        output = stack.invoke("daily_job", str(event))
        assert json.loads(output.strip().splitlines()[-1]) == {"ran_for": "2026-05-01"}
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=stack.moto_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        item = dynamodb.get_item(TableName="wx-local-idempotency", Key={"id": {"S": "daily_job#2026-05-01"}})
        assert "Item" in item
    finally:
        stop_stack(stack.process)
    assert os.path.exists(stack.env["LOCAL_RUN_DIR"])


@pytest.mark.parametrize("taken", ["PORT", "MOTO_PORT", "SANDBOX_PORT"])
def test_a_taken_port_is_refused_in_one_line_before_anything_starts(tmp_path, taken):
    # Given something listens on one of the three ports
    env = run_env(tmp_path)
    port = int(env[taken])
    # And a live run's record is there (this test process stands in for it)
    record = record_of(env)
    record.write_text(json.dumps({"pid": os.getpid(), "api": "http://127.0.0.1:1", "environment": {}}))
    before = record.read_text()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        # When `make run` starts
        done = subprocess.run(
            ["make", "-s", "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
    # Then it exits non-zero with one line naming that port, and no traceback
    assert done.returncode != 0
    ours = [line for line in done.stderr.splitlines() if line.startswith("make run:")]
    assert ours == [
        f"make run: port {port} ({taken}) is taken: stop what listens there or choose another, "
        f"e.g. {taken}={port + 1}"
    ], done.stderr
    assert all(re.match(r"make run: |make(\[\d+\])?: \*\*\* ", line) for line in done.stderr.splitlines())
    assert done.stdout == ""
    # And the live run's record is untouched
    assert record.read_text() == before


def test_the_embedded_aws_reports_a_taken_port_instead_of_waiting_forever():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        outcome: list[BaseException] = []

        def start() -> None:
            try:
                start_embedded_aws(port, "wx-taken")
            except BaseException as error:
                outcome.append(error)

        thread = threading.Thread(target=start, daemon=True)
        thread.start()
        thread.join(30)
    assert not thread.is_alive()
    assert isinstance(outcome[0], PortTaken) and f"port {port} (MOTO_PORT)" in str(outcome[0])


@pytest.mark.e2e
def test_a_second_run_on_the_same_ports_leaves_the_first_alone(stack, tmp_path):
    # Given a running stack and its record
    before = record_of(stack.env).read_text()
    # When another `make run` starts on the same ports, with the same record directory
    done = subprocess.run(
        ["make", "-s", "run"], cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=120
    )
    # Then it refuses, naming the API port, and the first run's record is as it was
    assert done.returncode != 0
    assert f"make run: port {stack.env['PORT']} (PORT) is taken" in done.stderr
    assert "Traceback" not in done.stderr
    assert record_of(stack.env).read_text() == before
    # And `make invoke` still finds the first stack
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"date": "2099-01-01"}))
    assert json.loads(stack.invoke("booking_reminders", str(event)).splitlines()[-1])["reminded"] == 0


@pytest.mark.e2e
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_make_run_during_start_up(tmp_path, sig):
    # Given `make run` stuck in its start-up: moto and the sandbox serve, the app never loads
    env = run_env(tmp_path, APP="tests.foundation.stuck_app:app")
    process = popen_make_run(env)
    try:
        assert wait_for(lambda: listening(int(env["SANDBOX_PORT"])), timeout=120)
        # When the terminal's Ctrl-C (SIGINT) or a SIGTERM reaches it
        os.killpg(process.pid, sig)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    # Then it stops, and leaves nothing behind: no process, no port, no record
    assert "Traceback" not in output, output
    assert wait_for(lambda: not descendants(process.pid), timeout=10)
    assert not any(listening(int(env[name])) for name in ("MOTO_PORT", "SANDBOX_PORT"))
    assert not record_of(env).exists()
