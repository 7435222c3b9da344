"""The HTTP edge, once: how a route declares and reads its request, and how errors become responses.

A capability declares a route with this module's `Blueprint`:

    @blueprint.route("/admin/orders", methods=["POST"], auth="admin", body=OrderRequest)
    def record_order(body: OrderRequest) -> Response: ...

The wrapper checks the caller (`auth`), validates path parameters (`path`), the query (`query`)
and the JSON body (`body`) against their msgspec declarations, and maps every domain error to its
status here (STATUS). The same declarations produce the OpenAPI document (functions.core.openapi).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl

import chalice
import msgspec
from chalice import Response
from chalice.app import Request

from functions.core import signing
from functions.core.config import get_settings
from functions.core.errors import (
    AppError,
    Conflict,
    Forbidden,
    InvalidInput,
    Locked,
    NotFound,
    RuleBroken,
    TooLarge,
    Unauthenticated,
    Unavailable,
    WeChatRefused,
)
from functions.core.session import verify_token

T = TypeVar("T")
# "admin": X-Api-Key; "customer": a session token, the view gets `openid=`; a callable checks a
# signed caller (a POS, a logistics system) before the body is read, the view gets `caller=`.
Auth = Literal["admin", "customer"] | Callable[[Request], Any] | None

MAX_JSON_BYTES = 64 * 1024
FORM = "application/x-www-form-urlencoded"
JSON_ONLY = ("application/json",)  # the content types of a route that declares none (Chalice's)
MAX_FORM_FIELDS = 50
# What a request for a route we do not have gets, locally and from API Gateway (infra/template.py).
NO_SUCH_ROUTE = {"error": "not_found", "message": "no such route"}

# The one mapping from domain errors to HTTP statuses (CONTRACT §1: shape 400, rules 422).
STATUS: dict[type[AppError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    Locked: 423,
    RuleBroken: 422,
    WeChatRefused: 502,
    Unavailable: 503,
}


def status_of(error: AppError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_response(error: AppError) -> Response:
    return Response(
        body={"error": error.code, "message": error.message},
        status_code=status_of(error),
        headers={"Content-Type": "application/json"},
    )


def error_middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice's own refusals (415 content type, 500, ...) say {"Code", "Message"}: reshape
    them into our {"error", "message"} so that every error looks the same to callers."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code = re.sub(r"(?<!^)(?=[A-Z])", "_", str(body["Code"])).lower()
        response.body = {"error": code, "message": str(body["Message"])}
    return response


# -- reading a request --------------------------------------------------------------------

_MISSING = re.compile(r"missing required field `([^`]+)`")
_AT = re.compile(r"- at `\$([^`]*)`")


def _field_of(error: msgspec.ValidationError) -> str | None:
    """The field a msgspec error is about: the missing field, or the last named key of its path."""
    text = str(error)
    missing = _MISSING.search(text)
    if missing:
        return missing.group(1)
    at = _AT.search(text)
    names = re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)", at.group(1)) if at else []
    return names[-1] if names else None


def invalid(error: msgspec.ValidationError, name: str | None = None) -> InvalidInput:
    """A shape error as `invalid_<field>` (CONTRACT §1)."""
    field_name = name or _field_of(error)
    code = f"invalid_{field_name}" if field_name else "invalid_json"
    return InvalidInput(str(error), code=code)


def raw_body(request: Request, limit: int = MAX_JSON_BYTES) -> bytes:
    body = request.raw_body or b""
    if len(body) > limit:
        raise TooLarge(f"body exceeds {limit} bytes")
    return body


def decode_json(raw: bytes, kind: type[T]) -> T:
    """`raw` JSON decoded into `kind`, or InvalidInput naming the field at fault."""
    try:
        return msgspec.json.decode(raw or b"null", type=kind)
    except msgspec.ValidationError as error:
        raise invalid(error) from None
    except msgspec.DecodeError:
        raise InvalidInput("body is not valid JSON", code="invalid_json") from None
    except RecursionError:  # msgspec's own limit on nesting, deeper than any request of ours
        raise InvalidInput("body is nested too deep", code="invalid_json") from None


def read_body(request: Request, kind: type[T]) -> T:
    return decode_json(raw_body(request), kind)


def read_query(request: Request, kind: type[T]) -> T:
    try:
        return msgspec.convert(dict(request.query_params or {}), type=kind, strict=False)
    except msgspec.ValidationError as error:
        raise invalid(error) from None


def read_form(request: Request, kind: type[T]) -> T:
    """An HTML form's urlencoded body as `kind`: every value is text, converted as a query is."""
    try:
        text = raw_body(request).decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the form is not UTF-8 urlencoded fields", code="invalid_form") from None
    try:
        return msgspec.convert(dict(pairs), type=kind, strict=False)
    except msgspec.ValidationError as error:
        raise invalid(error) from None


