"""infra/put-secrets <stage>: store a stage's secrets as SSM SecureString parameters.

Each secret (functions/core/secrets.py SECRET_NAMES) is taken from the environment variable
of the same name if set, else asked for without echo. `--generate-missing` makes strong
random values for the secrets we choose ourselves (session, HMAC and admin keys); the WeChat
ones and the Kuaidi100 salt come from those consoles. Values never touch the repo or the
template; the functions read them at cold start (SECRETS_SSM_PATH=/wechat-retail/<stage>).

    WECHAT_APP_SECRET=... WECHAT_TOKEN=... infra/put-secrets prod --generate-missing
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys

from functions.core.secrets import SECRET_NAMES, parameter_name
from infra.template import SECRETS_ROOT

GENERATED = {"SESSION_SECRET", "LOGISTICS_HMAC_SECRET", "ADMIN_API_KEY"}
DESCRIPTIONS = {
    "WECHAT_APP_SECRET": "AppSecret of the official account (WeChat admin console)",
    "WECHAT_TOKEN": "callback Token (WeChat admin console, server configuration)",
    "WECHAT_ENCODING_AES_KEY": "43-character EncodingAESKey (same page)",
    "KUAIDI100_SALT": "salt of the Kuaidi100 push subscription",
    "SESSION_SECRET": "signs customer session tokens",
    "LOGISTICS_HMAC_SECRET": "shared with the native logistics webhook sender",
    "ADMIN_API_KEY": "X-Api-Key of /admin/*",
}


def validate(name: str, value: str) -> None:
    if not value:
        raise SystemExit(f"{name} is empty")
    if name == "WECHAT_ENCODING_AES_KEY" and len(value) != 43:
        raise SystemExit("WECHAT_ENCODING_AES_KEY must be 43 characters")


def collect(generate_missing: bool, interactive: bool) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in SECRET_NAMES:
        value = os.environ.get(name, "")
        if not value and generate_missing and name in GENERATED:
            value = secrets.token_urlsafe(32)
            print(f"{name}: generated", file=sys.stderr)
        if not value and interactive:
            value = getpass.getpass(f"{name} ({DESCRIPTIONS[name]}): ").strip()
        if not value:
            raise SystemExit(f"{name} not set: export it or run interactively")
        validate(name, value)
        values[name] = value
    return values


def put(ssm: object, stage: str, values: dict[str, str], key_id: str | None = None) -> list[str]:
    written = []
    for name, value in values.items():
        full = parameter_name(f"{SECRETS_ROOT}/{stage}", name)
        extra = {"KeyId": key_id} if key_id else {}
        ssm.put_parameter(  # type: ignore[attr-defined]
            Name=full,
            Value=value,
            Type="SecureString",
            Overwrite=True,
            Description=DESCRIPTIONS[name],
            **extra,
        )
        written.append(full)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="infra/put-secrets", description=__doc__.splitlines()[0])
    parser.add_argument("stage")
    parser.add_argument("--generate-missing", action="store_true", help="random session/HMAC/admin keys")
    parser.add_argument("--kms-key-id", help="customer managed KMS key (default: aws/ssm)")
    parser.add_argument("--region")
    args = parser.parse_args(argv)
    values = collect(args.generate_missing, sys.stdin.isatty())

    import boto3

    ssm = boto3.session.Session(region_name=args.region).client("ssm")
    for name in put(ssm, args.stage, values, args.kms_key_id):
        print(f"put {name} (SecureString)")
    print("functions read them at their next cold start; redeploy or wait for new containers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
