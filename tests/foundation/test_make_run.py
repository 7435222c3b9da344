"""`make run` starts the whole stack, serves /health, runs `make invoke`, and stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import boto3
import pytest
import requests

from tests.conftest import start_stack, stop_stack


def descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,pgid="], capture_output=True, text=True).stdout
    return [int(p) for p, g in (line.split() for line in out.splitlines()) if int(g) == pid]


@pytest.mark.e2e
def test_make_run_serves_health_then_stops_without_orphans(tmp_path):
    stack = start_stack()
    try:
        assert requests.get(f"{stack.url}/health", timeout=5).json() == {"status": "ok"}
        sandbox = requests.get(f"{stack.sandbox_url}/sandbox/messages", timeout=5)
        assert sandbox.json() == {"messages": []}
    finally:
        stop_stack(stack.process, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while descendants(stack.process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert descendants(stack.process.pid) == []
    assert stack.process.returncode is not None
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
