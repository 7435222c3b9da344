"""GET /openapi.json: an OpenAPI 3.1 document built from the route declarations, covering every
route Chalice serves, with the identifier grammar of core.fields wherever an identifier is declared."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest

from functions.core import fields, openapi
from functions.core.http import RouteSpec

ROOT = Path(__file__).resolve().parents[2]
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Fields named like these are identifiers (CONTRACT §1): wherever one is declared, it is declared
# with core.fields' grammar.
GRAMMAR = {
    **dict.fromkeys(
        ("order_id", "sku", "store_id", "staff_id", "area", "campaign_id", "serial"), fields.IDENTIFIER
    ),
    "openid": fields.OPENID,
    "slot_id": msgspec.json.schema(fields.SlotId)["pattern"],
    "ref_code": fields.REF_CODE,
    "cursor": fields.CURSOR,
    "media_id": msgspec.json.schema(fields.MediaId)["pattern"],
    "broadcast_id": msgspec.json.schema(fields.BroadcastId)["pattern"],
}


@pytest.fixture(scope="module")
def app() -> Any:
    from app import app

    return app


@pytest.fixture(scope="module")
def document(app: Any) -> dict[str, Any]:
    from chalice.test import Client

    with Client(app) as client:
        response = client.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


def walk(node: Any) -> Any:
    """Every dict inside `node`, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return document["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def operations(document: dict[str, Any]) -> Any:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


# -- the routes -----------------------------------------------------------------------------


def test_every_route_chalice_serves_is_in_the_document(app, document):
    served = {(path, method.lower()) for path, entries in app.routes.items() for method in entries}
    described = {(path, method) for path, method, _ in operations(document)}
    assert served - described == set()
    assert described - served == set()
    assert ("/openapi.json", "get") in described


def test_routes_say_who_may_call_them(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["admin"] == {**schemes["admin"], "type": "apiKey", "in": "header", "name": "X-Api-Key"}
    assert schemes["customer"] == {**schemes["customer"], "type": "http", "scheme": "bearer"}
    paths = document["paths"]
    assert paths["/admin/customers/{openid}/notifications"]["get"]["security"] == [{"admin": []}]
    assert paths["/shipments"]["get"]["security"] == [{"customer": []}]
    assert paths["/me"]["get"]["security"] == [{"customer": []}]
    # Signed callers: each check is a scheme of its own, described by its docstring.
    assert paths["/logistics/events"]["post"]["security"] == [{"logistics_signature": []}]
    assert paths["/pos/redemptions"]["post"]["security"] == [{"pos_store": []}]
    assert "HMAC-SHA256" in schemes["logistics_signature"]["description"]


def test_queries_bodies_and_path_parameters_come_from_the_declarations(document):
    paths = document["paths"]
    [code] = paths["/auth/wechat"]["get"]["parameters"]
    assert (code["name"], code["in"], code["required"]) == ("code", "query", True)
    by_name = {p["name"]: p for p in paths["/admin/customers/{openid}/notifications"]["get"]["parameters"]}
    assert by_name["limit"]["in"] == "query" and not by_name["limit"]["required"]
    assert by_name["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}
    assert by_name["openid"]["in"] == "path" and by_name["openid"]["schema"]["pattern"] == fields.OPENID
    body = paths["/logistics/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    event = resolve(document, body)
    assert set(event["required"]) == {"event_id", "carrier", "tracking_no", "status", "occurred_at"}
    assert event["properties"]["status"]["enum"][0] == "picked_up"
    # A form body (Kuaidi100) or XML (the WeChat callback), as the route documents it
    form = paths["/logistics/kuaidi100"]["post"]["requestBody"]["content"]
    assert form["application/x-www-form-urlencoded"]["schema"]["required"] == ["param", "sign"]
    xml = paths["/wechat/callback"]["post"]
    assert set(xml["requestBody"]["content"]) == {"text/xml"}
    assert set(xml["responses"]["200"]["content"]) == {"text/plain", "application/xml"}
    # A signed caller's other headers
    pos = {p["name"]: p for p in paths["/pos/redemptions"]["post"]["parameters"] if p["in"] == "header"}
    assert set(pos) == {"X-Store-Id", "X-Timestamp"} and all(p["required"] for p in pos.values())


# -- a valid OpenAPI 3.1 document -----------------------------------------------------------


def test_the_document_has_the_structure_openapi_3_1_requires(document):
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"])
    assert isinstance(document["info"]["title"], str) and isinstance(document["info"]["version"], str)
    components = document["components"]["schemas"]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", name) for name in components)
    operation_ids = []
    for path, method, operation in operations(document):
        assert path.startswith("/")
        assert operation["responses"] and all(
            re.fullmatch(r"[1-5](\d\d|XX)|default", status) for status in operation["responses"]
        )
        assert all("description" in response for response in operation["responses"].values())
        operation_ids.append(operation["operationId"])
        # every templated path segment is one required path parameter, and nothing else is
        params = operation.get("parameters", [])
        assert sorted(p["name"] for p in params if p["in"] == "path") == sorted(
            re.findall(r"{([^}]+)}", path)
        )
        assert all(p["required"] is True for p in params if p["in"] == "path")
        assert all(p["in"] in ("path", "query", "header", "cookie") and "schema" in p for p in params)
        assert len({(p["name"], p["in"]) for p in params}) == len(params)
        for requirement in operation.get("security", []):
            assert set(requirement) <= set(document["components"]["securitySchemes"])
    assert len(operation_ids) == len(set(operation_ids))
    # every reference resolves
    for node in walk(document):
        if "$ref" in node:
            assert node["$ref"].startswith("#/components/schemas/")
            assert node["$ref"].rsplit("/", 1)[-1] in components


def test_every_schema_is_valid_json_schema_2020_12(document):
    jsonschema = pytest.importorskip("jsonschema")
    for schema in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_the_document_passes_an_openapi_validator_when_one_is_installed(document):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document, cls=validator.OpenAPIV31SpecValidator)


# -- the identifier grammar -----------------------------------------------------------------


def test_identifiers_are_declared_with_the_grammar_of_core_fields(document):
    declared = []  # (where, name, schema) of every declared property and parameter
    for name, component in document["components"]["schemas"].items():
        for field, schema in component.get("properties", {}).items():
            declared.append((name, field, schema))
    for path, method, operation in operations(document):
        for parameter in operation.get("parameters", []):
            if parameter["schema"] != {"type": "string"}:  # an undeclared path parameter is a string
                declared.append((f"{method} {path}", parameter["name"], parameter["schema"]))
    found = set()
    for where, field, schema in declared:
        if field in GRAMMAR:
            # Optional fields are anyOf [the type, null]; lists of identifiers have `items`.
            patterns = {node["pattern"] for node in walk(resolve(document, schema)) if "pattern" in node}
            assert patterns == {GRAMMAR[field]}, f"{where}.{field}"
            found.add(GRAMMAR[field])
    # and no route spells an identifier grammar of its own
    allowed = set(GRAMMAR.values())
    for node in walk(document):
        pattern = node.get("pattern")
        if isinstance(pattern, str) and "A-Za-z0-9" in pattern:
            assert pattern in allowed, pattern
    assert fields.OPENID in found


# -- the builder ----------------------------------------------------------------------------


class Line(msgspec.Struct):
    sku: fields.Sku
    qty: Annotated[int, msgspec.Meta(ge=1)]


class Order(msgspec.Struct):
    """An order."""

    order_id: fields.OrderId
    items: list[Line]


class Page(msgspec.Struct):
    limit: int = 20
    after: str | None = None


def test_build_describes_declared_routes_and_keeps_each_struct_once():
    built = openapi.build(
        [
            RouteSpec("/orders", ("POST",), "Record an order.", "admin", body=Order),
            RouteSpec(
                "/orders/{order_id}",
                ("PUT",),
                "Replace it.",
                "admin",
                body=Order,
                path_types={"order_id": fields.OrderId},
            ),
            RouteSpec("/stores/{store_id}/orders", ("GET",), "List.", "customer", query=Page),
            RouteSpec("/form", ("POST",), "A form.", None),
        ]
    )

    def operation(path: str, method: str) -> dict[str, Any]:
        return built["paths"][path][method]

    schemas = built["components"]["schemas"]
    assert {"Order", "Line", "ApiError"} <= set(schemas) and "Page" not in schemas  # Page became parameters
    assert schemas["Line"]["properties"]["sku"]["pattern"] == fields.IDENTIFIER
    ref = {"$ref": "#/components/schemas/Order"}
    assert operation("/orders", "post")["requestBody"]["content"]["application/json"]["schema"] == ref
    assert (
        operation("/orders/{order_id}", "put")["requestBody"]["content"]["application/json"]["schema"] == ref
    )
    [path_param] = operation("/orders/{order_id}", "put")["parameters"]
    assert path_param["schema"]["pattern"] == fields.IDENTIFIER
    listing = operation("/stores/{store_id}/orders", "get")
    assert [(p["name"], p["in"], p["required"]) for p in listing["parameters"]] == [
        ("store_id", "path", True),
        ("limit", "query", False),
        ("after", "query", False),
    ]
    assert listing["security"] == [{"customer": []}] and listing["summary"] == "List."
    assert "requestBody" not in operation("/form", "post") and "security" not in operation("/form", "post")


def test_the_document_is_built_on_first_request_not_at_import():
    code = (
        "import app\n"
        "from functions.core import openapi\n"
        "assert openapi.document.cache_info().currsize == 0, 'built at import'\n"
        "print('ok')\n"
    )
    env = {"PATH": os.environ.get("PATH", "")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.e2e
def test_the_running_stack_serves_the_document(stack):
    import requests

    response = requests.get(f"{stack.url}/openapi.json", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    assert response.json()["openapi"].startswith("3.1")
    assert "/logistics/events" in response.json()["paths"]
