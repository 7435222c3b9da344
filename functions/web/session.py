"""Who is looking at a page: WeChat's web sign-in, the session cookie and CSRF tokens (CONTRACT §9).

- A page request without a valid session is sent (302) to WeChat's sign-in page
  (`{WECHAT_OAUTH_BASE}/connect/oauth2/authorize`, `snsapi_base`), with a fresh `state` that a
  short-lived cookie remembers; WeChat sends the customer back to `/h5/auth?next=…` with a code.
- `/h5/auth` checks the state against that cookie, exchanges the code, sets the session cookie
  (the signed token of functions.core.session: HttpOnly, SameSite=Lax, Secure over https) and
  sends the customer on to `next`, which is only ever a path of ours under /h5/.
- Every form carries `csrf_token`, an HMAC of the session token: a form from another site, or
  from an earlier session, is refused. `signed_in` checks it on every POST, so a page cannot
  forget to.

A code that arrives with a state we did not give out (a menu link goes to WeChat directly and
cannot carry one) is never exchanged: the sign-in starts again with a state of ours, which costs
the customer one more silent redirect, and stops with a page if that one fails too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, quote, urlencode, urlparse

from chalice.app import Request

from functions.core.config import get_settings
from functions.core.errors import Forbidden, Unauthenticated
from functions.core.http import header
from functions.core.session import verify_token

SESSION_COOKIE = "h5_session"
STATE_COOKIE = "h5_state"
STATE_TTL_S = 600
CSRF_FIELD = "csrf_token"
HOME = "/h5/bookings"
# A page of ours: /h5 and below, a query at most; no scheme, host, backslash or `//`.
_LOCAL = re.compile(r"^/h5(/[^\s?#\\]*)?(\?[^\s#\\]*)?$(?!\n)")


@dataclass(frozen=True)
class Session:
    """The signed-in customer of a page request."""

    openid: str
    token: str

    @property
    def csrf_token(self) -> str:
        return csrf_token_for(self.token)


class SignInRequired(Unauthenticated):
    """No valid session: the page answers with WeChat's sign-in (see functions.web.pages)."""

    code = "sign_in_required"

    def __init__(self, next_path: str):
        super().__init__("sign in through WeChat first")
        self.next_path = next_path


# -- paths ------------------------------------------------------------------------------


def base_path() -> str:
    """The path prefix of H5_BASE_URL (API Gateway's stage, `/api`, or nothing)."""
    return urlparse(get_settings().h5_base_url).path.rstrip("/")


def local(path: str) -> str:
    """A path of this app as the browser addresses it."""
    return base_path() + path


def safe_next(next_path: str | None) -> str:
    """`next` if it is a page of ours, else the home page: never an open redirect."""
    if next_path and len(next_path) <= 1024 and _LOCAL.match(next_path) and "//" not in next_path:
        return next_path
    return HOME


def request_path(request: Request) -> str:
    """The path and query this request asked for (the route's template filled in)."""
    params = request.uri_params or {}
    path = re.sub(r"{([^}]+)}", lambda m: quote(params.get(m.group(1), ""), safe=""), request.path)
    query = request.query_params or {}
    pairs = [(k, v) for k in query for v in query.getlist(k)]
    return path + (f"?{urlencode(pairs)}" if pairs else "")


# -- cookies ----------------------------------------------------------------------------


def cookie(request: Request, name: str) -> str | None:
    raw = header(request, "Cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def set_cookie(name: str, value: str, max_age: int) -> str:
    """A Set-Cookie value for the pages' path: HttpOnly, SameSite=Lax, Secure over https."""
    parts = [f"{name}={value}", f"Path={local('/h5')}", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if get_settings().h5_base_url.startswith("https://"):
        parts.append("Secure")
    return "; ".join(parts)


def clear_cookie(name: str) -> str:
    return set_cookie(name, "", 0)


def session_cookie(token: str) -> str:
    return set_cookie(SESSION_COOKIE, token, get_settings().session_ttl_s)


# -- the signed-in customer -------------------------------------------------------------


def csrf_token_for(session_token: str) -> str:
    key = get_settings().session_secret.encode()
    digest = hmac.new(key, b"csrf\n" + session_token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def current(request: Request) -> Session | None:
    token = cookie(request, SESSION_COOKIE)
    if not token:
        return None
    try:
        return Session(verify_token(token), token)
    except Unauthenticated:
        return None  # expired or forged: sign in again


def _form_csrf(request: Request) -> str:
    try:
        fields = parse_qsl((request.raw_body or b"").decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return ""
    return next((value for name, value in fields if name == CSRF_FIELD), "")


def signed_in(request: Request) -> Session:
    """The page's customer, from the session cookie; on a POST, also the form's CSRF token.
    Without a session: SignInRequired, which the page turns into WeChat's sign-in."""
    session = current(request)
    if session is None:
        raise SignInRequired(request_path(request))
    if request.method not in ("GET", "HEAD"):
        sent = _form_csrf(request)
        if not sent or not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise Forbidden("the form's csrf_token is missing or stale", code="stale_form")
    return session


signed_in.security_scheme = {  # type: ignore[attr-defined]
    "type": "apiKey",
    "in": "cookie",
    "name": SESSION_COOKIE,
    "description": "the customer's session, set by /h5/auth after WeChat's web sign-in; "
    "every form also carries csrf_token",
}


# -- WeChat's sign-in -------------------------------------------------------------------


def oauth_url(
    oauth_base: str, app_id: str, h5_base_url: str, next_path: str, state: str, retry: bool = False
) -> str:
    """WeChat's sign-in page for the account `app_id`, which comes back to
    `<h5_base_url>/h5/auth?next=<next_path>` with a code and the `state` (CONTRACT §9). The
    account's menu opens the pages through it too (infra/menu.py)."""
    back = {"next": next_path, **({"retry": "1"} if retry else {})}
    query = urlencode(
        {
            "appid": app_id,
            "redirect_uri": f"{h5_base_url}/h5/auth?{urlencode(back)}",
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
        },
        quote_via=quote,
    )
    return f"{oauth_base}/connect/oauth2/authorize?{query}#wechat_redirect"


def authorize_url(next_path: str, state: str, retry: bool = False) -> str:
    """WeChat's sign-in page for this account, back to /h5/auth?next=<next_path>."""
    s = get_settings()
    return oauth_url(s.wechat_oauth_base, s.wechat_app_id, s.h5_base_url, next_path, state, retry)


def new_state() -> str:
    return secrets.token_urlsafe(16)


def state_matches(request: Request, state: str | None) -> bool:
    expected = cookie(request, STATE_COOKIE)
    return bool(state and expected) and hmac.compare_digest(str(state).encode(), str(expected).encode())
