"""Customer sign-in (GET /auth/wechat), the session token on a customer route (GET /me),
and ops' views of the notification records."""

from __future__ import annotations

import pytest

from functions.core import clock
from functions.core.session import issue_token
from functions.notifications.domain import notify
from tests.conftest import customer_headers
from tests.notifications.conftest import VALUES, calls, customer, drain_notifications, new_openid


def test_sign_in_exchanges_the_code_for_a_session_token(client, sandbox):
    # Given WeChat's OAuth redirect brought a code for customer o-123
    openid = new_openid()
    customer(openid, consent=True)
    # When the H5 page signs in with it
    response = client.http.get(f"/auth/wechat?code=openid:{openid}")
    # Then it gets a token for that openid, which opens customer routes
    assert response.status_code == 200
    body = response.json_body
    assert body["openid"] == openid
    assert calls(sandbox, "sns/oauth2/access_token") == 1
    me = client.http.get("/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    seen = me.json_body
    ref_code = seen.pop("ref_code")
    assert seen == {"openid": openid, "subscribed": True, "reminder_consent": True}
    assert len(ref_code) == 16  # the share code (CONTRACT §14)


def test_me_for_a_customer_not_yet_known(client, sandbox):
    openid = new_openid()
    me = client.http.get("/me", headers=customer_headers(openid))
    seen = me.json_body
    ref_code = seen.pop("ref_code")
    assert seen == {"openid": openid, "subscribed": False, "reminder_consent": False}
    # The share code is made once and stays
    assert client.http.get("/me", headers=customer_headers(openid)).json_body["ref_code"] == ref_code


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ("", 400, "invalid_code"),
        ("?code=", 400, "invalid_code"),
        ("?code=%20%20", 400, "invalid_code"),
        (f"?code={'c' * 513}", 400, "invalid_code"),
        ("?code=bad-code", 401, "invalid_code"),
        # WeChat (and the sandbox) refuse a code they did not issue with 40029
        ("?code=o-demo", 401, "invalid_code"),
        ("?code=openid:", 401, "invalid_code"),
    ],
)
def test_sign_in_refuses_a_missing_or_bad_code(client, sandbox, query, status, error):
    response = client.http.get(f"/auth/wechat{query}")
    assert response.status_code == status
    assert response.json_body["error"] == error


def test_sign_in_when_wechat_is_down_is_a_503_not_a_401(client, sandbox):
    from tests.notifications.conftest import fault

    fault(sandbox, api="sns/oauth2/access_token", http_status=502, count=1)
    response = client.http.get("/auth/wechat?code=abc")
    assert response.status_code == 503
    assert response.json_body["error"] == "wechat_unavailable"


def tampered(token: str) -> str:
    openid_b64, expires, signature = token.split(".")
    return f"{openid_b64}.{int(expires) + 3600}.{signature}"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer ",
        "Basic abc",
        "Bearer not-a-token",
        "tampered",
        "other-openid",
        "expired",
    ],
)
def test_customer_routes_refuse_missing_tampered_and_expired_tokens(client, sandbox, authorization):
    openid = new_openid()
    if authorization == "tampered":
        authorization = f"Bearer {tampered(issue_token(openid))}"
    elif authorization == "other-openid":
        token = issue_token(openid)
        _, expires, signature = token.split(".")
        authorization = f"Bearer {issue_token('o-someone-else').split('.')[0]}.{expires}.{signature}"
    elif authorization == "expired":
        authorization = f"Bearer {issue_token(openid, ttl_s=-1)}"
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.http.get("/me", headers=headers)
    assert response.status_code == 401
    assert set(response.json_body) == {"error", "message"}


def test_a_token_expires_with_time(client, sandbox):
    token = issue_token(new_openid(), ttl_s=60)
    clock.set_now(clock.now() + __import__("datetime").timedelta(seconds=61))
    assert client.http.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_ops_read_a_notification_and_a_customers_history(client, sandbox, admin_headers):
    # Given two notifications sent to a customer
    openid = customer()
    first = notify(openid, "shipment_status", VALUES)
    second = notify(openid, "booking_confirmed", VALUES)
    drain_notifications()
    # When ops look one up by id
    one = client.http.get(f"/admin/notifications/{first}", headers=admin_headers)
    # Then they see its state and history
    assert one.status_code == 200
    assert one.json_body["status"] == "sent"
    assert [h["status"] for h in one.json_body["history"]] == ["queued", "sending", "sent"]
    # And the customer's list has both, newest first
    listed = client.http.get(f"/admin/customers/{openid}/notifications", headers=admin_headers)
    assert [n["notification_id"] for n in listed.json_body["notifications"]] == [second, first]


def test_ops_routes_need_the_admin_key(client, sandbox, admin_headers):
    assert client.http.get("/admin/notifications/x").status_code == 401
    assert (
        client.http.get("/admin/customers/x/notifications", headers={"X-Api-Key": "wrong"}).status_code == 401
    )
    missing = client.http.get("/admin/notifications/does-not-exist", headers=admin_headers)
    assert missing.status_code == 404 and missing.json_body["error"] == "notification_not_found"
    bad = client.http.get("/admin/customers/x/notifications?limit=0", headers=admin_headers)
    assert bad.status_code == 400
