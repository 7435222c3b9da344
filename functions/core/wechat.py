"""Calls to the WeChat API (WECHAT_API_BASE), with the access_token handled for the caller.

Interface used by every capability:
    call(api, body=None, *, query=None) -> dict   # raises WeChatError on errcode != 0
    oauth_openid(code) -> str                     # sns/oauth2/access_token

FOUNDATION VERSION: an in-memory token per process. The "Outbound WeChat" issue replaces
the token handling with the shared DynamoDB cache and the single forced refresh.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

from functions.core.config import get_settings

TIMEOUT_S = (1.0, 3.0)


class WeChatError(Exception):
    def __init__(self, errcode: int, errmsg: str, http_status: int = 200):
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.http_status = http_status


_lock = threading.Lock()
_token: tuple[str, float] | None = None


def _request(method: str, api: str, query: dict[str, Any] | None, body: dict[str, Any] | None) -> dict:
    url = f"{get_settings().wechat_api_base}/{api}"
    response = requests.request(method, url, params=query, json=body, timeout=TIMEOUT_S)
    if response.status_code >= 500:
        raise WeChatError(-1, f"HTTP {response.status_code}", response.status_code)
    data = response.json()
    if data.get("errcode", 0) != 0:
        raise WeChatError(int(data["errcode"]), str(data.get("errmsg", "")), response.status_code)
    return data


def access_token() -> str:
    global _token
    with _lock:
        if _token is None or _token[1] < time.time():
            s = get_settings()
            data = _request(
                "POST",
                "cgi-bin/stable_token",
                None,
                {"grant_type": "client_credential", "appid": s.wechat_app_id, "secret": s.wechat_app_secret},
            )
            _token = (data["access_token"], time.time() + int(data["expires_in"]) - 300)
        return _token[0]


def call(api: str, body: dict[str, Any] | None = None, *, query: dict[str, Any] | None = None) -> dict:
    params = {"access_token": access_token(), **(query or {})}
    return _request("POST" if body is not None else "GET", api, params, body)


def oauth_openid(code: str) -> str:
    s = get_settings()
    data = _request(
        "GET",
        "sns/oauth2/access_token",
        {
            "appid": s.wechat_app_id,
            "secret": s.wechat_app_secret,
            "code": code,
            "grant_type": "authorization_code",
        },
        None,
    )
    return str(data["openid"])
