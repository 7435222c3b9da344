"""Domain errors: raised low, mapped to HTTP in one place (functions.core.http.STATUS).

They know nothing of HTTP or Chalice, so a queue consumer or a scheduled job can raise and
catch them like any other exception.
"""

from __future__ import annotations


class AppError(Exception):
    """An error with a snake_case code that callers can act on."""

    code = "error"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(AppError):
    """The input's shape is wrong: a type, a length, a grammar or a range."""

    code = "invalid_request"


class Unauthenticated(AppError):
    code = "unauthorized"


class Forbidden(AppError):
    code = "forbidden"


class Locked(AppError):
    """The account is locked for a while (too many failed sign-ins)."""

    code = "locked"


class NotFound(AppError):
    code = "not_found"


class Conflict(AppError):
    code = "conflict"


class RuleBroken(AppError):
    """Well-formed input that a rule spanning fields, or stored state, refuses."""

    code = "unprocessable"


class TooLarge(AppError):
    code = "payload_too_large"


class WeChatRefused(AppError):
    """WeChat refused a call whose answer the request needs (CONTRACT §8)."""

    code = "wechat_error"


class Unavailable(AppError):
    """A service this request depends on is down; the caller may retry later."""

    code = "unavailable"
