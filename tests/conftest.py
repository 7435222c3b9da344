"""Shared fixtures: an embedded AWS (moto server) per test process, the WeChat sandbox,
a Chalice test client, a settable clock, and the whole local stack for end-to-end tests."""

from __future__ import annotations

import os

# Settings are read at import by the storage models: fix them before anything imports them.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "RESOURCE_PREFIX": "wx-test",
        "SESSION_SECRET": "test-session-secret",
        "QUIET_HOURS": "off",
    }
)
for _key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "WECHAT_API_BASE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_key, None)

import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from functools import cache  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
import requests  # noqa: E402

from infra.local.stack import wait_for  # noqa: E402, F401 - the tests' poll helper
from tests.chromium import chromium  # noqa: E402, F401 - the browser tests' one browser

ROOT = Path(__file__).resolve().parents[1]


def _reset_cached_clients() -> None:
    from functions.core.aws import reset_clients
    from functions.core.config import reset_settings
    from functions.core.queues import reset_queue_urls

    reset_settings()
    reset_clients()
    reset_queue_urls()


@pytest.fixture(scope="session")
def aws() -> Iterator[str]:
    """A moto server with every table and queue of infra/data.yaml; yields its endpoint."""
    from infra.local.stack import free_port, start_embedded_aws

    server = start_embedded_aws(free_port(), os.environ["RESOURCE_PREFIX"])
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    _reset_cached_clients()
    yield endpoint
    server.stop()


@pytest.fixture(scope="session")
def _sandbox_server(aws: str) -> Iterator[Any]:
    from functions.core.config import load_settings
    from infra.local.sandbox import Sandbox

    settings = load_settings()
    sandbox = Sandbox(
        "127.0.0.1", 0, settings.wechat_app_id, settings.wechat_app_secret, settings.wechat_token
    ).start()
    os.environ["WECHAT_API_BASE"] = sandbox.url
    _reset_cached_clients()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(_sandbox_server: Any) -> Iterator[Any]:
    """The WeChat API sandbox, emptied of messages, calls and faults for this test."""
    state = _sandbox_server.state
    with state.lock:
        state.messages.clear()
        state.calls.clear()
        state.faults.clear()
        state.unfollowed.clear()
    yield _sandbox_server


WECHAT_DEADLINE_S = 4.0  # functions.callback.handlers.DEADLINE_S: what the deadline tests use


