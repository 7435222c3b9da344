"""Schemathesis against the app, from its own document (`GET /openapi.json`): every route, with
its caller's credentials, over real HTTP to the same local server `make run` serves (in this test
process, against the embedded AWS and the WeChat sandbox).

Each generated request is signed as its caller would sign it (admin key, customer token, POS
signature over the raw body, logistics HMAC, Kuaidi100 sign, WeChat callback signature, an
operator's console session and its form's csrf_token), so the
examples reach past the authentication into the request readers and the domain. Checks: no
5xx, every error in our {"error", "message"} shape, and each response as the document declares.
Derandomized with bounded examples: the same requests every run, in well under two minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.core.parameters import ParameterLocation

from functions.console.session import COOKIE as CONSOLE_COOKIE
from functions.core import openapi
from functions.core.config import load_settings
from functions.core.session import issue_token
from functions.operators import domain as operators
from functions.web import session as web_session
from functions.web.session import SESSION_COOKIE
from infra.local.wechat_sim import sha1_sign

pytestmark = pytest.mark.slow

schema = schemathesis.openapi.from_dict(openapi.document())
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
    checks.missing_required_header,
]
# Not `unsupported_method`: a method a path does not declare is an unknown route, 404 not_found,
# as API Gateway answers it (CONTRACT §1), not a 405.
CUSTOMER = "schemathesis-customer"
OPERATOR = "schemathesis-operator"


@pytest.fixture(scope="module")
def pos_store(http_api: str) -> tuple[str, str]:
    """A store and its POS secret, to sign /pos/redemptions."""
    store_id = "schemathesis-store"
    answer = requests.put(
        f"{http_api}/admin/stores/{store_id}",
        headers={"X-Api-Key": load_settings().admin_api_key},
        json={"name": "Fuzz", "welcome": "hi"},
        timeout=10,
    ).json()
    if "pos_secret" not in answer:  # created by an earlier run of this process's moto: rotate
        pytest.fail(f"store {store_id} exists without its secret: {answer}")
    return store_id, answer["pos_secret"]


@pytest.fixture(scope="module")
def console_session(http_api: str) -> str:
    """An admin operator's console session token (the console_session cookie), to reach past
    the console's sign-in into its pages' readers."""
    operator, _ = operators.put_operator(OPERATOR, "schemathesis-password", "admin", None)
    return operators.session_token(operator, 3600)


def sign_console_form(case, console: str) -> None:
    """A console form carries the csrf_token of the session it is posted with; not when the
    body is the schema-violating part (which then gets 403 stale_form, or its own 4xx)."""
    if not case.operation.path.startswith("/console") or not isinstance(case.body, dict):
        return
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY):
        return
    if "csrf_token" in _form_fields(case):
        case.body["csrf_token"] = web_session.csrf_token_for(console)


def _form_fields(case) -> set[str]:
    body = case.operation.definition.raw.get("requestBody", {})
    schema_ = body.get("content", {}).get("application/x-www-form-urlencoded", {}).get("schema", {})
    if "$ref" in schema_:
        schema_ = openapi.document()["components"]["schemas"][schema_["$ref"].rsplit("/", 1)[-1]]
    return set(schema_.get("properties", {}))


def sign(case, prepared: requests.PreparedRequest, pos: tuple[str, str], console: str) -> None:
    """Put the credentials of the operation's caller on the request, computed over its bytes;
    not when the case's headers are the schema-violating part (missing or wrong credentials)."""
    if case.meta is not None and (
        case.meta.is_negative_at(ParameterLocation.HEADER)
        or case.meta.is_negative_at(ParameterLocation.COOKIE)
    ):
        return
    settings_ = load_settings()
    security = {
        name for requirement in case.operation.definition.raw.get("security", []) for name in requirement
    }
    body = prepared.body or b""
    body = body.encode() if isinstance(body, str) else body
    now = str(int(time.time()))
    if "admin" in security:
        prepared.headers["X-Api-Key"] = settings_.admin_api_key
    if "customer" in security:
        prepared.headers["Authorization"] = f"Bearer {issue_token(CUSTOMER)}"
    if "signed_in" in security:  # the customer pages' session cookie
        prepared.headers["Cookie"] = f"{SESSION_COOKIE}={issue_token(CUSTOMER)}"
    if "operator_signed_in" in security:  # the console's session cookie
        prepared.headers["Cookie"] = f"{CONSOLE_COOKIE}={console}"
    if "pos_store" in security:
        store_id, secret = pos
        prepared.headers["X-Store-Id"], prepared.headers["X-Timestamp"] = store_id, now
        digest = hmac.new(secret.encode(), now.encode() + b"\n" + body, hashlib.sha256).hexdigest()
        prepared.headers["X-Signature"] = digest
    if "logistics_signature" in security:
        digest = hmac.new(settings_.logistics_hmac_secret.encode(), body, hashlib.sha256).hexdigest()
        prepared.headers["X-Signature"] = f"sha256={digest}"


def checks_for(case) -> list:
    """A page answers a request without a session (or with a bad one) by sending the customer to
    WeChat's sign-in, and shows a bad link as a page that says so (CONTRACT §9): a redirect or a
    page, never a 4xx JSON, so schemathesis's negative-data rejection does not apply to pages.
    The console's pages likewise answer a missing or bad operator session with a 303 to their
    sign-in (its security scheme is a cookie, which schemathesis leaves out as negative data)."""
    if case.operation.path.startswith(("/h5/", "/console")):
        return [check for check in CHECKS if check is not checks.negative_data_rejection]
    return CHECKS


def sign_kuaidi100_form(case) -> None:
    """`sign` = MD5(param + salt) over the generated `param`."""
    if case.operation.path == "/logistics/kuaidi100" and isinstance(case.body, dict):
        param = case.body.get("param")
        if isinstance(param, str):
            salted = (param + load_settings().kuaidi100_salt).encode("utf-8", "surrogatepass")
            case.body["sign"] = hashlib.md5(salted).hexdigest()


def sign_wechat_query(case) -> None:
    """signature = sha1(sorted(token, timestamp, nonce)) over a fresh timestamp."""
    if case.operation.path == "/wechat/callback" and isinstance(case.query, dict):
        now, nonce = str(int(time.time())), "schemathesis"
        case.query.update(
            timestamp=now, nonce=nonce, signature=sha1_sign(load_settings().wechat_token, now, nonce)
        )


@schema.parametrize()
@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_gets_a_5xx_and_every_answer_is_as_documented(case, http_api, pos_store, console_session):
    sign_kuaidi100_form(case)
    sign_console_form(case, console_session)
    sign_wechat_query(case)
    kwargs = case.as_transport_kwargs(base_url=http_api)
    request = requests.Request(
        method=kwargs["method"],
        url=kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        json=kwargs.get("json"),
        data=kwargs.get("data"),
        files=kwargs.get("files"),
        cookies=kwargs.get("cookies"),
    )
    prepared = request.prepare()
    sign(case, prepared, pos_store, console_session)
    with requests.Session() as session:
        response = session.send(prepared, timeout=30, allow_redirects=False)
    case.validate_response(response, checks=checks_for(case))
    # An error in JSON is in our shape (Kuaidi100's answers are in its own, as documented); the
    # content type of every answer is checked against the document above.
    is_json = response.headers.get("Content-Type", "").startswith("application/json")
    if response.status_code >= 400 and is_json and case.operation.path != "/logistics/kuaidi100":
        body = response.json()
        assert set(body) == {"error", "message"}, body
        assert all(isinstance(body[k], str) for k in body), body
