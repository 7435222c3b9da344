"""HTTP edge helpers shared by every route: error mapping, body parsing, auth."""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from chalice import Response
from chalice.app import Request

from functions.core.config import get_settings
from functions.core.errors import AppError, BadRequest, TooLarge, Unauthorized
from functions.core.session import verify_token

log = logging.getLogger(__name__)

MAX_JSON_BYTES = 64 * 1024


def error_response(error: AppError) -> Response:
    return Response(
        body={"error": error.code, "message": error.message},
        status_code=error.status,
        headers={"Content-Type": "application/json"},
    )


def error_middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """The one place where domain errors become HTTP responses."""
    try:
        response = get_response(event)
    except AppError as error:
        return error_response(error)
    return _chalice_error_as_ours(response)


def _chalice_error_as_ours(response: Response) -> Response:
    """Chalice's own refusals (415 content type, 500, ...) say {"Code", "Message"}: reshape
    them into our {"error", "message"} so that every error looks the same to callers."""
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code = re.sub(r"(?<!^)(?=[A-Z])", "_", str(body["Code"])).lower()
        response.body = {"error": code, "message": str(body["Message"])}
    return response


def raw_body(request: Request, limit: int = MAX_JSON_BYTES) -> bytes:
    body = request.raw_body or b""
    if len(body) > limit:
        raise TooLarge(f"body exceeds {limit} bytes")
    return body


def json_body(request: Request, limit: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """The request's JSON object body, or BadRequest."""
    body = raw_body(request, limit)
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("body is not valid JSON", code="invalid_json") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object", code="invalid_json")
    return data


def header(request: Request, name: str) -> str | None:
    return request.headers.get(name.lower()) if request.headers else None


def require_admin(request: Request) -> None:
    supplied = header(request, "X-Api-Key") or ""
    if not hmac.compare_digest(supplied.encode(), get_settings().admin_api_key.encode()):
        raise Unauthorized("missing or wrong X-Api-Key", code="unauthorized")


def customer_openid(request: Request) -> str:
    """The signed-in customer's openid from `Authorization: Bearer <token>`."""
    auth = header(request, "Authorization") or ""
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("sign in first: Authorization: Bearer <token>", code="unauthorized")
    return verify_token(token.strip())


def query_params(request: Request) -> dict[str, str]:
    return dict(request.query_params or {})
