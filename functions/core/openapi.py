"""The API's OpenAPI 3.1 document (CONTRACT §1, `GET /openapi.json`), built from the route
declarations in `functions.core.http.ROUTES`: the declarations are the one copy of the schema.

For every declared route: its path and methods, a summary (the view's first docstring line), its
security (admin `X-Api-Key`, customer bearer token, or a signed caller's check), path parameters (typed by `path_types`,
a plain string otherwise), query parameters (the fields of its `query` Struct) and its JSON body
(its `body` Struct) or form (its `form` Struct, for the customer pages, whose answers are HTML).
Each Struct is one schema in `components/schemas`
(msgspec.json.schema_components); the identifier grammar of core.fields appears inline wherever a
field is declared with it. What a declaration cannot say (a body the view reads itself, such as
a form or XML; answers in another shape; a signed caller's other headers) a route adds as
OpenAPI operation fields (`document`).

Built once per container, on the first request for it (`document`), never at import: it
imports every route's module, which `import app` does not (functions.core.lazy).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from typing import Any

import msgspec

from functions.core import lazy
from functions.core.http import FORM, ROUTES, RouteSpec
from functions.routes import ROUTES as TABLE

TITLE = "wechat-retail"
VERSION = "1"
REF = "#/components/schemas/{name}"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SECURITY_SCHEMES = {
    "admin": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "ops' key (ADMIN_API_KEY)",
    },
    "customer": {
        "type": "http",
        "scheme": "bearer",
        "description": "the session token of GET /auth/wechat",
    },
}
_PATH_PARAMETER = re.compile(r"{([^}/]+)}")


class ApiError(msgspec.Struct, frozen=True):
    """Every error answer (CONTRACT §1)."""

    error: str  # snake_case code, e.g. invalid_order_id, slot_full
    message: str


def build(routes: Iterable[RouteSpec]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `routes`."""
    routes = list(routes)
    types: list[Any] = [ApiError]
    for spec in routes:
        types += [t for t in (spec.body, spec.query, spec.form) if t is not None]
        types += list(spec.path_types.values())
    # One call for every type, so that each Struct is one component however often it is used.
    schemas, components = msgspec.json.schema_components(types, ref_template=REF)
    schema_of = {id(kind): schema for kind, schema in zip(types, schemas, strict=True)}

    paths: dict[str, dict[str, Any]] = {}
    query_components = set()
    for spec in routes:
        item = paths.setdefault(spec.path, {})
        for method in spec.methods:
            item[method.lower()] = _operation(spec, method.upper(), schema_of, components)
        if spec.query is not None:
            query_components.add(_component_name(schema_of[id(spec.query)]))

    # A query Struct becomes parameters: drop its component unless something else refers to it.
    for name in query_components:
        others = json.dumps([paths, {k: v for k, v in components.items() if k != name}])
        if name and f'"{REF.format(name=name)}"' not in others:
            components.pop(name, None)

    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION},
        "paths": {path: paths[path] for path in sorted(paths)},
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": _security_schemes(routes),
        },
    }


@functools.cache
def document() -> dict[str, Any]:
    """The document of every route in the route table; their modules are imported to read their
    declarations."""
    lazy.import_all(TABLE)
    return build(ROUTES)


@functools.cache
def document_json() -> str:
    return json.dumps(document(), ensure_ascii=False)


# -- pieces -----------------------------------------------------------------------------


def _component_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref", "")
    prefix = REF.format(name="")
    return ref[len(prefix) :] if ref.startswith(prefix) else None


def _operation(
    spec: RouteSpec, method: str, schema_of: dict[int, Any], components: dict[str, Any]
) -> dict[str, Any]:
    error = {"application/json": {"schema": schema_of[id(ApiError)]}}
    responses: dict[str, Any] = {"2XX": {"description": "done"}}
    if spec.html:  # a page: its answers are HTML, a sign-in redirect or a page that says what went wrong
        page = {"text/html": {"schema": {"type": "string"}}}
        # Chalice's own refusals (415 for a body that is not a form) come as JSON in our shape.
        error = {**page, **error}
        responses = {
            "2XX": {"description": "the page", "content": page},
            "3XX": {"description": "the next page, or WeChat's sign-in"},
        }
    operation: dict[str, Any] = {
        "summary": spec.summary,
        "operationId": re.sub(r"[^A-Za-z0-9]+", "_", f"{method.lower()}{spec.path}").strip("_"),
        "parameters": _path_parameters(spec, schema_of) + _query_parameters(spec, schema_of, components),
        "responses": {
            **responses,
            "default": {
                "description": "an error: 4xx for the caller's, 5xx for ours or WeChat's",
                "content": error,
            },
        },
    }
    if not operation["parameters"]:
        del operation["parameters"]
    if spec.auth is not None:
        operation["security"] = [{_scheme_name(spec.auth): []}]
    body = _body(spec, schema_of)
    if body is not None:
        operation["requestBody"] = body
    for key, value in spec.document.items():  # what the declarations cannot say
        if key in ("responses", "parameters"):
            operation[key] = (
                {**operation[key], **value} if key == "responses" else [*operation.get(key, []), *value]
            )
        else:
            operation[key] = value
    return operation


def _path_parameters(spec: RouteSpec, schema_of: dict[int, Any]) -> list[dict[str, Any]]:
    parameters = []
    for name in _PATH_PARAMETER.findall(spec.path):
        kind = spec.path_types.get(name)
        schema = schema_of[id(kind)] if kind is not None else {"type": "string"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _query_parameters(
    spec: RouteSpec, schema_of: dict[int, Any], components: dict[str, Any]
) -> list[dict[str, Any]]:
    if spec.query is None:
        return []
    declared = components[_component_name(schema_of[id(spec.query)]) or ""]
    required = set(declared.get("required", []))
    parameters = []
    for name, schema in declared.get("properties", {}).items():
        parameter = {"name": name, "in": "query", "required": name in required, "schema": schema}
        if "description" in schema:
            parameter["description"] = schema["description"]
        parameters.append(parameter)
    return parameters


def _body(spec: RouteSpec, schema_of: dict[int, Any]) -> dict[str, Any] | None:
    if spec.form is not None:
        return {"required": True, "content": {FORM: {"schema": schema_of[id(spec.form)]}}}
    if spec.body is None:
        return None
    return {"required": True, "content": {"application/json": {"schema": schema_of[id(spec.body)]}}}


def _scheme_name(auth: Any) -> str:
    return auth if isinstance(auth, str) else auth.__name__


def _security_schemes(routes: list[RouteSpec]) -> dict[str, Any]:
    """The fixed schemes, and one per signed caller's check (its docstring says how to sign),
    or the scheme the check declares itself (`security_scheme`, e.g. a session cookie)."""
    schemes = dict(SECURITY_SCHEMES)
    for spec in routes:
        declared = getattr(spec.auth, "security_scheme", None)
        if declared is not None:
            schemes[spec.auth.__name__] = declared
        elif callable(spec.auth):
            doc = " ".join((spec.auth.__doc__ or "").split())
            schemes[spec.auth.__name__] = {
                "type": "apiKey",
                "in": "header",
                "name": "X-Signature",
                "description": doc,
            }
    return schemes
