"""Signing in to the pages (CONTRACT §9): WeChat's web OAuth, the checked state, a local `next`
only, the HttpOnly session cookie, and CSRF on every form."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.h5.conftest import record_order, uid
from tests.notifications.conftest import calls


def authorize_query(location: str) -> dict[str, str]:
    parts = urlsplit(location)
    assert parts.path == "/connect/oauth2/authorize" and parts.fragment == "wechat_redirect"
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_a_page_without_a_session_sends_the_customer_to_wechats_sign_in(phone, sandbox):
    # Given a customer's first visit
    device = phone(None)
    # When they open their coupons
    page = device.get("/h5/coupons")
    # Then WeChat's sign-in page is asked for the openid, coming back to /h5/auth?next=/h5/coupons
    assert page.status == 302
    assert page.location.startswith(f"{sandbox.url}/connect/oauth2/authorize?")
    query = authorize_query(page.location)
    assert query == {
        "appid": "wx00sandbox0000001",
        "redirect_uri": "http://127.0.0.1:8000/h5/auth?next=%2Fh5%2Fcoupons",
        "response_type": "code",
        "scope": "snsapi_base",
        "state": device.cookies["h5_state"],
    }
    # And the state is remembered in a short-lived HttpOnly cookie of the pages' path
    cookie = page.headers["Set-Cookie"][0]
    assert (
        "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/h5" in cookie and "Max-Age=600" in cookie
    )


def test_the_code_wechat_sends_back_signs_the_customer_in_with_an_httponly_cookie(phone, sandbox):
    device = phone(None)
    started = device.get("/h5/me")
    state = authorize_query(started.location)["state"]
    openid = uid("o")
    # When WeChat comes back with a code and our state
    page = device.get(f"/h5/auth?next=%2Fh5%2Fme&code=openid:{openid}&state={state}")
    # Then the code is exchanged once, the session cookie set, the state forgotten
    assert page.status == 302 and page.path() == "/h5/me"
    assert calls(sandbox, "sns/oauth2/access_token") == 1
    session = next(c for c in page.headers["Set-Cookie"] if c.startswith("h5_session="))
    assert "HttpOnly" in session and "SameSite=Lax" in session and "Secure" not in session  # http here
    assert "h5_state" not in device.cookies
    # And the page opens
    me = device.get("/h5/me")
    assert me.status == 200 and "补货提醒" in me.text


def test_over_https_the_session_cookie_is_secure(phone, sandbox, monkeypatch):
    from functions.core.config import reset_settings

    monkeypatch.setenv("H5_BASE_URL", "https://h5.example.com/api")
    reset_settings()
    try:
        device = phone(None)
        started = device.get("/h5/me")
        assert "redirect_uri=https%3A%2F%2Fh5.example.com%2Fapi%2Fh5%2Fauth" in started.location
        state = authorize_query(started.location)["state"]
        page = device.get(f"/h5/auth?next=%2Fh5%2Fme&code=openid:{uid('o')}&state={state}")
        session = next(c for c in page.headers["Set-Cookie"] if c.startswith("h5_session="))
        # The stage's path prefix is kept in the cookie's path and in the redirect
        assert "Secure" in session and "Path=/api/h5" in session
        assert page.location == "/api/h5/me"
    finally:
        monkeypatch.delenv("H5_BASE_URL")
        reset_settings()


def test_a_code_without_our_state_is_never_exchanged_the_sign_in_starts_again(phone, sandbox):
    # A menu link goes to WeChat with a fixed state; a forged link carries any state
    device = phone(None)
    page = device.get(f"/h5/auth?next=%2Fh5%2Fcoupons&code=openid:{uid('o')}&state=menu")
    assert page.status == 302
    assert calls(sandbox, "sns/oauth2/access_token") == 0
    assert "h5_session" not in device.cookies
    # The sign-in starts again with a state of ours, marked as the second try
    query = authorize_query(page.location)
    assert query["state"] == device.cookies["h5_state"]
    assert query["redirect_uri"].endswith("/h5/auth?next=%2Fh5%2Fcoupons&retry=1")
    # A second mismatch stops with a page, rather than going round forever
    again = device.get(f"/h5/auth?next=%2Fh5%2Fcoupons&retry=1&code=openid:{uid('o')}&state=forged")
    assert again.status == 403 and "登录未完成" in again.text
    assert calls(sandbox, "sns/oauth2/access_token") == 0


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example/h5/me",
        "//evil.example/h5/me",
        "/\\evil.example",
        "/h5//evil.example",
        "javascript:alert(1)",
        "/admin/orders",
        "h5/me",
        "/h5/me\n",
        "",
    ],
)
def test_next_is_only_ever_a_page_of_ours(phone, sandbox, next_path):
    device = phone(None)
    state = authorize_query(device.get("/h5/me").location)["state"]
    page = device.get(f"/h5/auth?next={quote(next_path, safe='')}&code=openid:{uid('o')}&state={state}")
    assert page.status == 302
    assert page.location == "/h5/bookings"


def test_a_code_wechat_refuses_is_a_page_not_a_session(phone, sandbox):
    device = phone(None)
    state = authorize_query(device.get("/h5/me").location)["state"]
    page = device.get(f"/h5/auth?next=%2Fh5%2Fme&code=not-a-code&state={state}")
    assert page.status == 401 and "登录失败" in page.text
    assert page.headers["Content-Type"].startswith("text/html")
    assert "h5_session" not in device.cookies


def test_an_expired_or_forged_session_signs_in_again(phone, sandbox):
    from functions.core.session import issue_token

    expired = phone(None)
    expired.cookies["h5_session"] = issue_token("o-someone", ttl_s=-10)
    assert expired.get("/h5/me").status == 302
    forged = phone(None)
    forged.cookies["h5_session"] = issue_token("o-someone").rsplit(".", 1)[0] + ".forged"
    assert forged.get("/h5/me").status == 302


# -- CSRF -----------------------------------------------------------------------------------


def test_a_form_without_the_pages_csrf_token_changes_nothing(phone, sandbox):
    from functions.customers.domain import get_customer

    openid = uid("o")
    device = phone(openid)
    # No token at all, or another customer's
    assert device.post("/h5/me", {"reminders": "on"}).status == 403
    other = phone(uid("o")).get("/h5/me").csrf
    refused = device.post("/h5/me", {"reminders": "on", "csrf_token": other})
    assert refused.status == 403 and "页面已过期" in refused.text
    assert get_customer(openid) is None


def test_a_stale_csrf_token_from_an_earlier_session_is_refused(phone, sandbox, area):
    from functions.bookings import domain
    from functions.core import clock
    from functions.core.session import issue_token

    openid = uid("o")
    area_id, (slot_id, _) = area()
    order_id = record_order(openid, area=area_id)
    # Given the booking form was opened in an earlier session
    device = phone(openid)
    stale = device.get(f"/h5/book?order_id={order_id}").csrf
    # When the customer signed in again since (a new session, a new token)
    clock.set_now(clock.now() + timedelta(seconds=5))
    device.cookies["h5_session"] = issue_token(openid)
    fields = {"order_id": order_id, "slot_id": slot_id, "address": "上海市静安区1号", "phone": "13800138000"}
    page = device.post(f"/h5/book?order_id={order_id}", {"csrf_token": stale, **fields})
    # Then the old form is refused with a page that leads back to the form, and nothing is booked
    assert page.status == 403 and "页面已过期" in page.text
    assert f'href="/h5/book?order_id={order_id}"' in page.text
    assert domain.list_bookings(openid) == []


def test_a_post_without_a_session_signs_in_and_comes_back_to_the_form(phone, sandbox):
    page = phone(None).post("/h5/book?order_id=SO-1", {"csrf_token": "x", "order_id": "SO-1"})
    assert page.status == 302
    assert authorize_query(page.location)["redirect_uri"].endswith("next=%2Fh5%2Fbook%3Forder_id%3DSO-1")


@given(st.text(max_size=80) | st.builds(lambda tail: "/h5" + tail, st.text(max_size=40)))
def test_whatever_next_says_the_redirect_stays_on_our_pages(next_path):
    from functions.web.session import HOME, safe_next

    target = safe_next(next_path)
    assert target == HOME or (target == next_path and target.startswith("/h5"))
    assert not any(bad in target for bad in ("//", "\\", "\n", "\r", "\t", " ", "#"))
    assert target == "/h5" or target.startswith(("/h5/", "/h5?"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_no_form_body_gets_a_5xx(phone, sandbox, body):
    device = phone("o-fuzz")
    token = device.get("/h5/me").csrf
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"h5_session={device.cookies['h5_session']}",
    }
    for raw in (body, f"csrf_token={token}&".encode() + body):
        response = device.client.http.post("/h5/me", headers=headers, body=raw)
        assert response.status_code in (303, 400, 403), response.status_code
