"""Who is using the console: the operator's session cookie and CSRF, on functions.web's plumbing.

The cookie is HttpOnly, SameSite=Strict, Secure over https, scoped to /console and expiring
with the session; its token is signed for the console's audience (functions.operators.domain),
so a customer's session is never an operator's. Every form but the sign-in carries
`csrf_token`, checked here on every POST so that no page can forget to.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalice.app import Request

from functions.core.config import get_settings
from functions.core.errors import Forbidden, Unauthenticated
from functions.operators.domain import Operator, from_session
from functions.web import session as web

COOKIE = "console_session"
PATH = "/console"
SAME_SITE = "Strict"
HOME = "/console/"


@dataclass(frozen=True)
class Caller:
    """The signed-in operator of a console request."""

    operator: Operator
    token: str

    @property
    def csrf_token(self) -> str:
        return web.csrf_token_for(self.token)

    def require_store(self, store_id: str) -> None:
        """403 unless the operator may see and act on `store_id`."""
        if not self.operator.may_see(store_id):
            raise Forbidden("this store is not yours", code="other_store")

    def require_admin(self) -> None:
        if not self.operator.is_admin:
            raise Forbidden("for admins only", code="admins_only")


class ConsoleSignInRequired(Unauthenticated):
    """No valid session: the page answers 303 to the sign-in page."""

    code = "sign_in_required"

    def __init__(self, next_path: str):
        super().__init__("sign in first")
        self.next_path = next_path


def ttl_s() -> int:
    return get_settings().session_ttl_s


def session_cookie(token: str) -> str:
    return web.set_cookie(COOKIE, token, ttl_s(), PATH, SAME_SITE)


def clear_session_cookie() -> str:
    return web.clear_cookie(COOKIE, PATH, SAME_SITE)


def safe_next(next_path: str | None) -> str:
    """A console path to go on to after signing in, or the overview: never an open redirect."""
    if (
        next_path
        and len(next_path) <= 1024
        and next_path.startswith("/console/")
        and "//" not in next_path
        and "\\" not in next_path
        and not any(c.isspace() for c in next_path)
    ):
        return next_path
    return HOME


def operator_signed_in(request: Request) -> Caller:
    """The console's operator, from the session cookie; on a POST also the form's CSRF token."""
    token = web.cookie(request, COOKIE)
    operator = from_session(token) if token else None
    if operator is None or token is None:
        next_path = web.request_path(request) if request.method in ("GET", "HEAD") else HOME
        raise ConsoleSignInRequired(next_path)
    web.check_csrf(request, token)
    return Caller(operator, token)


operator_signed_in.security_scheme = {  # type: ignore[attr-defined]
    "type": "apiKey",
    "in": "cookie",
    "name": COOKIE,
    "description": "an operator's console session, set by POST /console/login; every form also "
    "carries csrf_token",
}
