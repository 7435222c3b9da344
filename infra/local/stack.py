"""The local stack: moto server, data stack, WeChat sandbox, Chalice HTTP server and the
event runtime, all in one process so that stopping it leaves nothing behind."""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = Path(os.environ.get("LOCAL_RUN_DIR") or ROOT / ".run")
DEFAULT_PORTS = {"PORT": 8000, "MOTO_PORT": 5000, "SANDBOX_PORT": 9000}


class LocalError(Exception):
    """A mistake a person can fix; its message is the one line that says how."""


class PortTaken(LocalError):
    def __init__(self, name: str, port: int):
        super().__init__(
            f"port {port} ({name}) is taken: stop what listens there or choose another, e.g. {name}={port + 1}"
        )


class NotRunning(LocalError):
    pass


def port_setting(name: str) -> int:
    """The port in environment variable `name` (PORT, MOTO_PORT, SANDBOX_PORT), or its default."""
    text = os.environ.get(name) or str(DEFAULT_PORTS[name])
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise LocalError(f"{name} must be a port number (1-65535), got {text!r}")
    return int(text)


def check_ports(ports: dict[str, int]) -> None:
    """Refuse before starting anything if two settings share a port or a port is taken."""
    seen: dict[int, str] = {}
    for name, port in ports.items():
        if port in seen:
            raise LocalError(f"{seen[port]} and {name} are both {port}: give each its own port")
        seen[port] = name
        with socket.socket() as probe:
            # The servers set SO_REUSEADDR too: a port held only by TIME_WAIT counts as free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                raise PortTaken(name, port) from None


def configure_logging() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s")
    for noisy in ("botocore", "pynamodb", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], Any], timeout: float = 60, every: float = 0.2) -> Any:
    """Poll `predicate` until it returns something truthy; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return predicate()


# -- the record of a running stack: .run/env-<PORT>.json ---------------------------------
#
# `make run` writes it once it serves and removes it when it stops; `make invoke`,
# `make demo` and `wechat_sim` find the stack through it, by the PORT variable. A port has
# one live stack at most, and a run only ever replaces or removes a record that is not
# another live run's.


def env_file(port: int) -> Path:
    return RUN_DIR / f"env-{port}.json"


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_record(port: int) -> dict[str, Any] | None:
    try:
        record = json.loads(env_file(port).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_record(port: int, record: dict[str, Any]) -> bool:
    """Record this run for `port`; False (nothing written) if another live run owns it."""
    current = _read_record(port)
    if current and current.get("pid") != os.getpid() and _alive(current.get("pid")):
        return False
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    partial = env_file(port).with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps({**record, "pid": os.getpid()}, indent=2))
    partial.replace(env_file(port))
    return True


def remove_record(port: int) -> None:
    """Remove the record for `port` if it is this run's own."""
    current = _read_record(port)
    if current and current.get("pid") == os.getpid():
        env_file(port).unlink(missing_ok=True)


def running_stack(port: int | None = None) -> dict[str, Any]:
    """The record of the stack `make run` serves on `port` (default: the PORT variable)."""
    port = port or port_setting("PORT")
    record = _read_record(port)
    if record is None:
        hint = "" if os.environ.get("PORT") else " (or set PORT to the port yours serves on)"
        raise NotRunning(f"no local stack serves on port {port}: start one with `make run`{hint}")
    if not _alive(record.get("pid")):
        raise NotRunning(f"the local stack on port {port} has stopped: start it again with `make run`")
    return record


def use_running_stack(port: int | None = None) -> dict[str, Any]:
    """Find the running stack and take on its environment (as `make invoke` runs functions)."""
    record = running_stack(port)
    for key, value in record["environment"].items():
        os.environ.setdefault(key, value)
    return record


def local_environment(moto_port: int) -> dict[str, str]:
    """Environment every local function sees, on top of the caller's own settings."""
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "RESOURCE_PREFIX": "wx-local",
        "SESSION_SECRET": secrets.token_hex(32),
    }
    for key in list(env):
        if os.environ.get(key) and key not in ("AWS_ENDPOINT_URL",):
            env[key] = os.environ[key]
    return env


def load_app(spec: str = "app:app") -> Any:
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr or "app")


def start_embedded_aws(port: int, prefix: str) -> Any:
    """Start a moto server on 127.0.0.1:`port`, point AWS_ENDPOINT_URL at it and create every
    table and queue of infra/data.yaml through CloudFormation. Returns the server."""
    from moto.server import ThreadedMotoServer

    from infra.local import moto_patches
    from infra.local.provision import provision

    class MotoServer(ThreadedMotoServer):
        # moto's start() waits forever for a server that failed to bind (werkzeug exits the
        # thread with SystemExit): report the failure instead.
        failed = False

        def _server_entry(self) -> None:
            try:
                super()._server_entry()
            except (OSError, SystemExit):
                self.failed = True
                self._server_ready_event.set()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto_patches.apply()  # DynamoDB must stay linearizable under concurrent requests
    server = MotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    if server.failed:
        raise PortTaken("MOTO_PORT", port)
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    provision(os.environ["AWS_ENDPOINT_URL"], prefix)
    return server


