"""Property: whatever a caller puts in a header, a query value or a signed form, the parsers of
credentials answer with our domain errors and nothing else (CONTRACT §1: no input gets a 5xx),
and a correctly signed request still passes.

"Whatever" is any code point, lone surrogates included (a Lambda event's JSON can carry them),
the look-alike digits ("²", "١", "３") that `str.isdigit` accepts and `int` refuses, and bytes read
as Latin-1, which is how an HTTP header reaches Python.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import time
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.callback import handlers as callback
from functions.core import session
from functions.core.config import get_settings
from functions.core.errors import AppError, Forbidden, InvalidInput, Unauthenticated
from functions.core.http import customer_openid, refuse_lone_surrogates, require_admin
from functions.logistics import pushes

ODD = "²³¹١٢٣３４中ä \t=.:-_+/"
any_char = st.characters(codec=None) | st.integers(0xD800, 0xDFFF).map(chr) | st.sampled_from(ODD)
anything = (
    st.text(any_char, max_size=80)
    | st.binary(max_size=80).map(lambda raw: raw.decode("latin-1"))
    | st.text("0123456789" + ODD, max_size=20)
)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def request_with(headers: dict[str, str | None], query: dict[str, str] | None = None) -> SimpleNamespace:
    """What a view reads of a request: lower-cased headers (as Chalice gives them), the query."""
    kept = {name.lower(): value for name, value in headers.items() if value is not None}
    return SimpleNamespace(headers=kept, query_params=query or {})


# -- customer session tokens ---------------------------------------------------------------


@FAST
@given(anything, anything, anything, st.sampled_from([".", ""]))
def test_any_session_token_is_an_openid_or_401(a, b, c, joint):
    for token in (a, joint.join((a, b, c)), f"{a}.{b}.{c}"):
        try:
            openid = session.verify_token(token)
        except Unauthenticated:
            continue
        assert isinstance(openid, str)


@FAST
@given(anything)
def test_any_authorization_header_is_an_openid_or_401(value):
    for header in (value, f"Bearer {value}", f"bearer  {value} "):
        with contextlib.suppress(Unauthenticated):
            customer_openid(request_with({"Authorization": header}))


@FAST
@given(st.text(st.characters(codec="utf-8"), min_size=1, max_size=64))
def test_a_token_we_issued_gives_back_its_openid(openid):
    assert session.verify_token(session.issue_token(openid)) == openid


@FAST
@given(anything)
def test_any_admin_key_is_refused_but_the_right_one(value):
    if value == get_settings().admin_api_key:
        return
    with pytest.raises(Unauthenticated):
        require_admin(request_with({"X-Api-Key": value}))


@FAST
@given(st.dictionaries(anything, anything, max_size=4), st.dictionaries(anything, anything, max_size=4))
def test_lone_surrogates_in_headers_query_or_path_are_400_and_nothing_else_is(headers, query):
    request = request_with(headers, query)
    try:
        refuse_lone_surrogates(request, dict(query))
    except InvalidInput as error:
        assert error.code == "invalid_encoding"
        assert any(
            "\ud800" <= ch <= "\udfff" for text in [*headers.items(), *query.items()] for ch in "".join(text)
        )
    else:
        for name, value in [*headers.items(), *query.items()]:
            f"{name}{value}".encode()


# -- POS terminal headers -------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(aws: str) -> tuple[str, str]:
    from functions.stores.domain import put_store

    store_id = f"parser-{int(time.time() * 1000)}"
    created, _ = put_store(store_id, "Parsers", "hi")
    return store_id, created.pos_secret


def test_any_pos_headers_are_the_store_or_401(store):
    from functions.coupons.redemption import verify_pos_request

    store_id, secret = store

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.one_of(st.none(), anything, st.just(store_id)),
        st.one_of(st.none(), anything, st.just(str(int(time.time())))),
        st.one_of(st.none(), anything),
        st.binary(max_size=64),
    )
    def any_headers(store_header, timestamp, signature, body):
        with contextlib.suppress(Unauthenticated):
            assert verify_pos_request(store_header, timestamp, signature, body) == store_id

    any_headers()

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.binary(max_size=200), st.sampled_from(["", " ", "\n"]), st.booleans())
    def signed(body, padding, upper):
        now = str(int(time.time()))
        digest = hmac.new(secret.encode(), now.encode() + b"\n" + body, hashlib.sha256).hexdigest()
        digest = digest.upper() if upper else digest
        assert verify_pos_request(store_id, now, padding + digest + padding, body) == store_id

    signed()


# -- logistics X-Signature and Kuaidi100 sign --------------------------------------------------


@FAST
@given(st.binary(max_size=200), st.one_of(st.none(), anything, anything.map(lambda v: f"sha256={v}")))
def test_any_logistics_signature_passes_only_when_it_is_the_hmac(body, signature):
    expected = hmac.new(get_settings().logistics_hmac_secret.encode(), body, hashlib.sha256).hexdigest()
    try:
        pushes.verify_native(body, signature)
    except Unauthenticated:
        return
    assert signature is not None and signature.strip().lower() == f"sha256={expected}"


@FAST
@given(st.binary(max_size=200), st.sampled_from(["sha256=", "SHA256=", " sha256 = "]), st.booleans())
def test_a_logistics_hmac_passes_whatever_its_case(body, scheme, upper):
    expected = hmac.new(get_settings().logistics_hmac_secret.encode(), body, hashlib.sha256).hexdigest()
    pushes.verify_native(body, scheme + (expected.upper() if upper else expected))


@FAST
@given(
    st.binary(max_size=300)
    | anything.map(
        lambda v: f"param={quote(v, errors='surrogatepass')}&sign={v}".encode("utf-8", "surrogatepass")
    )
)
def test_any_kuaidi100_form_is_read_or_400_and_its_sign_checked_or_401(raw):
    try:
        param, sign = pushes.kuaidi100_form(raw)
    except InvalidInput:
        return
    try:
        pushes.verify_kuaidi100(param, sign)
    except Unauthenticated:
        return
    expected = hashlib.md5((param + get_settings().kuaidi100_salt).encode()).hexdigest()
    assert sign.strip().lower() == expected


@FAST
@given(st.text(st.characters(codec="utf-8"), max_size=200), st.booleans())
def test_a_kuaidi100_sign_passes_whatever_its_case(param, upper):
    sign = hashlib.md5((param + get_settings().kuaidi100_salt).encode()).hexdigest()
    raw = f"param={quote(param)}&sign={sign.upper() if upper else sign}".encode()
    pushes.verify_kuaidi100(*pushes.kuaidi100_form(raw))


# -- the WeChat callback's signature, timestamp and nonce ---------------------------------------


@FAST
@given(st.one_of(st.none(), anything), anything, anything)
def test_any_callback_signature_timestamp_and_nonce_are_checked_or_403(signature, timestamp, nonce):
    settings_ = get_settings()
    try:
        callback._check((timestamp, nonce), signature, "invalid_signature", settings_)
        callback._check_fresh(timestamp, settings_)
    except Forbidden:
        return
    assert timestamp.isascii() and timestamp.isdigit()


@FAST
@given(st.text("0123456789abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=32), st.integers(-250, 250))
def test_a_signed_fresh_callback_passes(nonce, skew):
    settings_ = get_settings()
    timestamp = str(int(time.time()) + skew)
    digest = hashlib.sha1("".join(sorted([settings_.wechat_token, timestamp, nonce])).encode()).hexdigest()
    callback._check((timestamp, nonce), digest, "invalid_signature", settings_)
    callback._check_fresh(timestamp, settings_)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.dictionaries(st.sampled_from(["signature", "timestamp", "nonce", "echostr", "encrypt_type"]), anything)
)
def test_any_verification_query_answers_200_400_or_403(client, query):
    from urllib.parse import urlencode

    encoded = urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in query.items()})
    response = client.http.get(f"/wechat/callback?{encoded}")
    assert response.status_code in (200, 400, 403), response.body
    if response.status_code != 200:
        assert set(response.json_body) == {"error", "message"}


def test_every_error_these_parsers_raise_is_a_domain_error():
    # The properties above catch only these; anything else (TypeError, ValueError,
    # UnicodeEncodeError) fails them. They are our domain errors, mapped to 4xx once.
    assert all(issubclass(kind, AppError) for kind in (Unauthenticated, Forbidden, InvalidInput))
