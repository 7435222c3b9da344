"""Secrets come from SSM at cold start in AWS, once per container; locally nothing changes."""

from __future__ import annotations

import os
import uuid

import boto3
import pytest

from functions.core import secrets
from functions.core.config import load_settings
from infra.secrets import put
from infra.template import SECRETS_ROOT

VALUES = {
    "WECHAT_APP_SECRET": "real-app-secret",
    "WECHAT_TOKEN": "realtoken",
    "WECHAT_ENCODING_AES_KEY": "A" * 43,
    "KUAIDI100_SALT": "real-salt",
    "SESSION_SECRET": "real-session-secret",
    "LOGISTICS_HMAC_SECRET": "real-hmac",
    "ADMIN_API_KEY": "real-admin-key",
}


@pytest.fixture
def stage_env(aws, monkeypatch):
    """A fresh stage's SSM path in the environment; the process environment is restored after."""
    stage = f"t{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SECRETS_SSM_PATH", f"{SECRETS_ROOT}/{stage}")
    saved = {name: os.environ.get(name) for name in secrets.SECRET_NAMES}
    secrets.forget()
    yield stage
    secrets.forget()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def test_put_secrets_then_a_cold_start_reads_them_decrypted(aws, stage_env):
    # Given the stage's secrets put as SecureString parameters
    ssm = boto3.client("ssm", endpoint_url=aws)
    written = put(ssm, stage_env, VALUES)
    assert {p["Type"] for p in ssm.describe_parameters()["Parameters"] if p["Name"] in written} == {
        "SecureString"
    }
    # When a function loads its settings
    settings = load_settings()
    # Then they are the stored secrets, not the sandbox defaults
    assert settings.admin_api_key == "real-admin-key"
    assert settings.wechat_token == "realtoken"
    assert settings.session_secret == "real-session-secret"
    assert settings.wechat_encoding_aes_key == "A" * 43


def test_secrets_are_read_once_per_container(aws, stage_env, monkeypatch):
    put(boto3.client("ssm", endpoint_url=aws), stage_env, VALUES)
    calls = []
    real = secrets.fetch
    monkeypatch.setattr(secrets, "fetch", lambda path: calls.append(path) or real(path))
    load_settings()
    load_settings()
    assert len(calls) == 1


def test_a_missing_secret_fails_the_cold_start_instead_of_using_sandbox_values(aws, stage_env):
    partial = {k: v for k, v in VALUES.items() if k != "ADMIN_API_KEY"}
    put(boto3.client("ssm", endpoint_url=aws), stage_env, partial)
    with pytest.raises(secrets.MissingSecrets, match="ADMIN_API_KEY"):
        load_settings()


def test_locally_without_a_path_nothing_is_read(monkeypatch):
    monkeypatch.delenv("SECRETS_SSM_PATH", raising=False)
    monkeypatch.setattr(secrets, "fetch", lambda path: pytest.fail("SSM read locally"))
    assert load_settings().kuaidi100_salt == os.environ.get("KUAIDI100_SALT", "dev-salt")
