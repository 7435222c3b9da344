"""Secrets from SSM Parameter Store, read once per container (cold start).

In AWS every function has SECRETS_SSM_PATH (`/wechat-retail/<stage>`), and the secrets are
SecureString parameters below it (`infra/put-secrets <stage>` writes them). They are read
with decryption in one GetParameters call and placed into this process's environment, where
functions.core.config reads every setting. So nothing secret is in the repo, the template or
the Lambda configuration. Locally SECRETS_SSM_PATH is unset and nothing happens.

A stage with a secret missing fails at cold start, loudly, rather than falling back to the
sandbox defaults (an admin key of `dev-admin-key` in production).
"""

from __future__ import annotations

import os
import threading

from functions.core.aws import client

PATH_VARIABLE = "SECRETS_SSM_PATH"
SECRET_NAMES = (
    "WECHAT_APP_SECRET",
    "WECHAT_TOKEN",
    "WECHAT_ENCODING_AES_KEY",
    "KUAIDI100_SALT",
    "SESSION_SECRET",
    "LOGISTICS_HMAC_SECRET",
    "ADMIN_API_KEY",
)

_lock = threading.Lock()
_loaded: dict[str, str] | None = None


class MissingSecrets(RuntimeError):
    pass


def parameter_name(path: str, name: str) -> str:
    return f"{path.rstrip('/')}/{name}"


def fetch(path: str) -> dict[str, str]:
    """Every secret under `path`, decrypted; raises MissingSecrets if any is absent."""
    names = [parameter_name(path, n) for n in SECRET_NAMES]
    found: dict[str, str] = {}
    for start in range(0, len(names), 10):  # GetParameters takes at most 10 names
        response = client("ssm").get_parameters(Names=names[start : start + 10], WithDecryption=True)
        for parameter in response["Parameters"]:
            found[parameter["Name"].rsplit("/", 1)[-1]] = parameter["Value"]
    missing = [n for n in SECRET_NAMES if not found.get(n)]
    if missing:
        raise MissingSecrets(f"missing SSM parameters under {path}: {', '.join(missing)}")
    return found


def load_into_environ() -> None:
    """Read the secrets once per container and put them into os.environ; no-op locally."""
    global _loaded
    path = os.environ.get(PATH_VARIABLE, "").strip()
    if not path:
        return
    with _lock:
        if _loaded is None:
            _loaded = fetch(path)
        os.environ.update(_loaded)


def forget() -> None:
    """Drop the per-container cache (tests)."""
    global _loaded
    with _lock:
        _loaded = None