@pytest.fixture(autouse=True)
def _patient_callback_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The callback refuses a DynamoDB attempt that could end past WeChat's deadline. On a test
    machine loaded by parallel workers and `make run` stacks, that refusal (503, which WeChat
    retries) would make any handler test depend on the machine's load; so handler tests get a
    generous deadline, and the tests of the deadline itself (tests/callback/test_events.py's
    slow DynamoDB) set WECHAT_DEADLINE_S back. `make run` and AWS always use the real one."""
    from functions.callback import handlers

    monkeypatch.setattr(handlers, "DEADLINE_S", 60.0)


@pytest.fixture(autouse=True)
def _real_clock() -> Iterator[None]:
    yield
    from functions.core import clock

    clock.set_now(None)


@pytest.fixture
def client(aws: str, _sandbox_server: Any) -> Iterator[Any]:
    """chalice.test.Client over the real app, against moto and the sandbox."""
    from chalice.test import Client

    from app import app

    with Client(app) as test_client:
        yield test_client


def _reset_connections() -> None:
    """Every model's and client's connection made anew, with the settings in force now."""
    from pynamodb.models import Model

    from functions.core import aws as aws_clients
    from functions.core.models import transaction_connection

    pending = list(Model.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        model._connection = None
    transaction_connection.cache_clear()
    aws_clients.reset_clients()


@pytest.fixture
def patient_clients(aws: str) -> Iterator[None]:
    """Client timeouts suited to a loaded machine while many threads race (tests/races.py).

    The embedded moto server runs in this test process, serialises every DynamoDB request
    (infra/local/moto_patches.py) and shares the GIL with the racing threads, so with hundreds
    of them a request can queue for longer than the 2 s read timeout the app uses against AWS
    (and WeChat's 3 s against the sandbox). A timeout here would test the laptop, not the
    invariant."""
    from botocore.config import Config

    from functions.core import aws as aws_clients
    from functions.core import wechat
    from functions.core.models import TableMeta
    from tests.races import PATIENT_TIMEOUT_S

    connect, read = PATIENT_TIMEOUT_S
    saved = (
        TableMeta.connect_timeout_seconds,
        TableMeta.read_timeout_seconds,
        aws_clients.CLIENT_CONFIG,
        wechat.TIMEOUT_S,
    )
    TableMeta.connect_timeout_seconds, TableMeta.read_timeout_seconds = connect, read
    aws_clients.CLIENT_CONFIG = aws_clients.CLIENT_CONFIG.merge(
        Config(connect_timeout=connect, read_timeout=read)
    )
    wechat.TIMEOUT_S = (float(connect), float(read))
    _reset_connections()
    yield
    (
        TableMeta.connect_timeout_seconds,
        TableMeta.read_timeout_seconds,
        aws_clients.CLIENT_CONFIG,
        wechat.TIMEOUT_S,
    ) = saved
    _reset_connections()


@pytest.fixture(scope="session")
def http_api(aws: str, _sandbox_server: Any) -> Iterator[str]:
    """The app served over HTTP in this process, by the request handler `make run` uses (against
    the embedded AWS and the sandbox); yields its base URL."""
    from chalice.cli.factory import CLIFactory

    from app import app
    from infra.local import api_server
    from infra.local.stack import free_port

    config = CLIFactory(project_dir=str(ROOT)).create_config_obj(chalice_stage_name="dev")
    port = free_port()
    server = api_server.create(app, config, "127.0.0.1", port)
    threading.Thread(target=server.server.serve_forever, name="http-api", daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"}


def customer_headers(openid: str) -> dict[str, str]:
    from functions.core.session import issue_token

    return {"Authorization": f"Bearer {issue_token(openid)}", "Content-Type": "application/json"}


@cache
def event_runtime() -> Any:
    """The local event runtime over the real app, one per test process: it keeps its place in
    each DynamoDB stream, as Lambda's event source mapping does."""
    import boto3

    from app import app
    from functions.core.config import resource_name
    from infra.local.runtime import EventRuntime

    return EventRuntime(app, boto3.client("sqs"), resource_name, poll_wait_s=0)


def relay_outbox() -> int:
    """Run the outbox relay on every notification record written since it last ran (the
    notifications table's stream -> the notifications queue); returns the records handled."""
    runtime = event_runtime()
    consumer = runtime.stream_consumers["notification_outbox"]
    total = 0
    while handled := runtime.poll_stream_once(consumer):
        total += handled
    return total


def drain(queue: str, handler_name: str, max_batches: int = 50) -> int:
    """Run a queue's consumer from the real app until the queue is empty; returns records handled.
    The notifications queue is fed by the outbox relay first, as the stream would."""
    runtime = event_runtime()
    consumer = runtime.consumers[handler_name]
    assert consumer.queue == queue
    total = 0
    for _ in range(max_batches):
        if queue == "notifications":
            relay_outbox()
        handled = runtime.poll_once(consumer, wait_s=0)
        if not handled:
            break
        total += handled
    return total


# -- the whole local stack, as `make run` starts it -------------------------------------


@dataclass
class RunningStack:
    url: str
    sandbox_url: str
    moto_url: str
    env: dict[str, str]
    process: subprocess.Popen
    output: list[str]

    def invoke(self, function: str, event_file: str | None = None, timeout: float = 120) -> str:
        args = ["make", "-s", "invoke", f"FN={function}"] + ([f"EVENT={event_file}"] if event_file else [])
        done = subprocess.run(args, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    def wechat_event(self, openid: str, event: str) -> None:
        """A signed plaintext event from WeChat (a follow, say), delivered again on a 5xx as
        WeChat does: a loaded machine may answer the first delivery 503 inside the deadline."""
        import hashlib
        import uuid

        from functions.core.config import SANDBOX_TOKEN

        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
        signature = hashlib.sha1("".join(sorted([SANDBOX_TOKEN, timestamp, nonce])).encode()).hexdigest()
        xml = (
            f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event></xml>"
        )
        query = {"signature": signature, "timestamp": timestamp, "nonce": nonce, "openid": openid}
        for _ in range(1 + 3):  # WeChat's first delivery and its three retries
            response = requests.post(
                f"{self.url}/wechat/callback",
                params=query,
                data=xml.encode(),
                headers={"Content-Type": "text/xml"},
                timeout=10,
            )
            if response.status_code < 500:
                break
        assert response.status_code == 200, response.text

    def sandbox_messages(self, touser: str | None = None) -> list[dict[str, Any]]:
        params = {"touser": touser} if touser else {}
        return requests.get(f"{self.sandbox_url}/sandbox/messages", params=params, timeout=5).json()[
            "messages"
        ]


def popen_make_run(env: dict[str, str]) -> subprocess.Popen:
    """`make run` in its own process group (so that a test can signal all of it), output piped."""
    return subprocess.Popen(
        ["make", "-s", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def start_stack(extra_env: dict[str, str] | None = None, timeout: float = 240) -> RunningStack:
    from infra.local.stack import free_port

    port, moto_port, sandbox_port = free_port(), free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "PYTEST", "WECHAT_API_BASE", "RESOURCE_PREFIX", "SESSION_SECRET"))
    }
    env.update(
        PORT=str(port),
        MOTO_PORT=str(moto_port),
        SANDBOX_PORT=str(sandbox_port),
        LOCAL_RUN_DIR=tempfile.mkdtemp(prefix="stack-"),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        **(extra_env or {}),
    )
    process = popen_make_run(env)
    output: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if line.startswith("ready http://127.0.0.1:"):
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.2):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_stack(process)
            raise RuntimeError("make run did not become ready:\n" + "".join(output[-50:]))
    return RunningStack(
        url=f"http://127.0.0.1:{port}",
        sandbox_url=f"http://127.0.0.1:{sandbox_port}",
        moto_url=f"http://127.0.0.1:{moto_port}",
        env=env,
        process=process,
        output=output,
    )


def stop_stack(process: subprocess.Popen, sig: int | None = None) -> None:
    import signal

    if process.poll() is None:
        os.killpg(process.pid, sig or signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.fixture(scope="session")
def stack() -> Iterator[RunningStack]:
    """One `make run` per test process, shared by the end-to-end tests."""
    running = start_stack()
    yield running
    stop_stack(running.process)


def python() -> str:
    return sys.executable


def run_benchmark(module: str, *args: str, timeout: float = 240, env: dict[str, str] | None = None) -> str:
    """Run `python -m tests.perf.<module> args...` to its end; its printed figures."""
    done = subprocess.run(
        [sys.executable, "-m", f"tests.perf.{module}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout
