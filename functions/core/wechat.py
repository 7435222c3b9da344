"""Calls to the WeChat API (WECHAT_API_BASE), with the access_token handled for the caller.

Interface used by every capability:
    call(api, body=None, *, query=None) -> dict   # raises WeChatError on errcode != 0
    oauth_openid(code) -> str                     # sns/oauth2/access_token
    jsapi_ticket() -> str                         # cgi-bin/ticket/getticket, shared like the token

The access_token
- comes from `cgi-bin/stable_token` with `force_refresh: false` (every caller gets the same
  token, so processes never invalidate each other's token as `cgi-bin/token` does);
- lives in one DynamoDB item (notifications table, pk `TOKEN#<appid>`) shared by every
  function, read through an in-memory copy until shortly before it expires;
- is fetched or force-refreshed by exactly one caller at a time: a conditional write takes a
  short lease on the item, the others poll the item briefly and reuse what the winner stored;
- is force-refreshed only after 40001/40014/42001 on the very token that failed, at most once
  per 30 s and FORCED_PER_DAY times a day (WeChat allows 20, 30 s apart), each counted in
  DynamoDB before the call is made. Single-item conditional writes throughout: all the state
  lives on the token's one item. A caller retries once with the new token, never more.

A thin `requests` client rather than wechatpy's WeChatClient: wechatpy's client keeps the token
in a per-client session storage and refetches inline on 40001 in every process (the
overwrite bug we avoid), so we would be replacing both its fetch and its retry; what would
remain is a `requests.post`. wechatpy still does the callback crypto and parsing.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import requests
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.models import Model
from requests.adapters import HTTPAdapter

from functions.core import clock
from functions.core.config import get_settings
from functions.core.models import TableMeta, condition_failed

TIMEOUT_S = (1.0, 3.0)  # connect, read: a slow WeChat must not eat a Lambda's budget
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
REFRESH_MARGIN_S = 300  # start refreshing this long before WeChat's expiry
LEASE_S = 5.0  # a refresher that crashed frees the lease after this
WAIT_S = 6.0  # how long a caller waits for another caller's refresh
POLL_S = 0.05
FORCED_MIN_INTERVAL_S = 30
FORCED_PER_DAY = 20
WECHAT_DAY_TZ = timedelta(hours=8)  # WeChat's daily quotas reset at midnight Beijing time


class WeChatError(Exception):
    def __init__(self, errcode: int, errmsg: str, http_status: int = 200, answer: dict | None = None):
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.http_status = http_status
        self.answer = answer or {}  # the whole JSON answer (45065 names the earlier msg_id)

    @property
    def transient(self) -> bool:
        """Worth retrying later: WeChat's busy code, HTTP 5xx, timeouts and token trouble."""
        return self.errcode in (-1, 45011) or self.errcode in TOKEN_ERRORS or self.http_status >= 500


# -- HTTP ---------------------------------------------------------------------------------


@cache
def _session() -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=64)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _request(method: str, api: str, query: dict[str, Any] | None, body: dict[str, Any] | None) -> dict:
    url = f"{get_settings().wechat_api_base}/{api}"
    # ensure_ascii=False: some WeChat APIs show \uXXXX escapes literally to the customer.
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else None
    try:
        response = _session().request(
            method, url, params=query, data=data, headers=headers, timeout=TIMEOUT_S
        )
    except requests.Timeout as error:
        raise WeChatError(-1, f"timeout calling {api}: {error}", 0) from None
    except requests.RequestException as error:
        raise WeChatError(-1, f"cannot reach WeChat for {api}: {error}", 0) from None
    if response.status_code >= 500:
        raise WeChatError(-1, f"HTTP {response.status_code}", response.status_code)
    try:
        payload = json.loads(response.content.decode("utf-8"))
    except ValueError:
        raise WeChatError(-1, f"HTTP {response.status_code}: not JSON", response.status_code) from None
    if not isinstance(payload, dict):
        raise WeChatError(-1, "unexpected response shape", response.status_code)
    if payload.get("errcode", 0) != 0:
        raise WeChatError(
            int(payload["errcode"]), str(payload.get("errmsg", "")), response.status_code, payload
        )
    return payload


# -- the shared token ---------------------------------------------------------------------


class TokenRow(Model):
    """One item per app id in the notifications table; `lease_*` marks a refresh in progress."""

    class Meta(TableMeta):
        table = "notifications"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    token = UnicodeAttribute(null=True)
    expires_ts = NumberAttribute(null=True)
    refresh_after_ts = NumberAttribute(null=True)
    generation = NumberAttribute(null=True)
    lease_owner = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(null=True)
    last_forced_ts = NumberAttribute(null=True)
    forced_day = UnicodeAttribute(null=True)  # WeChat's day (Beijing) of forced_count
    forced_count = NumberAttribute(null=True)


TOKEN_SK = "TOKEN"  # noqa: S105 - a sort key, not a secret


