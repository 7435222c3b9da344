"""Domain errors: raised low, mapped to HTTP once (functions.core.http)."""

from __future__ import annotations

from chalice import ChaliceUnhandledError


class AppError(ChaliceUnhandledError):
    """An error with an HTTP status and a snake_case code.

    It subclasses ChaliceUnhandledError only so that Chalice re-raises it to our
    middleware instead of turning it into a generic 500.
    """

    status = 400
    code = "bad_request"

    def __init__(self, message: str, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class BadRequest(AppError):
    status, code = 400, "bad_request"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class Unprocessable(AppError):
    status, code = 422, "unprocessable"


class TooLarge(AppError):
    status, code = 413, "payload_too_large"
