"""A local stand-in for the WeChat API (api.weixin.qq.com), with WeChat's response shapes.

WeChat cannot be reached from here, so `make run` starts this unless WECHAT_API_BASE is set.
It records every message sent (GET /sandbox/messages), counts calls per API
(GET /sandbox/calls) and injects faults on request (POST /sandbox/faults), so a developer
and the tests can watch each path. If a callback URL is configured it reports template
delivery back as WeChat does, with a signed TEMPLATESENDJOBFINISH event.

It also stands in for WeChat's web sign-in page (open.weixin.qq.com
`connect/oauth2/authorize`): a small page to pick which customer you are, or, given
`&openid=`, a direct redirect; either way back to `redirect_uri` with a one-time code, as
WeChat does. And it keeps the account's menu (`menu/create`, `menu/get`), refusing a menu
WeChat would refuse with WeChat's errcode (`menu_errcode`).
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import logging
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse, urlsplit, urlunsplit

import segno

TOKEN_TTL_S = 7200
OLD_TOKEN_GRACE_S = 300
FIELD_LIMIT = 20
OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")
OAUTH_CODE_TTL_S = 300  # a code is valid once, for 5 minutes
# Who this browser signed in as: WeChat knows who is using it, so its snsapi_base sign-in is
# silent after the first pick. GET /sandbox/sign-out forgets it.
WHO_COOKIE = "sandbox_openid"

ERRORS = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40003: "invalid openid",
    40008: "invalid message type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40029: "invalid code",
    40054: "invalid sub button url domain",
    40055: "invalid button url domain",
    40125: "invalid appsecret",
    40163: "code been used",
    44002: "empty post data",
    44003: "empty news data",
    46003: "menu no exist",
    42001: "access_token expired",
    43004: "require subscribe",
    45002: "content size out of limit",
    45015: "response out of time limit or subscription is canceled",
    45009: "reach max api daily quota limit",
    47003: "argument invalid!",
    40032: "invalid openid list size, at most 50",
    45056: "too many tags now, no more than 100",
    45057: "can't delete the tag that has too many fans",
    45058: "can't modify sys tag",
    45059: "user tag too much, no more than 20",
    45157: "invalid tag name, duplicated",
    45158: "tag name too long, no more than 30 bytes",
    45159: "invalid tag id",
    40130: "invalid openid list size, at least two openid",
    45065: "clientmsgid exist",
}


@dataclass
class Fault:
    api: str
    errcode: int = 0
    http_status: int = 200
    delay_ms: int = 0
    count: int = 1  # -1: until cleared
    openid: str | None = None


@dataclass
class SandboxState:
    app_id: str
    app_secret: str
    callback_token: str
    callback_url: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    token: str = ""
    token_expires: float = 0.0
    old_token: str = ""
    old_token_until: float = 0.0
    last_forced: float = 0.0
    messages: list[dict[str, Any]] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    unfollowed: set[str] = field(default_factory=set)
    qrcodes: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_msgid: int = 1000000
    oauth_codes: dict[str, tuple[str, float]] = field(default_factory=dict)  # code -> (openid, expires)
    used_codes: set[str] = field(default_factory=set)
    signed_in: list[str] = field(default_factory=list)  # openids that signed in, newest first
    menu: dict[str, Any] | None = None
    # openid -> unix time of the follower's last message to the account: customer-service
    # messages are allowed for 48 hours after it (POST /sandbox/interactions records one).
    last_wrote: dict[str, float] = field(default_factory=dict)
    mass: MassState = field(default_factory=lambda: MassState())
    # Subscribe notifications: (openid, template id) -> one-time grants left, as WeChat keeps them.
    subscribe_grants: dict[tuple[str, str], int] = field(default_factory=dict)
    jsapi_ticket: str = ""

    def rotate_token(self) -> None:
        now = time.time()
        if self.token:
            self.old_token, self.old_token_until = self.token, now + OLD_TOKEN_GRACE_S
        self.token = "SANDBOX_" + secrets.token_hex(16)
        self.token_expires = now + TOKEN_TTL_S

    def token_valid(self, token: str) -> bool:
        now = time.time()
        if token and token == self.token and now < self.token_expires:
            return True
        return bool(token) and token == self.old_token and now < self.old_token_until


def _err(code: int) -> dict[str, Any]:
    return {"errcode": code, "errmsg": ERRORS.get(code, "error")}


# -- the menu, checked as WeChat checks it ----------------------------------------------------

MAX_BUTTONS, MAX_SUB_BUTTONS = 3, 5
NAME_BYTES, SUB_NAME_BYTES, KEY_BYTES, URL_BYTES = 16, 60, 128, 1024
KEY_TYPES = {"click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
             "pic_weixin", "location_select"}  # fmt: skip
OTHER_TYPES = {"view", "miniprogram", "media_id", "view_limited", "article_id", "article_view_limited"}


def _size(value: Any) -> int:
    return len(str(value).encode("utf-8"))


def _button_errcode(button: Any, sub: bool) -> int:
    """0, or WeChat's errcode for this (sub-)button."""
    # WeChat's codes come in pairs: (button, sub-button).
    kind_err, name_err, key_err, url_err, domain_err = (
        (40024, 40025, 40026, 40027, 40054) if sub else (40017, 40018, 40019, 40020, 40055)
    )
    if not isinstance(button, dict):
        return kind_err
    name = button.get("name")
    if not isinstance(name, str) or not 0 < _size(name) <= (SUB_NAME_BYTES if sub else NAME_BYTES):
        return name_err
    children = button.get("sub_button")
    if not sub and children is not None and "type" not in button:
        if not isinstance(children, list) or not 0 < len(children) <= MAX_SUB_BUTTONS:
            return 40023
        return next((code for code in (_button_errcode(c, True) for c in children) if code), 0)
    kind = button.get("type")
    if kind in KEY_TYPES:
        key = button.get("key")
        return 0 if isinstance(key, str) and 0 < _size(key) <= KEY_BYTES else key_err
    if kind == "view":
        url = button.get("url")
        if not isinstance(url, str) or not 0 < _size(url) <= URL_BYTES:
            return url_err
        return 0 if urlparse(url).scheme in ("http", "https") and urlparse(url).netloc else domain_err
    return 0 if kind in OTHER_TYPES else kind_err