@dataclass(frozen=True)
class Token:
    value: str
    expires_ts: float
    refresh_after_ts: float

    def usable(self, now: float) -> bool:
        return now < self.refresh_after_ts and now < self.expires_ts


def refresh_after(now: float, expires_in: float) -> float:
    # Normally REFRESH_MARGIN_S before expiry; a token that arrives nearly expired is used for
    # half of what is left, so a fresh one is asked for without a fetch per call.
    return now + max(expires_in - REFRESH_MARGIN_S, expires_in / 2)


Fetch = Callable[[bool], tuple[str, int]]


def _now() -> float:
    # The shared clock, so that a test moving time moves the token's expiry with everything else.
    return clock.now().timestamp()


class TokenCache:
    """The access_token of one app: in-memory copy over the shared DynamoDB item.

    One instance per process (`token_cache()`); tests create several to stand in for
    several Lambda containers.
    """

    def __init__(self, app_id: str, fetch: Fetch, prefix: str = "TOKEN"):
        self.key = f"{prefix}#{app_id}"  # TICKET#<appid>: the JS-SDK's jsapi_ticket, shared alike
        self.fetch = fetch
        self.owner = uuid.uuid4().hex
        self._lock = threading.Lock()  # one refresher per process; the lease does it across
        self._token: Token | None = None

    # public -------------------------------------------------------------------------

    def get(self) -> str:
        token = self._token
        if token is not None and token.usable(_now()):
            return token.value
        with self._lock:
            token = self._token
            if token is not None and token.usable(_now()):
                return token.value
            self._token = self._shared(bad=None)
            return self._token.value

    def replace_invalid(self, bad: str) -> str:
        """WeChat refused `bad` (40001/40014/42001): a token that is not `bad`, with at most one
        forced refresh across every caller. Raises WeChatError when none can be had now."""
        with self._lock:
            token = self._token
            if token is not None and token.value != bad and token.usable(_now()):
                return token.value  # another thread of this process already replaced it
            self._token = self._shared(bad=bad)
            return self._token.value

    def forget(self) -> None:
        """Drop the in-memory copy (a cold start)."""
        with self._lock:
            self._token = None

    # the shared item ----------------------------------------------------------------

    def _read(self) -> TokenRow | None:
        try:
            return TokenRow.get(self.key, TOKEN_SK, consistent_read=True)
        except TokenRow.DoesNotExist:
            return None

    def _good(self, row: TokenRow | None, bad: str | None) -> Token | None:
        if row is None or not row.token or row.expires_ts is None:
            return None
        now = _now()
        token = Token(row.token, float(row.expires_ts), float(row.refresh_after_ts or row.expires_ts))
        if bad is None:
            return token if token.usable(now) else None
        return token if token.value != bad and now < token.expires_ts else None

    def _shared(self, bad: str | None) -> Token:
        deadline = time.monotonic() + WAIT_S
        while True:
            row = self._read()
            good = self._good(row, bad)
            if good is not None:
                return good
            taken = self._take_lease(bad)
            if taken == "taken":
                return self._refresh(bad)
            row = self._read()
            good = self._good(row, bad)
            if good is not None:
                return good
            now = _now()
            lease_held = row is not None and row.lease_until is not None and row.lease_until > now
            if bad is None and lease_held and row.token and row.expires_ts and now < row.expires_ts - 5:
                # Refreshing early: the current token still works, look again in a moment.
                return Token(row.token, float(row.expires_ts), min(float(row.expires_ts), now + 1))
            if bad is not None and taken == "refused" and not lease_held:
                # Nobody is refreshing and we may not force again yet: do not loop on it.
                raise WeChatError(40001, "access_token refused and a forced refresh is not allowed yet")
            if time.monotonic() > deadline:
                raise WeChatError(-1, "access_token refresh by another caller did not finish in time", 0)
            time.sleep(POLL_S)

    def _lease_actions(self, now: float) -> list:
        return [TokenRow.lease_owner.set(self.owner), TokenRow.lease_until.set(now + LEASE_S)]

    def _take_lease(self, bad: str | None) -> str:
        """Returns "taken", or "refused" when a condition says no (another has it, or not allowed)."""
        now = _now()
        lease_free = TokenRow.lease_until.does_not_exist() | (TokenRow.lease_until < now)
        if bad is None:
            stale = TokenRow.token.does_not_exist() | (TokenRow.refresh_after_ts <= now)
            try:
                TokenRow(self.key, TOKEN_SK).update(
                    actions=self._lease_actions(now), condition=lease_free & stale
                )
            except UpdateError as error:
                if condition_failed(error):
                    return "refused"
                raise
            return "taken"
        # Forced: only on the token that failed, 30 s after the last one, within the day's
        # budget, counted on the same item in the same conditional write (the day's first
        # forced refresh resets the count, later ones add to it).
        day = (datetime.fromtimestamp(now, UTC) + WECHAT_DAY_TZ).date().isoformat()
        forced = (
            lease_free
            & (TokenRow.token == bad)
            & (
                TokenRow.last_forced_ts.does_not_exist()
                | (TokenRow.last_forced_ts <= now - FORCED_MIN_INTERVAL_S)
            )
        )
        lease = [*self._lease_actions(now), TokenRow.last_forced_ts.set(now)]
        variants = (
            (
                [*lease, TokenRow.forced_count.add(1)],
                forced & (TokenRow.forced_day == day) & (TokenRow.forced_count < FORCED_PER_DAY),
            ),
            (
                [*lease, TokenRow.forced_day.set(day), TokenRow.forced_count.set(1)],
                forced & (TokenRow.forced_day.does_not_exist() | (TokenRow.forced_day != day)),
            ),
        )
        for actions, condition in variants:
            try:
                TokenRow(self.key, TOKEN_SK).update(actions=actions, condition=condition)
            except UpdateError as error:
                if condition_failed(error):
                    continue
                raise
            return "taken"
        return "refused"

    def _refresh(self, bad: str | None) -> Token:
        try:
            value, expires_in = self.fetch(bad is not None)
        except Exception:
            self._release()
            raise
        now = _now()
        token = Token(value, now + expires_in, refresh_after(now, expires_in))
        try:
            TokenRow(self.key, TOKEN_SK).update(
                actions=[
                    TokenRow.token.set(token.value),
                    TokenRow.expires_ts.set(token.expires_ts),
                    TokenRow.refresh_after_ts.set(token.refresh_after_ts),
                    TokenRow.generation.add(1),
                    TokenRow.lease_owner.remove(),
                    TokenRow.lease_until.remove(),
                ],
                condition=TokenRow.lease_owner == self.owner,
            )
        except UpdateError as error:
            # Our lease ran out and another caller took over: use our token, store nothing.
            if not condition_failed(error):
                raise
        return token

    def _release(self) -> None:
        # Someone else's lease now, or the item is gone: nothing of ours to free.
        with contextlib.suppress(UpdateError):
            TokenRow(self.key, TOKEN_SK).update(
                actions=[TokenRow.lease_owner.remove(), TokenRow.lease_until.remove()],
                condition=TokenRow.lease_owner == self.owner,
            )