def check(value: Any, kind: Any, name: str) -> Any:
    """`value` converted to `kind`, or `invalid_<name>`: for path parameters and loose values."""
    try:
        return msgspec.convert(value, type=kind, strict=False)
    except msgspec.ValidationError as error:
        raise invalid(error, name) from None


def refuse_lone_surrogates(request: Request, path_params: dict[str, Any]) -> None:
    """400 for a header, query or path value that is not Unicode text (a lone surrogate such as
    "\\ud800" cannot be encoded, stored, signed or logged)."""
    for where, values in (
        ("header", (request.headers or {}).items()),
        ("query", (request.query_params or {}).items()),
        ("path", path_params.items()),
    ):
        for name, value in values:
            try:
                f"{name}{value}".encode()
            except UnicodeEncodeError:
                raise InvalidInput(
                    f"the {where} value {name!r} is not valid text", code="invalid_encoding"
                ) from None


def header(request: Request, name: str) -> str | None:
    return request.headers.get(name.lower()) if request.headers else None


def require_admin(request: Request) -> None:
    if not signing.matches(get_settings().admin_api_key, header(request, "X-Api-Key") or ""):
        raise Unauthenticated("missing or wrong X-Api-Key", code="unauthorized")


def customer_openid(request: Request) -> str:
    """The signed-in customer's openid from `Authorization: Bearer <token>`."""
    auth = header(request, "Authorization") or ""
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("sign in first: Authorization: Bearer <token>", code="unauthorized")
    return verify_token(token.strip())


# -- declaring a route ----------------------------------------------------------------------


@dataclass(frozen=True)
class RouteSpec:
    """What a route accepts, as declared, and what serves it: the source of the OpenAPI document
    and of the route table (functions/routes.py)."""

    path: str
    methods: tuple[str, ...]
    summary: str
    auth: Auth = None
    body: Any = None
    query: Any = None
    path_types: dict[str, Any] = field(default_factory=dict)
    form: Any = None  # an HTML form's fields (application/x-www-form-urlencoded)
    html: bool = False  # answers are pages (its errors too), not JSON
    # What the declarations cannot say, as OpenAPI operation fields: a body the view reads itself
    # (a form, XML), answers in another shape than ours, headers a signed caller sends.
    document: dict[str, Any] = field(default_factory=dict)
    # What serves it: the function Chalice calls (the view behind the checks above) and the
    # Blueprint it reads its request from (functions.core.lazy).
    view: Callable[..., Any] | None = None
    blueprint: Blueprint | None = None
    content_types: tuple[str, ...] = JSON_ONLY


# Every route declared so far (a module's routes are declared when it is imported).
ROUTES: list[RouteSpec] = []


class Blueprint(chalice.Blueprint):
    """A Chalice Blueprint whose routes declare their caller, parameters and body."""

    def serve(self, app: chalice.Chalice) -> None:
        """Read requests from `app`, which declared this Blueprint's routes by name without
        registering it (functions.core.lazy)."""
        self._current_app = app

    def route(  # type: ignore[override]
        self,
        path: str,
        *,
        auth: Auth = None,
        body: Any = None,
        query: Any = None,
        path_types: dict[str, Any] | None = None,
        form: Any = None,
        errors: Callable[[AppError], Response] | None = None,
        document: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """`form`: the fields of an HTML form body, as `body` for JSON (the view gets `form=`).
        `errors`: how this route answers a domain error (a page renders a page); JSON otherwise."""
        if form is not None:
            kwargs.setdefault("content_types", [FORM])
        register = super().route(path, **kwargs)
        path_types = path_types or {}
        respond = errors or error_response

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def handle(**params: Any) -> Any:
                request = self.current_request
                try:
                    refuse_lone_surrogates(request, params)
                    if auth == "admin":
                        require_admin(request)
                    elif auth == "customer":
                        params["openid"] = customer_openid(request)
                    elif callable(auth):
                        params["caller"] = auth(request)
                    for name, kind in path_types.items():
                        params[name] = check(params[name], kind, name)
                    if query is not None:
                        params["query"] = read_query(request, query)
                    if body is not None:
                        params["body"] = read_body(request, body)
                    if form is not None:
                        params["form"] = read_form(request, form)
                    return view(**params)
                except AppError as error:
                    return respond(error)

            ROUTES.append(
                RouteSpec(
                    path=path,
                    methods=tuple(kwargs.get("methods", ["GET"])),
                    summary=(view.__doc__ or view.__name__).strip().splitlines()[0],
                    auth=auth,
                    body=body,
                    query=query,
                    path_types=path_types,
                    form=form,
                    html=errors is not None,
                    document=document or {},
                    view=handle,
                    blueprint=self,
                    content_types=tuple(kwargs.get("content_types", JSON_ONLY)),
                )
            )
            register(handle)
            return view

        return decorator