def menu_errcode(menu: Any) -> int:
    """0 for a menu WeChat's `menu/create` accepts, else the errcode WeChat answers: at most 3
    buttons of at most 5 sub-buttons; names of at most 16 bytes (sub-buttons 60); keys 128
    bytes; URLs 1024 bytes."""
    if not isinstance(menu, dict) or not menu:
        return 44002
    buttons = menu.get("button")
    if not isinstance(buttons, list) or not 0 < len(buttons) <= MAX_BUTTONS:
        return 40016
    return next((code for code in (_button_errcode(b, False) for b in buttons) if code), 0)


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(extra)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


class SandboxHandler(BaseHTTPRequestHandler):
    state: SandboxState
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet
        return

    # -- plumbing -------------------------------------------------------------------

    def _send(self, payload: Any, status: int = 200) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = self._body() if method == "POST" else {}
        path = url.path.rstrip("/")
        if path.startswith("/sandbox"):
            return self._control(method, path, query, body)
        if path == "/connect/oauth2/authorize" and method == "GET":
            return self.authorize(query)
        if path == "/cgi-bin/showqrcode" and method == "GET":
            return self.showqrcode(query)
        if path == "/sandbox/sign-out" and method == "GET":
            return self._page(200, "<h1>已退出</h1><p>下次打开页面时会再询问您是哪位顾客。</p>", forget=True)
        api = path.lstrip("/")
        with self.state.lock:
            self.state.calls[api] = self.state.calls.get(api, 0) + 1
        fault = self._take_fault(api, body.get("touser") or query.get("openid"))
        if fault is not None:
            if fault.delay_ms:
                time.sleep(fault.delay_ms / 1000)
            if fault.http_status != 200:
                return self._send({"errcode": -1, "errmsg": "gateway error"}, fault.http_status)
            if fault.errcode:
                return self._send(_err(fault.errcode))
        handler = {
            "cgi-bin/token": self.token,
            "cgi-bin/stable_token": self.stable_token,
            "cgi-bin/message/template/send": self.template_send,
            "cgi-bin/message/custom/send": self.custom_send,
            "cgi-bin/message/subscribe/bizsend": self.subscribe_send,
            "cgi-bin/ticket/getticket": self.getticket,
            "cgi-bin/qrcode/create": self.qrcode_create,
            "sns/oauth2/access_token": self.oauth,
            "cgi-bin/menu/create": self.menu_create,
            "cgi-bin/menu/get": self.menu_get,
            **tag_apis(self),
            "cgi-bin/message/mass/send": lambda q, b: mass_send(self, q, b),
        }.get(api)
        if handler is None:
            return self._send({"errcode": 404, "errmsg": f"sandbox has no API {api}"}, 404)
        return handler(query, body)

    def _take_fault(self, api: str, openid: str | None) -> Fault | None:
        with self.state.lock:
            for fault in self.state.faults:
                if fault.api not in (api, "*") or (fault.openid and fault.openid != openid):
                    continue
                if fault.count > 0:
                    fault.count -= 1
                if fault.count == 0:
                    self.state.faults.remove(fault)
                return fault
        return None

    # -- control API ----------------------------------------------------------------

    def _control(self, method: str, path: str, query: dict, body: dict) -> None:
        s = self.state
        if path == "/sandbox/subscribe" and method == "POST":
            return self.subscribe_event(body)
        with s.lock:
            if path == "/sandbox/messages" and method == "GET":
                msgs = [m for m in s.messages if not query.get("touser") or m["touser"] == query["touser"]]
                return self._send({"messages": msgs})
            if path == "/sandbox/messages" and method == "DELETE":
                s.messages.clear()
                return self._send({"ok": True})
            if path == "/sandbox/calls":
                return self._send({"calls": dict(s.calls)})
            if path == "/sandbox/faults" and method == "POST":
                fault = Fault(**{k: v for k, v in body.items() if k in Fault.__dataclass_fields__})
                s.faults.append(fault)
                return self._send({"ok": True})
            if path == "/sandbox/faults" and method == "DELETE":
                s.faults.clear()
                return self._send({"ok": True})
            if path == "/sandbox/expire-token" and method == "POST":
                s.token, s.old_token = "", ""
                return self._send({"ok": True})
            if path == "/sandbox/unfollow" and method == "POST":
                s.unfollowed.add(body["openid"])
                return self._send({"ok": True})
            if path == "/sandbox/qrcodes":
                return self._send({"qrcodes": list(s.qrcodes)})
            if path == "/sandbox/tags" and method == "GET":  # each tag with its followers
                return self._send({"tags": [{**t, "openids": sorted(t["openids"])} for t in s.tags.values()]})
            if path == "/sandbox/menu" and method == "GET":
                return self._send({"menu": s.menu})
            if path == "/sandbox/interactions" and method == "POST":
                return self._send(record_interaction(s, body))
            if path == "/sandbox/mass" and method == "GET":
                return self._send({"sends": list(s.mass.sends)})
            if path == "/sandbox/reset" and method == "POST":
                s.messages.clear(), s.calls.clear(), s.faults.clear(), s.unfollowed.clear()
                s.mass = MassState()
                return self._send({"ok": True})
        return self._send({"errcode": 404, "errmsg": "unknown sandbox control path"}, 404)

    # -- WeChat APIs ----------------------------------------------------------------

    def _check_app(self, appid: str | None, secret: str | None) -> dict | None:
        if appid != self.state.app_id:
            return _err(40013)
        if secret != self.state.app_secret:
            return _err(40125)
        return None

    def _issue(self, force: bool) -> dict[str, Any]:
        s = self.state
        with s.lock:
            now = time.time()
            if force and now - s.last_forced < 30 and s.token:
                return {"errcode": 45011, "errmsg": "api minute-quota reach limit, forced refresh 30s apart"}
            if force or not s.token or now >= s.token_expires:
                s.rotate_token()
                if force:
                    s.last_forced = now
            return {"access_token": s.token, "expires_in": int(s.token_expires - now)}

    def token(self, query: dict, body: dict) -> None:
        error = self._check_app(query.get("appid"), query.get("secret"))
        if error:
            return self._send(error)
        # cgi-bin/token always issues a new token, invalidating the old one after 5 minutes.
        with self.state.lock:
            self.state.rotate_token()
        return self._send({"access_token": self.state.token, "expires_in": TOKEN_TTL_S})

    def stable_token(self, query: dict, body: dict) -> None:
        error = self._check_app(body.get("appid"), body.get("secret"))
        if error:
            return self._send(error)
        return self._send(self._issue(bool(body.get("force_refresh"))))

    def _authorised(self, query: dict) -> bool:
        with self.state.lock:
            return self.state.token_valid(query.get("access_token", ""))

    def template_send(self, query: dict, body: dict) -> None:
        if not self._authorised(query):
            return self._send(_err(40001))
        touser = body.get("touser", "")
        if touser in self.state.unfollowed:
            return self._send(_err(43004))
        data = body.get("data") or {}
        if not body.get("template_id") or not touser or data_errcode(data):
            return self._send(_err(47003))
        with self.state.lock:
            client_msg_id = body.get("client_msg_id")
            for m in self.state.messages:
                # WeChat drops a repeated client_msg_id for the same user within 10 minutes.
                if client_msg_id and m.get("client_msg_id") == client_msg_id and m["touser"] == touser:
                    return self._send({"errcode": 0, "errmsg": "ok", "msgid": m["msgid"]})
            self.state.next_msgid += 1
            msgid = self.state.next_msgid
            self.state.messages.append(
                {"kind": "template", "msgid": msgid, "at": time.time(), **body, "touser": touser}
            )
        self._report_delivery(touser, msgid)
        return self._send({"errcode": 0, "errmsg": "ok", "msgid": msgid})

    def custom_send(self, query: dict, body: dict) -> None:
        """`message/custom/send`: a customer-service message, allowed for 48 hours after the
        follower's last message to the account (45015 after that, or if they never wrote)."""
        if not self._authorised(query):
            return self._send(_err(40001))
        touser = body.get("touser")
        if touser in self.state.unfollowed:
            return self._send(_err(43004))
        errcode = custom_errcode(body)
        if errcode:
            return self._send(_err(errcode))
        with self.state.lock:
            wrote = self.state.last_wrote.get(touser)
            if wrote is None or time.time() - wrote > CUSTOM_WINDOW_S:
                return self._send(_err(45015))
            self.state.messages.append({"kind": "custom", "at": time.time(), **body})
        return self._send({"errcode": 0, "errmsg": "ok"})

    def qrcode_create(self, query: dict, body: dict) -> None:
        if not self._authorised(query):
            return self._send(_err(40001))
        action = body.get("action_name")
        scene = ((body.get("action_info") or {}).get("scene") or {}).get("scene_str", "")
        if action not in ("QR_STR_SCENE", "QR_LIMIT_STR_SCENE", "QR_SCENE", "QR_LIMIT_SCENE"):
            return self._send(_err(47003))
        if action.endswith("STR_SCENE") and not 1 <= len(scene) <= 64:
            return self._send(_err(47003))
        ticket = "gQ" + secrets.token_urlsafe(24)
        result: dict[str, Any] = {"ticket": ticket, "url": f"http://weixin.qq.com/q/{ticket[:22]}"}
        if action in ("QR_STR_SCENE", "QR_SCENE"):
            result["expire_seconds"] = min(int(body.get("expire_seconds") or 60), 2592000)
        with self.state.lock:
            self.state.qrcodes.append({**body, **result})
        return self._send(result)

    def showqrcode(self, query: dict) -> None:
        """`mp.weixin.qq.com/cgi-bin/showqrcode?ticket=`: the code's picture, a PNG of the URL
        `qrcode/create` answered with (what a phone scanning it reads), like WeChat's own."""
        ticket = query.get("ticket", "")
        with self.state.lock:
            found = next((q for q in self.state.qrcodes if q.get("ticket") == ticket), None)
        if found is None:
            return self._send({"errcode": 40001, "errmsg": "invalid ticket"}, 404)
        out = io.BytesIO()
        segno.make(found["url"], error="m", micro=False).save(out, kind="png", scale=10, border=2)
        data = out.getvalue()
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "max-age=86400")
        self.end_headers()
        self.wfile.write(data)

    def oauth(self, query: dict, body: dict) -> None:
        error = self._check_app(query.get("appid"), query.get("secret"))
        if error:
            return self._send(error)
        # A code of the sign-in page is valid once, for 5 minutes (40163 when used again). A code
        # of the form `openid:<openid>` signs in as <openid> any number of times, for scripts and
        # tests. WeChat answers any code it did not issue with 40029.
        code = query.get("code", "")
        if query.get("grant_type") != "authorization_code":
            return self._send(_err(40029))
        with self.state.lock:
            issued = self.state.oauth_codes.pop(code, None)
            used = code in self.state.used_codes
            if issued is not None:
                self.state.used_codes.add(code)
        if used:
            return self._send(_err(40163))
        if issued is not None and issued[1] >= time.time():
            openid = issued[0]
        else:
            openid = code.removeprefix("openid:")
            if issued is not None or openid == code or not OPENID.fullmatch(openid):
                return self._send(_err(40029))
        return self._send(
            {
                "access_token": "OAUTH_" + secrets.token_hex(8),
                "expires_in": 7200,
                "refresh_token": "REFRESH_" + secrets.token_hex(8),
                "openid": openid,
                "scope": "snsapi_base",
            }
        )

    # -- WeChat's web sign-in page (open.weixin.qq.com) ---------------------------------

    def _page(self, status: int, body: str, forget: bool = False) -> None:
        data = (
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
            "<title>微信登录（本地沙箱）</title><style>body{font:16px sans-serif;margin:24px;color:#222}"
            "a,button{display:block;margin:10px 0;padding:12px;border-radius:8px;background:#07c160;"
            "color:#fff;text-decoration:none;border:0;font:inherit;width:100%;text-align:center}"
            "input{font:inherit;padding:10px;width:100%;box-sizing:border-box}</style></head><body>"
            f"{body}</body></html>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if forget:
            self.send_header("Set-Cookie", f"{WHO_COOKIE}=; Path=/connect/oauth2; Max-Age=0")
        self.end_headers()
        self.wfile.write(data)

    def _who(self) -> str:
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == WHO_COOKIE and OPENID.fullmatch(value):
                return value
        return ""

    def authorize(self, query: dict) -> None:
        """`connect/oauth2/authorize`: back to `redirect_uri` with a one-time code and the state.
        With `openid=` it signs in as that customer at once; without, as the customer this browser
        picked before; else it asks which one."""
        s = self.state
        with s.lock:
            s.calls["connect/oauth2/authorize"] = s.calls.get("connect/oauth2/authorize", 0) + 1
        redirect_uri = query.get("redirect_uri", "")
        target = urlparse(redirect_uri)
        if query.get("appid") != s.app_id:
            return self._page(400, "<h1>参数错误</h1><p>appid 无效（40013）</p>")
        if target.scheme not in ("http", "https") or not target.netloc:
            return self._page(400, "<h1>参数错误</h1><p>redirect_uri 参数错误（10003）</p>")
        if query.get("response_type") != "code" or query.get("scope") not in (
            "snsapi_base",
            "snsapi_userinfo",
        ):
            return self._page(400, "<h1>参数错误</h1><p>scope 或 response_type 参数错误（10005）</p>")
        openid = query.get("openid", "").strip() or self._who()
        if OPENID.fullmatch(openid):
            code = secrets.token_urlsafe(16)
            with s.lock:
                s.oauth_codes[code] = (openid, time.time() + OAUTH_CODE_TTL_S)
                s.signed_in = [openid] + [o for o in s.signed_in if o != openid]
            location = _with_query(redirect_uri, {"code": code, "state": query.get("state", "")})
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header(
                "Set-Cookie", f"{WHO_COOKIE}={openid}; Path=/connect/oauth2; HttpOnly; SameSite=Lax"
            )
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        with s.lock:
            known = list(dict.fromkeys([*s.signed_in, *(m["touser"] for m in reversed(s.messages))]))[:8]
        keep = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in query.items()
            if k != "openid"
        )
        picks = "".join(
            f'<a href="?{html.escape(urlencode({**query, "openid": o}))}">{html.escape(o)}</a>' for o in known
        )
        return self._page(
            200,
            "<h1>微信登录（本地沙箱）</h1><p>在微信里这一步是自动的。请选择以哪位顾客的身份打开页面：</p>"
            f"{picks}<form method='get'>{keep}<p><input name='openid' placeholder='openid，例如 o-demo' "
            "required pattern='[A-Za-z0-9_\\-]{1,64}'></p><button type='submit'>登录</button></form>",
        )

    # -- the menu ---------------------------------------------------------------------

    def menu_create(self, query: dict, body: dict) -> None:
        if not self._authorised(query):
            return self._send(_err(40001))
        errcode = menu_errcode(body)
        if errcode:
            return self._send(_err(errcode))
        with self.state.lock:
            self.state.menu = body
        return self._send({"errcode": 0, "errmsg": "ok"})

    def menu_get(self, query: dict, body: dict) -> None:
        if not self._authorised(query):
            return self._send(_err(40001))
        with self.state.lock:
            menu = self.state.menu
        return self._send({"menu": menu} if menu else _err(46003))

    # -- delivery reports -----------------------------------------------------------

    def _report_delivery(self, openid: str, msgid: int) -> None:
        url = self.state.callback_url
        if not url:
            return
        threading.Thread(
            target=report_template_delivery, args=(url, self.state, openid, msgid), daemon=True
        ).start()


