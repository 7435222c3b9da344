"""The local stack: moto server, data stack, WeChat sandbox, Chalice HTTP server and the
event runtime, all in one process so that stopping it leaves nothing behind."""

from __future__ import annotations

import importlib
import json
import logging
import os
import secrets
import socket
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = Path(os.environ.get("LOCAL_RUN_DIR") or ROOT / ".run")
ENV_FILE = RUN_DIR / "env.json"


def configure_logging() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s")
    for noisy in ("botocore", "pynamodb", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto_patches.apply()  # DynamoDB must stay linearizable under concurrent requests
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    provision(os.environ["AWS_ENDPOINT_URL"], prefix)
    return server


class LocalStack:
    def __init__(
        self,
        port: int,
        moto_port: int,
        app_spec: str = "app:app",
        sandbox_port: int | None = None,
        write_env_file: bool = True,
    ):
        self.port = port
        self.moto_port = moto_port
        self.app_spec = app_spec
        self.sandbox_port = sandbox_port
        self.write_env_file = write_env_file
        self.moto: Any = None
        self.sandbox: Any = None
        self.http: Any = None
        self.runtime: Any = None

    def start(self) -> None:
        env = local_environment(self.moto_port)
        os.environ.update(env)
        self.moto = start_embedded_aws(self.moto_port, env["RESOURCE_PREFIX"])

        if not os.environ.get("WECHAT_API_BASE"):
            from functions.core.config import load_settings
            from infra.local.sandbox import Sandbox

            settings = load_settings()
            self.sandbox = Sandbox(
                "127.0.0.1",
                self.sandbox_port if self.sandbox_port is not None else free_port(),
                settings.wechat_app_id,
                settings.wechat_app_secret,
                settings.wechat_token,
                callback_url=f"http://127.0.0.1:{self.port}/wechat/callback",
            ).start()
            os.environ["WECHAT_API_BASE"] = self.sandbox.url

        app = load_app(self.app_spec)
        self._serve_http(app)

        import boto3

        from functions.core.config import resource_name
        from infra.local.runtime import EventRuntime

        self.runtime = EventRuntime(app, boto3.client("sqs"), resource_name)
        self.runtime.start()
        if self.write_env_file:
            RUN_DIR.mkdir(exist_ok=True)
            keys = [*env, "WECHAT_API_BASE"]
            ENV_FILE.write_text(json.dumps({k: os.environ[k] for k in keys}, indent=2))

    def _serve_http(self, app: Any) -> None:
        import threading

        from chalice.cli.factory import CLIFactory
        from chalice.local import create_local_server

        config = CLIFactory(project_dir=str(ROOT)).create_config_obj(chalice_stage_name="dev")
        # create_local_server makes current_request thread-local, which concurrent requests need.
        self.http = create_local_server(app, config, "127.0.0.1", self.port)
        threading.Thread(target=self.http.server.serve_forever, name="http", daemon=True).start()

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
        if self.write_env_file and ENV_FILE.exists():
            ENV_FILE.unlink()