class LocalStack:
    def __init__(self, port: int, moto_port: int, app_spec: str = "app:app", sandbox_port: int | None = None):
        self.port = port
        self.moto_port = moto_port
        self.app_spec = app_spec
        self.sandbox_port = sandbox_port
        self.moto: Any = None
        self.sandbox: Any = None
        self.http: Any = None
        self.runtime: Any = None
        self.recorded: list[str] = []

    def start(self) -> None:
        env = local_environment(self.moto_port)
        # Links in messages and the menu open the pages on this API, so a developer can click through.
        env.setdefault("H5_BASE_URL", os.environ.get("H5_BASE_URL") or f"http://127.0.0.1:{self.port}")
        os.environ.update(env)
        self.recorded = [*env, "WECHAT_API_BASE", "WECHAT_OAUTH_BASE", "WECHAT_MP_BASE"]
        from functions.notifications import templates

        # A bad infra/templates.yaml (or TEMPLATES_OVERRIDE) stops the start with its reasons; read
        # here without caching the settings, which the sandbox's address is not in yet.
        templates.parse(templates.raw_config(override=os.environ.get("TEMPLATES_OVERRIDE", "")))
        self.moto = start_embedded_aws(self.moto_port, os.environ["RESOURCE_PREFIX"])

        if not os.environ.get("WECHAT_API_BASE"):
            from functions.core.config import load_settings
            from infra.local.sandbox import Sandbox

            settings = load_settings()
            port = self.sandbox_port if self.sandbox_port is not None else free_port()
            try:
                self.sandbox = Sandbox(
                    "127.0.0.1",
                    port,
                    settings.wechat_app_id,
                    settings.wechat_app_secret,
                    settings.wechat_token,
                    callback_url=f"http://127.0.0.1:{self.port}/wechat/callback",
                ).start()
            except OSError:
                raise PortTaken("SANDBOX_PORT", port) from None
            os.environ["WECHAT_API_BASE"] = self.sandbox.url
            os.environ.setdefault("WECHAT_OAUTH_BASE", self.sandbox.url)  # its sign-in page
            os.environ.setdefault("WECHAT_MP_BASE", self.sandbox.url)  # its QR code images

        app = load_app(self.app_spec)
        self._serve_http(app)
        if self.sandbox is not None:
            self._create_menu()

        import boto3

        from functions.core.config import resource_name
        from infra.local.runtime import EventRuntime

        self.runtime = EventRuntime(app, boto3.client("sqs"), resource_name)
        self.runtime.start()

    def _create_menu(self) -> None:
        """The account's menu (infra/menu.json) on the sandbox, as infra/deploy does on WeChat."""
        from functions.core.config import load_settings
        from infra import menu

        settings = load_settings()
        made = menu.render(
            menu.load(),
            oauth_base=settings.wechat_oauth_base,
            app_id=settings.wechat_app_id,
            h5_base_url=settings.h5_base_url,
        )
        try:
            menu.create(
                made,
                api_base=self.sandbox.url,
                app_id=settings.wechat_app_id,
                app_secret=settings.wechat_app_secret,
            )
        except menu.MenuRefused as refused:
            raise LocalError(
                f"infra/menu.json: the sandbox refused the menu as WeChat would ({refused})"
            ) from None

    def record(self) -> dict[str, Any]:
        """What `make invoke`, `make demo` and `wechat_sim` need to find and use this stack:
        its addresses and every setting it runs with."""
        from functions.core.config import Settings

        names = self.recorded + [field.name.upper() for field in dataclasses.fields(Settings)]
        return {
            "api": f"http://127.0.0.1:{self.port}",
            "sandbox": self.sandbox.url if self.sandbox is not None else None,
            "environment": {name: os.environ[name] for name in dict.fromkeys(names) if name in os.environ},
        }

    def _serve_http(self, app: Any) -> None:
        import threading

        from chalice.cli.factory import CLIFactory

        from infra.local import api_server

        config = CLIFactory(project_dir=str(ROOT)).create_config_obj(chalice_stage_name="dev")
        try:
            http = api_server.create(app, config, "127.0.0.1", self.port)
        except OSError:
            raise PortTaken("PORT", self.port) from None
        threading.Thread(target=http.server.serve_forever, name="http", daemon=True).start()
        self.http = http  # only now: shutdown() would wait forever for a server never served

    def stop(self) -> None:
        for part, method in (
            (self.runtime, "stop"),
            (self.http, "shutdown"),
            (self.sandbox, "stop"),
            (self.moto, "stop"),
        ):
            if part is not None:
                try:
                    getattr(part, method)()
                except Exception:
                    logging.getLogger("stack").exception("stopping %s", part)