def report_template_delivery(callback_url: str, state: SandboxState, openid: str, msgid: int) -> None:
    """POST a signed plaintext TEMPLATESENDJOBFINISH to our callback, as WeChat does."""
    time.sleep(0.2)
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    signature = hashlib.sha1("".join(sorted([state.callback_token, timestamp, nonce])).encode()).hexdigest()
    xml = (
        f"<xml><ToUserName><![CDATA[gh_sandbox]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{msgid}</MsgID>"
        f"<Status><![CDATA[success]]></Status></xml>"
    )
    query = f"signature={signature}&timestamp={timestamp}&nonce={nonce}&openid={openid}"
    request = urllib.request.Request(f"{callback_url}?{query}", data=xml.encode(), method="POST")
    try:
        urllib.request.urlopen(request, timeout=5).read()
    except OSError as error:  # delivery reports are best effort, as in WeChat
        logging.getLogger("sandbox").info("delivery report not delivered: %s", error)


# -- customer-service messages (the store inbox) ----------------------------------------------

CUSTOM_WINDOW_S = 48 * 3600
CUSTOM_TEXT_BYTES = 2048
CUSTOM_TYPES = {"text", "image", "voice", "video", "music", "news", "mpnews", "msgmenu", "wxcard",
                "miniprogrampage"}  # fmt: skip