def fetch_stable_token(force_refresh: bool) -> tuple[str, int]:
    s = get_settings()
    data = _request(
        "POST",
        "cgi-bin/stable_token",
        None,
        {
            "grant_type": "client_credential",
            "appid": s.wechat_app_id,
            "secret": s.wechat_app_secret,
            "force_refresh": force_refresh,
        },
    )
    return str(data["access_token"]), int(data["expires_in"])


@cache
def _token_cache(app_id: str, api_base: str) -> TokenCache:
    return TokenCache(app_id, fetch_stable_token)


def token_cache() -> TokenCache:
    """This process's cache for the configured app (and API base, so tests can repoint it)."""
    s = get_settings()
    return _token_cache(s.wechat_app_id, s.wechat_api_base)


def access_token() -> str:
    return token_cache().get()


# -- the JS-SDK's jsapi_ticket --------------------------------------------------------------


def fetch_jsapi_ticket(force_refresh: bool) -> tuple[str, int]:
    """`cgi-bin/ticket/getticket?type=jsapi` (7200 s, limited per day like the token)."""
    data = call("cgi-bin/ticket/getticket", query={"type": "jsapi"})
    return str(data["ticket"]), int(data["expires_in"])


@cache
def _ticket_cache(app_id: str, api_base: str) -> TokenCache:
    return TokenCache(app_id, fetch_jsapi_ticket, prefix="TICKET")


def jsapi_ticket() -> str:
    """The jsapi_ticket that signs the H5 pages' `wx.config`: cached and shared by every
    function through DynamoDB exactly as the access_token is (item `TICKET#<appid>`), so a
    fleet asks WeChat for one per two hours, not one per page view."""
    s = get_settings()
    return _ticket_cache(s.wechat_app_id, s.wechat_api_base).get()


# -- the interface ------------------------------------------------------------------------


def call(api: str, body: dict[str, Any] | None = None, *, query: dict[str, Any] | None = None) -> dict:
    """POST `body` (or GET without one) to `api` with the access_token; one retry after a
    token error, with the token every caller shares after one forced refresh."""
    method = "POST" if body is not None else "GET"
    cache_ = token_cache()
    token = cache_.get()
    try:
        return _request(method, api, {"access_token": token, **(query or {})}, body)
    except WeChatError as error:
        if error.errcode not in TOKEN_ERRORS:
            raise
    token = cache_.replace_invalid(token)
    return _request(method, api, {"access_token": token, **(query or {})}, body)


def oauth_openid(code: str) -> str:
    """The openid behind an OAuth `code` (sns/oauth2/access_token; no access_token needed)."""
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
    openid = data.get("openid")
    if not openid:
        raise WeChatError(-1, "sns/oauth2/access_token returned no openid")
    return str(openid)
