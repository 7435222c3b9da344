"""Customer session tokens: `<openid>.<expires>.<hmac>`, signed with SESSION_SECRET."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from functions.core import clock, signing
from functions.core.config import get_settings
from functions.core.errors import Unauthenticated


def _sign(payload: str) -> str:
    key = get_settings().session_secret.encode()
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue_token(openid: str, ttl_s: int | None = None) -> str:
    ttl = ttl_s if ttl_s is not None else get_settings().session_ttl_s
    openid_b64 = base64.urlsafe_b64encode(openid.encode()).decode().rstrip("=")
    payload = f"{openid_b64}.{clock.now_ts() + ttl}"
    return f"{payload}.{_sign(payload)}"


def verify_token(token: str) -> str:
    """Return the token's openid, or raise Unauthenticated."""
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthenticated("malformed session token", code="invalid_token")
    openid_b64, expires, signature = parts
    payload = f"{openid_b64}.{expires}"
    if not payload.isascii() or not signing.matches(_sign(payload), signature):
        raise Unauthenticated("session token signature is invalid", code="invalid_token")
    expires_ts = clock.unix_seconds(expires)
    if expires_ts is None or expires_ts < clock.now_ts():
        raise Unauthenticated("session token has expired", code="token_expired")
    padded = openid_b64 + "=" * (-len(openid_b64) % 4)
    try:
        return base64.urlsafe_b64decode(padded).decode()
    except (binascii.Error, UnicodeDecodeError):  # signed by us, so only if the secret leaked
        raise Unauthenticated("malformed session token", code="invalid_token") from None