def custom_errcode(body: dict[str, Any]) -> int:
    """0 for a custom/send body WeChat takes, else its errcode (text: at most 2048 bytes)."""
    touser, msgtype = body.get("touser"), body.get("msgtype")
    if not isinstance(touser, str) or not OPENID.fullmatch(touser):
        return 40003 if touser else 44002
    if msgtype not in CUSTOM_TYPES or not isinstance(body.get(msgtype), dict):
        return 40008
    if msgtype == "text":
        content = body["text"].get("content")
        if not isinstance(content, str) or not content:
            return 44003
        if len(content.encode()) > CUSTOM_TEXT_BYTES:
            return 45002
    return 0


def record_interaction(state: SandboxState, body: dict[str, Any]) -> dict[str, Any]:
    """`POST /sandbox/interactions {openid, at?}`: the follower wrote to the account (at unix
    time `at`, default now), as WeChat knows when it relays their message. Caller holds the lock."""
    openid, at = body.get("openid"), body.get("at")
    if not isinstance(openid, str) or not OPENID.fullmatch(openid):
        return _err(40003)
    state.last_wrote[openid] = float(at) if isinstance(at, int | float) else time.time()
    return {"ok": True, "openid": openid, "at": state.last_wrote[openid]}


class _SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of concurrent senders overflows the default backlog of 5


