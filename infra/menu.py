"""The official account's menu: infra/menu.json, made for a stage and created on WeChat.

infra/menu.json is WeChat's `menu/create` JSON, except that a view button's `url` is the path
of one of our pages (`/h5/bookings`). `render` turns each into WeChat's web sign-in URL that
opens that page for the stage (CONTRACT §9: `{WECHAT_OAUTH_BASE}/connect/oauth2/authorize?…
redirect_uri=<H5_BASE_URL>/h5/auth?next=<path>…`), so a customer arrives signed in. Click
buttons carry the keys the WeChat callback answers (CONTRACT §2).

`make run` creates the menu on the local sandbox; `infra/deploy <stage>` on WeChat (with
`--dry-run` it prints the menu instead). `create` takes the token from `cgi-bin/stable_token`
without forcing a refresh, so it never invalidates the token the running functions share.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import requests

from functions.web.session import oauth_url

MENU = Path(__file__).with_name("menu.json")
# The state of a menu link: it cannot be a per-visit nonce, so /h5/auth does not exchange its
# code but starts the sign-in again with a state of its own (functions/web/session.py).
MENU_STATE = "menu"
TIMEOUT_S = (3.0, 10.0)


class MenuRefused(Exception):
    def __init__(self, errcode: int, errmsg: str):
        super().__init__(f"WeChat refused the menu: {errcode} {errmsg}")
        self.errcode = errcode


def load(path: Path = MENU) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def buttons(menu: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button that does something: the top-level ones without sub-buttons, and sub-buttons."""
    found = []
    for button in menu.get("button", []):
        found += button.get("sub_button") or [button]
    return found


def render(menu: dict[str, Any], *, oauth_base: str, app_id: str, h5_base_url: str) -> dict[str, Any]:
    """The menu for one account and stage: each view button's page path becomes its sign-in URL."""
    made = copy.deepcopy(menu)
    for button in buttons(made):
        if button.get("type") == "view" and str(button.get("url", "")).startswith("/h5/"):
            button["url"] = oauth_url(oauth_base, app_id, h5_base_url.rstrip("/"), button["url"], MENU_STATE)
    return made


def _answer(response: requests.Response) -> dict[str, Any]:
    response.raise_for_status()
    payload = response.json()
    if payload.get("errcode", 0) != 0:
        raise MenuRefused(int(payload["errcode"]), str(payload.get("errmsg", "")))
    return payload


def create(menu: dict[str, Any], *, api_base: str, app_id: str, app_secret: str) -> None:
    """`menu/create` on the WeChat API at `api_base`; MenuRefused with WeChat's errcode."""
    token = _answer(
        requests.post(
            f"{api_base}/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": app_id,
                "secret": app_secret,
                "force_refresh": False,
            },
            timeout=TIMEOUT_S,
        )
    )["access_token"]
    _answer(
        requests.post(
            f"{api_base}/cgi-bin/menu/create",
            params={"access_token": token},
            # UTF-8 as is: WeChat shows \\uXXXX escapes in button names literally.
            data=json.dumps(menu, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
            timeout=TIMEOUT_S,
        )
    )
