"""No input of any kind gets a 5xx (CONTRACT §1): each kind a probe of the running stack found,
through the real app. Every answer is a 4xx in our {"error", "message"} shape."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import quote

import pytest

from tests.conftest import customer_headers

ADMIN = {"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"}
DEEP = "[" * 5000 + "]" * 5000


def refused(response, status: int | None = None) -> dict:
    """The answer is a 4xx (of `status`, if given) in our shape; returns its body."""
    assert 400 <= response.status_code < 500, (response.status_code, response.body)
    if status is not None:
        assert response.status_code == status, response.body
    body = response.json_body
    assert set(body) == {"error", "message"} and all(isinstance(v, str) for v in body.values()), body
    return body


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# -- headers: compare_digest raises TypeError on non-ASCII str, int("²") raises -------------

ODD = ["²", "١٢٣", "ä" * 40, "中文", "１７００００００００", "9" * 5000, " ", ""]


@pytest.mark.parametrize("value", ODD)
def test_odd_characters_in_a_session_token_are_401(client, value):
    for token in (
        value,
        f"{value}.{value}.{value}",
        f"b3BlbmlkCg.{value}.sig",
        f"b3BlbmlkCg.1700000000.{value}",
    ):
        refused(client.http.get("/me", headers={"Authorization": f"Bearer {token}"}), 401)


@pytest.mark.parametrize("value", ODD)
def test_odd_characters_in_the_admin_key_are_401(client, value):
    refused(client.http.get("/admin/products/x", headers={"X-Api-Key": value}), 401)


@pytest.mark.parametrize("value", ODD)
def test_odd_characters_in_pos_headers_are_401(client, value):
    body = json.dumps({"code": "C", "order_id": "O", "amount_cents": 1})
    now = str(int(time.time()))
    for headers in (
        {"X-Store-Id": "s", "X-Timestamp": value, "X-Signature": "0" * 64},
        {"X-Store-Id": "s", "X-Timestamp": now, "X-Signature": value},
        {"X-Store-Id": value, "X-Timestamp": now, "X-Signature": "0" * 64},
    ):
        response = client.http.post(
            "/pos/redemptions", headers={**headers, "Content-Type": "application/json"}, body=body
        )
        refused(response, 401)


@pytest.mark.parametrize("value", ODD)
def test_odd_characters_in_the_logistics_signature_are_401(client, value):
    body = json.dumps({"event_id": "e", "carrier": "sf", "tracking_no": "T", "status": "picked_up"})
    for signature in (value, f"sha256={value}", f"{value}={value}"):
        headers = {"X-Signature": signature, "Content-Type": "application/json"}
        refused(client.http.post("/logistics/events", headers=headers, body=body), 401)


def test_odd_characters_in_the_kuaidi100_sign_are_401(client):
    for sign in ODD:
        body = f"param={quote('{}')}&sign={quote(sign)}"
        response = client.http.post(
            "/logistics/kuaidi100", headers={"Content-Type": "application/x-www-form-urlencoded"}, body=body
        )
        assert response.status_code == 401, response.body


# -- lone surrogates: text that cannot be encoded, stored, signed or logged -----------------


def _event(method: str, path: str, resource: str, *, headers=None, query=None, params=None, body=None):
    """An API Gateway proxy event, as Lambda receives it: any JSON string, lone surrogates included."""
    return {
        "httpMethod": method,
        "path": path,
        "resource": resource,
        "headers": {"content-type": "application/json", **(headers or {})},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {"resourcePath": resource, "httpMethod": method, "path": path, "requestId": "r"},
        "body": body,
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    "event",
    [
        _event("GET", "/me", "/me", headers={"authorization": "Bearer \ud800"}),
        _event(
            "GET",
            "/admin/products/x",
            "/admin/products/{sku}",
            headers={"x-api-key": "\udfff"},
            params={"sku": "x"},
        ),
        _event("GET", "/admin/products/x", "/admin/products/{sku}", headers=ADMIN, params={"sku": "x\ud800"}),
        _event(
            "GET",
            "/slots",
            "/slots",
            headers=customer_headers("o-s"),
            query={"area": "a\ud800", "from": "x", "to": "y"},
        ),
        _event(
            "GET",
            "/wechat/callback",
            "/wechat/callback",
            query={"signature": "\ud800", "timestamp": "1", "nonce": "n"},
        ),
        _event(
            "POST",
            "/pos/redemptions",
            "/pos/redemptions",
            headers={"x-store-id": "s", "x-timestamp": "1", "x-signature": "\ud800"},
            body="{}",
        ),
        _event(
            "POST",
            "/logistics/events",
            "/logistics/events",
            headers={"x-signature": "sha256=\ud800"},
            body="{}",
        ),
        _event(
            "PUT",
            "/admin/products/x",
            "/admin/products/{sku}",
            headers={**ADMIN, "x-api-key": "dev-admin-key"},
            params={"sku": "x"},
            body='{"name": "\\ud800"}',
        ),
    ],
    ids=[
        "auth header",
        "admin key",
        "path",
        "query",
        "callback query",
        "pos signature",
        "logistics signature",
        "json body",
    ],
)
def test_lone_surrogates_anywhere_are_400_or_401(aws, event):
    from chalice.test import Client

    from app import app

    with Client(app):
        answer = app(event, None)
    assert 400 <= answer["statusCode"] < 500, answer
    assert set(json.loads(answer["body"])) == {"error", "message"}


# -- deep nesting and numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("/admin/orders", "post", DEEP),
        ("/admin/orders", "post", '{"order_id": "o", "x": ' + DEEP + "}"),
        ("/admin/products/deep", "put", '{"name": "n", "x": ' + DEEP + "}"),
        ("/admin/slots", "put", '{"area": "a", "date": "2030-01-01", "x": ' + DEEP + "}"),
    ],
    ids=["top level", "unknown field", "product", "slots"],
)
def test_json_nested_5000_deep_is_400(client, path, method, body):
    refused(getattr(client.http, method)(path, headers=ADMIN, body=body), 400)


def test_a_kuaidi100_param_nested_5000_deep_is_400(client):
    from functions.core.config import get_settings

    param = '{"lastResult": {"com": "sf", "nu": "N", "x": ' + DEEP + "}}"
    sign = hashlib.md5((param + get_settings().kuaidi100_salt).encode()).hexdigest()
    response = client.http.post(
        "/logistics/kuaidi100",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=f"param={quote(param)}&sign={sign}",
    )
    assert response.status_code == 400, response.body


BIG = 10**40  # past DynamoDB's 38 significant digits
LINE = {"sku": "s", "qty": 1, "price_cents": 1}
ORDER = {"order_id": "o1", "openid": "o", "items": [LINE], "total_cents": 1}
CAMPAIGN = {"title": "t", "valid_from": "2030-01-01", "valid_to": "2030-01-02", "discount_cents": 1}


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("/admin/orders", "post", {**ORDER, "items": [{**LINE, "qty": BIG}]}),
        ("/admin/orders", "post", {**ORDER, "total_cents": BIG}),
        ("/admin/products/big", "put", {"name": "n", "replenish_days": BIG}),
        (
            "/admin/slots",
            "put",
            {"area": "a", "date": "2030-01-01", "windows": [{"window": "09:00-12:00", "capacity": BIG}]},
        ),
        ("/admin/coupon-campaigns/big", "put", {**CAMPAIGN, "total_limit": BIG, "per_customer_limit": 1}),
        ("/admin/qrcodes", "post", {"store_id": "s", "expire_seconds": BIG}),
    ],
    ids=["qty", "total", "replenish_days", "capacity", "total_limit", "expire_seconds"],
)
def test_numbers_past_38_digits_are_400(client, path, method, body):
    refused(getattr(client.http, method)(path, headers=ADMIN, body=json.dumps(body)), 400)


def test_a_kuaidi100_status_code_past_38_digits_is_refused(client):
    from functions.core.config import get_settings

    entry = {"time": "2024-05-01 08:00:00", "context": "c", "statusCode": BIG}
    param = json.dumps({"lastResult": {"com": "sf", "nu": uid("N"), "state": BIG, "data": [entry]}})
    sign = hashlib.md5((param + get_settings().kuaidi100_salt).encode()).hexdigest()
    response = client.http.post(
        "/logistics/kuaidi100",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=f"param={quote(param)}&sign={sign}",
    )
    assert response.status_code == 400, response.body


# -- extreme dates -------------------------------------------------------------------------

EDGES = ["0001-01-01", "9999-12-31"]


@pytest.mark.parametrize("day", EDGES)
def test_slots_at_the_ends_of_the_calendar_are_refused_or_answered(client, day):
    from tests.bookings.conftest import record_order

    area = uid("a")
    slots = {"area": area, "date": day, "windows": [{"window": "23:00-24:00", "capacity": 1}]}
    defined = client.http.put("/admin/slots", headers=ADMIN, body=json.dumps(slots))
    assert defined.status_code < 500, defined.body
    me = customer_headers("o-edge")
    listed = client.http.get(f"/slots?area={area}&from={EDGES[0]}&to={EDGES[1]}", headers=me)
    assert listed.status_code < 500, listed.body
    for slot_area in (area, "a"):
        slot_id = f"{slot_area}|{day}|23:00-24:00"
        booking = {
            "slot_id": slot_id,
            "order_id": record_order("o-edge"),
            "address": "x",
            "phone": "13800138000",
        }
        booked = client.http.post("/bookings", headers=me, body=json.dumps(booking))
        assert booked.status_code in (201, 404, 422), booked.body  # year 9999 is bookable


@pytest.mark.parametrize("day", EDGES)
def test_dates_at_the_ends_of_the_calendar_are_refused_or_answered(client, day):
    answers = [
        client.http.get(f"/admin/stores/s/stats?from={day}&to={day}", headers=ADMIN),
        client.http.get(f"/admin/stores/s/stats?from={EDGES[0]}&to={EDGES[1]}", headers=ADMIN),
        client.http.get(f"/admin/reminders/runs/{day}", headers=ADMIN),
    ]
    for moment in (day, f"{day}T00:00:00", f"{day}T23:59:59+14:00", f"{day}T00:00:00-12:00"):
        campaign = {
            "title": "t",
            "valid_from": moment,
            "valid_to": moment,
            "total_limit": 1,
            "per_customer_limit": 1,
            "discount_cents": 1,
        }
        answers.append(
            client.http.put(f"/admin/coupon-campaigns/{uid('c')}", headers=ADMIN, body=json.dumps(campaign))
        )
        order = {
            "order_id": uid("o"),
            "openid": "o",
            "items": [{"sku": "s", "qty": 1, "price_cents": 1}],
            "total_cents": 1,
            "purchased_at": moment,
        }
        answers.append(client.http.post("/admin/orders", headers=ADMIN, body=json.dumps(order)))
    for answer in answers:
        assert answer.status_code < 500, answer.body
        if answer.status_code >= 400:
            refused(answer)


def test_a_callback_create_time_that_is_not_unix_seconds_is_400(client):
    from infra.local.wechat_sim import WeChat, deliver

    sim = WeChat()
    for create_time in ("²", "١٧٠٠٠٠٠٠٠٠", "9" * 5000, "-1"):
        xml = sim.event("o-ct", "subscribe").replace(
            sim.event("o-ct", "subscribe").split("<CreateTime>")[1].split("</CreateTime>")[0], create_time
        )
        status, body = deliver(client, sim, xml)
        assert status == 400 and "invalid_message" in body, (create_time, status, body)


def test_a_callback_create_time_far_in_the_future_is_handled(client):
    from infra.local.wechat_sim import WeChat, deliver

    sim = WeChat()
    status, _ = deliver(client, sim, sim.event(uid("o"), "subscribe", create_time=999999999999))
    assert status == 200


# -- phone numbers: ASCII digits only ------------------------------------------------------


@pytest.mark.parametrize("phone", ["١٣٨٠٠١٣٨٠٠٠", "１３８００１３８０００", "13800¹38000", "۱۳۸۰۰۱۳۸۰۰۰"])
def test_a_phone_number_takes_ascii_digits_only(client, phone):
    me = customer_headers("o-phone")
    booking = {"slot_id": "a|2030-01-01|09:00-12:00", "order_id": "o", "address": "x", "phone": phone}
    assert (
        refused(client.http.post("/bookings", headers=me, body=json.dumps(booking)), 400)["error"]
        == "invalid_phone"
    )


def test_a_slot_id_takes_ascii_digits_only(client):
    me = customer_headers("o-slot")
    booking = {"slot_id": "a|٢٠٣٠-٠١-٠١|09:00-12:00", "order_id": "o", "address": "x", "phone": "13800138000"}
    assert (
        refused(client.http.post("/bookings", headers=me, body=json.dumps(booking)), 400)["error"]
        == "invalid_slot_id"
    )


# -- a list request is validated whole before anything is written --------------------------


def test_a_bad_openid_in_the_middle_of_an_issue_list_issues_nothing(client):
    campaign_id = uid("c")
    campaign = {
        "title": "t",
        "valid_from": "2020-01-01",
        "valid_to": "2099-01-01",
        "total_limit": 100,
        "per_customer_limit": 1,
        "discount_cents": 100,
    }
    assert client.http.put(
        f"/admin/coupon-campaigns/{campaign_id}", headers=ADMIN, body=json.dumps(campaign)
    ).status_code in (200, 201)
    good = [uid("o") for _ in range(3)]
    for bad in ("bad openid", "", "o\ud800" if False else "o/1", "x" * 65):
        body = json.dumps({"openids": [*good[:2], bad, good[2]]})
        response = client.http.post(f"/admin/coupon-campaigns/{campaign_id}/issue", headers=ADMIN, body=body)
        assert refused(response, 400)["error"] == "invalid_openids"
    for openid in good:
        assert client.http.get("/coupons", headers=customer_headers(openid)).json_body == []


def test_a_bad_window_in_the_middle_of_a_slots_request_defines_none(client):
    area = uid("a")
    windows = [
        {"window": "09:00-12:00", "capacity": 1},
        {"window": "25:00-26:00", "capacity": 1},
        {"window": "13:00-17:00", "capacity": 1},
    ]
    body = json.dumps({"area": area, "date": "2030-01-01", "windows": windows})
    refused(client.http.put("/admin/slots", headers=ADMIN, body=body), 400)
    listed = client.http.get(
        f"/slots?area={area}&from=2030-01-01&to=2030-01-01", headers=customer_headers("o-w")
    )
    assert listed.json_body == []


def test_an_unknown_route_is_404_in_our_shape_over_http(http_api):
    import requests

    for method, path in (
        ("GET", "/nope"),
        ("POST", "/admin/nope"),
        ("PATCH", "/health"),
        ("TRACE", "/health"),
    ):
        response = requests.request(
            method, f"{http_api}{path}", headers={"Authorization": "Bearer ä"}, timeout=10
        )
        assert response.status_code == 404, (method, path, response.text)
        assert response.json() == {"error": "not_found", "message": "no such route"}


def test_non_ascii_header_bytes_over_http_are_401(http_api):
    """Over the wire a header holds bytes; Python reads them as Latin-1, so UTF-8 arrives as
    several characters, none of them ASCII."""
    import http.client

    from functions.core.config import get_settings

    def send(path: str, headers: dict[str, bytes], body: bytes = b"") -> int:
        host, port = http_api.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.putrequest("POST" if body else "GET", path)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        payload = json.loads(answer.read())
        assert set(payload) == {"error", "message"}, payload
        return answer.status

    odd = "²中".encode()
    assert send("/me", {"Authorization": b"Bearer " + odd}) == 401
    assert send("/admin/products/x", {"X-Api-Key": odd}) == 401
    body = b'{"code": "C", "order_id": "O", "amount_cents": 1}'
    pos = {"Content-Type": b"application/json", "X-Store-Id": b"s"}
    assert send("/pos/redemptions", {**pos, "X-Timestamp": odd, "X-Signature": b"0" * 64}, body) == 401
    assert (
        send(
            "/pos/redemptions",
            {**pos, "X-Timestamp": str(int(time.time())).encode(), "X-Signature": odd},
            body,
        )
        == 401
    )
    native = b'{"event_id": "e", "carrier": "sf", "tracking_no": "T", "status": "picked_up", "occurred_at": "2024-01-01"}'
    digest = hmac.new(get_settings().logistics_hmac_secret.encode(), native, hashlib.sha256).hexdigest()
    assert (
        send(
            "/logistics/events",
            {"Content-Type": b"application/json", "X-Signature": b"sha256=" + odd},
            native,
        )
        == 401
    )
    assert (
        send(
            "/logistics/events",
            {"Content-Type": b"application/json", "X-Signature": f"sha256={digest}".encode()},
            native,
        )
        < 500
    )