class Sandbox:
    def __init__(
        self,
        host: str,
        port: int,
        app_id: str,
        app_secret: str,
        callback_token: str,
        callback_url: str | None = None,
    ):
        self.state = SandboxState(app_id, app_secret, callback_token, callback_url)
        handler = type("BoundSandboxHandler", (SandboxHandler,), {"state": self.state})
        self.server = _SandboxServer((host, port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="wechat-sandbox", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Sandbox:
        self.thread.start()
        return self

    def follower_wrote(self, openid: str, at: float | None = None) -> None:
        """The follower messaged the account (what WeChat knows when it relays a message)."""
        with self.state.lock:
            record_interaction(self.state, {"openid": openid, **({"at": at} if at is not None else {})})

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- user tags (tags/create, tags/get, tags/members/batch(un)tagging, tags/getidlist,
#    user/tag/get), with WeChat's limits and errcodes -----------------------------------------

MAX_TAGS, MAX_TAG_NAME_BYTES, MAX_TAGS_PER_FOLLOWER, MAX_TAG_BATCH = 100, 30, 20, 50
TAG_FANS_PAGE = 10_000  # user/tag/get: openids a page
FIRST_TAG_ID = 100  # ids 0, 1 and 2 are WeChat's reserved tags


def tag_apis(handler: SandboxHandler) -> dict[str, Any]:
    return {
        "cgi-bin/tags/create": lambda q, b: _tag_answer(handler, q, tags_create(handler.state, b)),
        "cgi-bin/tags/get": lambda q, b: _tag_answer(handler, q, tags_get(handler.state)),
        "cgi-bin/tags/members/batchtagging": lambda q, b: _tag_answer(
            handler, q, tags_batch(handler.state, b, True)
        ),
        "cgi-bin/tags/members/batchuntagging": lambda q, b: _tag_answer(
            handler, q, tags_batch(handler.state, b, False)
        ),
        "cgi-bin/tags/getidlist": lambda q, b: _tag_answer(handler, q, tags_of(handler.state, b)),
        "cgi-bin/user/tag/get": lambda q, b: _tag_answer(handler, q, tag_fans(handler.state, b)),
    }


def _tag_answer(handler: SandboxHandler, query: dict, answer: Any) -> None:
    if not handler._authorised(query):
        return handler._send(_err(40001))
    return handler._send(answer)


def tags_create(state: SandboxState, body: dict) -> dict[str, Any]:
    name = str((body.get("tag") or {}).get("name") or "")
    with state.lock:
        if not name:
            return _err(47003)
        if len(name.encode()) > MAX_TAG_NAME_BYTES:
            return _err(45158)
        if any(t["name"] == name for t in state.tags.values()):
            return _err(45157)
        if len(state.tags) >= MAX_TAGS:
            return _err(45056)
        tag_id = max(state.tags, default=FIRST_TAG_ID - 1) + 1
        state.tags[tag_id] = {"id": tag_id, "name": name, "openids": set()}
    return {"tag": {"id": tag_id, "name": name}}


def tags_get(state: SandboxState) -> dict[str, Any]:
    with state.lock:
        return {
            "tags": [
                {"id": t["id"], "name": t["name"], "count": len(t["openids"])} for t in state.tags.values()
            ]
        }


def _tags_of(state: SandboxState, openid: str) -> list[int]:
    return [t["id"] for t in state.tags.values() if openid in t["openids"]]


def tags_batch(state: SandboxState, body: dict, tagging: bool) -> dict[str, Any]:
    openids = body.get("openid_list")
    with state.lock:
        if not isinstance(openids, list) or not openids:
            return _err(44002)
        if len(openids) > MAX_TAG_BATCH:
            return _err(40032)
        if not all(isinstance(o, str) and OPENID.fullmatch(o) for o in openids):
            return _err(40003)
        tag = state.tags.get(body.get("tagid")) if isinstance(body.get("tagid"), int) else None
        if tag is None:
            return _err(45159)
        if tagging:
            # The whole call is refused if one follower would pass 20 tags.
            full = [
                o
                for o in openids
                if o not in tag["openids"] and len(_tags_of(state, o)) >= MAX_TAGS_PER_FOLLOWER
            ]
            if full:
                return _err(45059)
            tag["openids"].update(openids)
        else:
            tag["openids"].difference_update(openids)
    return {"errcode": 0, "errmsg": "ok"}


def tags_of(state: SandboxState, body: dict) -> dict[str, Any]:
    openid = body.get("openid")
    if not isinstance(openid, str) or not OPENID.fullmatch(openid):
        return _err(40003)
    with state.lock:
        return {"tagid_list": _tags_of(state, openid)}


def tag_fans(state: SandboxState, body: dict) -> dict[str, Any]:
    with state.lock:
        tag = state.tags.get(body.get("tagid")) if isinstance(body.get("tagid"), int) else None
        if tag is None:
            return _err(45159)
        after = str(body.get("next_openid") or "")
        ordered = sorted(o for o in tag["openids"] if o > after)
    page = ordered[:TAG_FANS_PAGE]
    return {"count": len(page), "data": {"openid": page}, "next_openid": page[-1] if page else ""}


# -- mass messages (message/mass/send) ------------------------------------------------------

MASS_MIN, MASS_MAX = 2, 10_000  # openids a mass/send takes
MASS_PER_MONTH = 4  # WeChat delivers a follower at most 4 mass messages a calendar month
CLIENTMSGID_S = 24 * 3600  # a clientmsgid is remembered for 24 hours
MASS_HELPER = "mphelper"  # FromUserName of MASSSENDJOBFINISH: the account's mass-send assistant


@dataclass
class MassState:
    sends: list[dict[str, Any]] = field(default_factory=list)  # what GET /sandbox/mass shows
    by_clientmsgid: dict[str, tuple[int, float]] = field(default_factory=dict)  # -> (msg_id, at)
    received: dict[tuple[str, str], int] = field(default_factory=dict)  # (openid, YYYY-MM) -> count


def mass_send(handler: SandboxHandler, query: dict, body: dict) -> None:
    """`message/mass/send` by openid list, as WeChat answers it: 40130 for fewer than 2 (or more
    than 10,000) openids; 45065 with the earlier msg_id for a clientmsgid seen within 24 hours;
    else {errcode 0, msg_id, msg_data_id}, and, a moment later, MASSSENDJOBFINISH to the
    callback with WeChat's counts (followers who left, or who received 4 this month, are
    filtered out)."""
    s = handler.state
    if not handler._authorised(query):
        return handler._send(_err(40001))
    touser = body.get("touser")
    if not isinstance(touser, list) or not all(isinstance(o, str) and OPENID.fullmatch(o) for o in touser):
        return handler._send(_err(47003))
    if not MASS_MIN <= len(touser) <= MASS_MAX:
        return handler._send(_err(40130))
    msgtype = body.get("msgtype")
    content = body.get(msgtype) if isinstance(msgtype, str) else None
    if msgtype not in ("text", "mpnews", "image", "voice", "mpvideo") or not isinstance(content, dict):
        return handler._send(_err(47003))
    if msgtype == "text" and not str(content.get("content") or "").strip():
        return handler._send(_err(47003))
    if msgtype != "text" and not content.get("media_id"):
        return handler._send(_err(47003))
    client_msg_id = str(body.get("clientmsgid") or "")
    now = time.time()
    month = time.strftime("%Y-%m", time.gmtime(now + 8 * 3600))  # WeChat's month: Beijing time
    with s.lock:
        earlier = s.mass.by_clientmsgid.get(client_msg_id) if client_msg_id else None
        if earlier is not None and now - earlier[1] < CLIENTMSGID_S:
            return handler._send({**_err(45065), "msg_id": earlier[0]})
        s.next_msgid += 1
        msg_id = s.next_msgid
        if client_msg_id:
            s.mass.by_clientmsgid[client_msg_id] = (msg_id, now)
        delivered = []
        for openid in dict.fromkeys(touser):
            key = (openid, month)
            if openid in s.unfollowed or s.mass.received.get(key, 0) >= MASS_PER_MONTH:
                continue
            s.mass.received[key] = s.mass.received.get(key, 0) + 1
            delivered.append(openid)
        s.mass.sends.append(
            {"msg_id": msg_id, "at": now, "clientmsgid": client_msg_id, "msgtype": msgtype,
             msgtype: content, "touser": list(touser), "delivered": delivered}
        )  # fmt: skip
    counts = {"TotalCount": len(touser), "FilterCount": len(delivered), "SentCount": len(delivered),
              "ErrorCount": 0}  # fmt: skip
    if s.callback_url:
        threading.Thread(
            target=report_mass_job_finish, args=(s.callback_url, s, msg_id, counts), daemon=True
        ).start()
    return handler._send({"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id,
                          "msg_data_id": 2_000_000_000 + msg_id})  # fmt: skip


def report_mass_job_finish(
    callback_url: str, state: SandboxState, msg_id: int, counts: dict[str, int]
) -> None:
    """POST a signed plaintext MASSSENDJOBFINISH to our callback, as WeChat does once a job ends."""
    time.sleep(1.0)
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    signature = hashlib.sha1("".join(sorted([state.callback_token, timestamp, nonce])).encode()).hexdigest()
    numbers = "".join(f"<{name}>{value}</{name}>" for name, value in counts.items())
    xml = (
        f"<xml><ToUserName><![CDATA[gh_sandbox]]></ToUserName><FromUserName><![CDATA[{MASS_HELPER}]]>"
        f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>{msg_id}</MsgID>"
        f"<Status><![CDATA[send success]]></Status>{numbers}</xml>"
    )
    query = f"signature={signature}&timestamp={timestamp}&nonce={nonce}&openid={MASS_HELPER}"
    request = urllib.request.Request(f"{callback_url}?{query}", data=xml.encode(), method="POST")
    for _ in range(3):  # WeChat retries a callback that does not answer
        try:
            urllib.request.urlopen(request, timeout=5).read()
            return
        except OSError as error:
            logging.getLogger("sandbox").info("mass job report not delivered: %s", error)
            time.sleep(1.0)


# -- subscribe notifications and the JS-SDK ticket (CONTRACT §15) -------------------------------

_HAN = re.compile(r"^[\u4e00-\u9fff]{1,5}$")
_TIME_POINT = re.compile(
    r"^(?:\d{4}年\d{1,2}月\d{1,2}日(?: (?:[01]\d|2[0-3]):[0-5]\d)?|(?:[01]\d|2[0-3]):[0-5]\d"
    r"|\d{4}-\d{2}-\d{2}(?: (?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?)?)$"
)
_FIELD_RULES: dict[str, Any] = {
    # WeChat's category-template types, by the key's prefix (thing3 is a thing): 47003 otherwise.
    "thing": lambda v: 0 < len(v) <= FIELD_LIMIT,
    "character_string": lambda v: 0 < len(v) <= 32 and all(33 <= ord(c) <= 126 for c in v),
    "phrase": lambda v: bool(_HAN.match(v)),
    "time": lambda v: all(_TIME_POINT.match(p.strip()) for p in v.split("~")) and v.count("~") <= 1,
    "amount": lambda v: bool(re.match(r"^[¥$€£]?\d{1,10}(\.\d{1,2})?元?$", v)),
    "number": lambda v: bool(re.match(r"^\d{1,10}(\.\d+)?$", v)),
    "phone_number": lambda v: bool(re.match(r"^[0-9+\-() ]{1,17}$", v)),
    "const": lambda v: bool(v),
}


def data_errcode(data: Any) -> int:
    """0 if WeChat would accept the message's `data`, else 47003 (a value breaks its key's type,
    a line break, `first`/`remark`)."""
    if not isinstance(data, dict) or not data:
        return 47003
    for key, item in data.items():
        value = (item or {}).get("value") if isinstance(item, dict) else None
        kind = re.sub(r"\d+$", "", str(key))
        if not isinstance(value, str) or "\n" in value or key in ("first", "remark"):
            return 47003
        rule = _FIELD_RULES.get(kind, lambda v: 0 < len(v) <= FIELD_LIMIT)
        if not rule(value):
            return 47003
    return 0


def _subscribe_send(self: SandboxHandler, query: dict, body: dict) -> None:
    """`message/subscribe/bizsend`: 43101 unless the follower has a grant of the template left;
    each send uses one. Delivery is reported with a subscribe_msg_sent_event."""
    if not self._authorised(query):
        return self._send(_err(40001))
    touser, template_id = str(body.get("touser", "")), str(body.get("template_id", ""))
    if touser in self.state.unfollowed:
        return self._send(_err(43004))
    if not touser or not template_id or data_errcode(body.get("data")):
        return self._send(_err(47003))
    with self.state.lock:
        left = self.state.subscribe_grants.get((touser, template_id), 0)
        if left <= 0:
            return self._send({"errcode": 43101, "errmsg": "user refuse to accept the msg"})
        self.state.subscribe_grants[(touser, template_id)] = left - 1
        self.state.next_msgid += 1
        msgid = self.state.next_msgid
        self.state.messages.append({"kind": "subscribe", "msgid": msgid, "at": time.time(), **body})
    if self.state.callback_url:
        inner = (
            f"<SubscribeMsgSentEvent><List><TemplateId>{template_id}</TemplateId><MsgID>{msgid}</MsgID>"
            "<ErrorCode>0</ErrorCode><ErrorStatus><![CDATA[success]]></ErrorStatus></List></SubscribeMsgSentEvent>"
        )
        threading.Thread(
            target=post_event,
            args=(self.state.callback_url, self.state, touser, "subscribe_msg_sent_event", inner, 0.2),
            daemon=True,
        ).start()
    return self._send({"errcode": 0, "errmsg": "ok", "msgid": msgid})


def _getticket(self: SandboxHandler, query: dict, body: dict) -> None:
    """`ticket/getticket?type=jsapi`: the JS-SDK ticket (7200 s), the same until it expires."""
    if not self._authorised(query):
        return self._send(_err(40001))
    if query.get("type") != "jsapi":
        return self._send({"errcode": 40097, "errmsg": "invalid args"})
    with self.state.lock:
        if not self.state.jsapi_ticket:
            self.state.jsapi_ticket = "SANDBOX_TICKET_" + secrets.token_hex(16)
        ticket = self.state.jsapi_ticket
    return self._send({"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": TOKEN_TTL_S})


def _subscribe_event(self: SandboxHandler, body: dict) -> None:
    """POST /sandbox/subscribe {openid, template_ids, status: accept|reject, event: popup|change}:
    the follower answers the `wx-open-subscribe` popup (or changes it in WeChat's settings);
    the sandbox keeps the grant as WeChat would and posts the signed event to the callback."""
    openid, status = str(body.get("openid", "")), str(body.get("status", "accept"))
    template_ids = [str(t) for t in body.get("template_ids") or []]
    popup = body.get("event", "popup") == "popup"
    with self.state.lock:
        for template_id in template_ids:
            key = (openid, template_id)
            if popup and status == "accept":
                self.state.subscribe_grants[key] = self.state.subscribe_grants.get(key, 0) + 1
            elif not popup and status == "reject":
                self.state.subscribe_grants[key] = 0
    element, event = (
        ("SubscribeMsgPopupEvent", "subscribe_msg_popup_event")
        if popup
        else ("SubscribeMsgChangeEvent", "subscribe_msg_change_event")
    )
    scene = "<PopupScene>2</PopupScene>" if popup else ""
    items = "".join(
        f"<List><TemplateId><![CDATA[{t}]]></TemplateId>"
        f"<SubscribeStatusString><![CDATA[{status}]]></SubscribeStatusString>{scene}</List>"
        for t in template_ids
    )
    answer = None
    if self.state.callback_url:
        answer = post_event(
            self.state.callback_url, self.state, openid, event, f"<{element}>{items}</{element}>"
        )
    return self._send({"ok": True, "callback_status": answer})


SandboxHandler.subscribe_send = _subscribe_send  # type: ignore[attr-defined]
SandboxHandler.getticket = _getticket  # type: ignore[attr-defined]
SandboxHandler.subscribe_event = _subscribe_event  # type: ignore[attr-defined]


def post_event(
    callback_url: str, state: SandboxState, openid: str, event: str, inner_xml: str, delay_s: float = 0
) -> int | None:
    """POST a signed plaintext event to our callback, as WeChat does; its HTTP status."""
    if delay_s:
        time.sleep(delay_s)
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    signature = hashlib.sha1("".join(sorted([state.callback_token, timestamp, nonce])).encode()).hexdigest()
    xml = (
        f"<xml><ToUserName><![CDATA[gh_sandbox]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>{inner_xml}</xml>"
    )
    query = f"signature={signature}&timestamp={timestamp}&nonce={nonce}&openid={openid}"
    request = urllib.request.Request(f"{callback_url}?{query}", data=xml.encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError as error:  # events are best effort, as in WeChat
        logging.getLogger("sandbox").info("%s not delivered: %s", event, error)
        return None
