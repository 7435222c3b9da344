"""Role isolation (CONTRACT §10): a store operator sees and acts on their own store only.

One table names every console route with what a store operator of store A gets on it: their
own store's pages work; another store's page, QR code, card and data are 403; the brand-wide
pages and actions are 403. The table must name every /console route the app declares, so a
new page cannot be added without saying who may use it."""

from __future__ import annotations

import json

import pytest

from functions.routes import ROUTES
from tests.callback.stories import qr_scene
from tests.console.conftest import Browser, put_operator, put_store

# (method, route) -> how the store operator's request is made: a path template and form fields.
OWN, OTHER = "{own}", "{other}"
CASES = {
    ("GET", "/console"): [("/console/", None, 303)],  # a store operator's overview is their store
    ("GET", "/console/stores/{store_id}"): [
        (f"/console/stores/{OWN}", None, 200),
        (f"/console/stores/{OTHER}", None, 403),
    ],
    ("POST", "/console/stores/{store_id}/qrcodes"): [
        (f"/console/stores/{OWN}/qrcodes", {"staff": "mine"}, 303),
        (f"/console/stores/{OTHER}/qrcodes", {"staff": "theirs"}, 403),
    ],
    ("GET", "/console/stores/{store_id}/card"): [
        (f"/console/stores/{OWN}/card?scene={{own_scene}}", None, 200),
        (f"/console/stores/{OTHER}/card?scene={{other_scene}}", None, 403),
        # another store's code through one's own store's address: not found there
        (f"/console/stores/{OWN}/card?scene={{other_scene}}", None, 404),
    ],
    ("GET", "/console/stores/{store_id}/stats.json"): [
        (f"/console/stores/{OWN}/stats.json", None, 200),
        (f"/console/stores/{OTHER}/stats.json", None, 403),
    ],
    ("GET", "/console/slots"): [("/console/slots", None, 403)],
    ("POST", "/console/slots"): [
        (
            "/console/slots",
            {"area": "a1", "date": "2030-01-01", "window": "09:00-12:00", "capacity": "1"},
            403,
        )
    ],
    ("GET", "/console/campaigns"): [("/console/campaigns", None, 403)],
    ("GET", "/console/segments"): [("/console/segments", None, 403)],
    ("POST", "/console/segments"): [("/console/segments", {"segment_id": "s1", "name": "s1"}, 403)],
    ("POST", "/console/campaigns"): [
        ("/console/campaigns", {"campaign_id": "c1", "title": "t", "kind": "fixed", "amount": "1"}, 403)
    ],
    ("POST", "/console/campaigns/{campaign_id}/issue"): [
        ("/console/campaigns/c1/issue", {"openids": "o1"}, 403)
    ],
    ("GET", "/console/notifications"): [("/console/notifications", None, 403)],
    ("POST", "/console/notifications/redrive"): [
        ("/console/notifications/redrive", {"queue": "notifications-dlq"}, 403)
    ],
    ("GET", "/console/reminders"): [("/console/reminders", None, 403)],
    ("GET", "/console/reminders/report"): [("/console/reminders/report", None, 403)],
    ("GET", "/console/audit"): [("/console/audit", None, 403)],
    # the store inbox: their own store's conversations only
    ("GET", "/console/inbox"): [
        ("/console/inbox", None, 200),
        (f"/console/inbox?store_id={OWN}", None, 200),
        (f"/console/inbox?store_id={OTHER}", None, 403),
        ("/console/inbox?status=escalated&store_id=hq", None, 403),
    ],
    ("GET", "/console/inbox/{conversation_id}"): [
        ("/console/inbox/{own_conversation}", None, 200),
        ("/console/inbox/{other_conversation}", None, 403),
    ],
    ("POST", "/console/inbox/{conversation_id}/replies"): [
        ("/console/inbox/{own_conversation}/replies", {"text": "您好"}, 303),
        ("/console/inbox/{other_conversation}/replies", {"text": "您好"}, 403),
    ],
    ("POST", "/console/inbox/{conversation_id}/close"): [
        ("/console/inbox/{own_conversation}/close", {}, 303),
        ("/console/inbox/{other_conversation}/close", {}, 403),
    ],
    ("GET", "/console/referrals"): [("/console/referrals", None, 403)],
    ("GET", "/console/broadcasts"): [("/console/broadcasts", None, 403)],
    ("POST", "/console/broadcasts"): [("/console/broadcasts", {"segment_id": "s1", "text": "hi"}, 403)],
    ("GET", "/console/broadcasts/{broadcast_id}"): [
        ("/console/broadcasts/bc-20260101-0123456789ab", None, 403)
    ],
    # for every operator
    ("GET", "/console/login"): [("/console/login", None, 200)],
    ("POST", "/console/login"): [],  # signing in: tests/console/test_console.py
    ("POST", "/console/logout"): [("/console/logout", {}, 303)],
}


def test_the_table_names_every_console_route(client):  # the app has declared its routes
    declared = {(m, p) for routes in ROUTES.values() for m, p, _ in routes if p.startswith("/console")}
    assert declared == set(CASES)


@pytest.fixture
def stores_and_operator(client, admin_headers):
    own, other = put_store(client, admin_headers, "自己的店"), put_store(client, admin_headers, "别人的店")
    username = put_operator(client, admin_headers, role="store", store_id=own)
    return {
        "own": own,
        "other": other,
        "own_scene": qr_scene(client, own, staff_id="s1"),
        "other_scene": qr_scene(client, other, staff_id="s2"),
        "username": username,
        "own_conversation": _question(own),
        "other_conversation": _question(other),
    }


def _question(store_id: str) -> str:
    """A follower's question in the store's inbox; its conversation id."""
    import uuid

    from functions.core import txn
    from functions.inbox import domain as inbox

    openid = f"o{uuid.uuid4().hex[:12]}"
    _, ops = inbox.intake(store_id, inbox.Incoming(openid, "text", "k1", text="冰箱什么时候到"))
    txn.run(ops)
    return inbox.conversation_id(store_id, openid)


@pytest.mark.parametrize(("route", "case"), [(r, c) for r, cases in CASES.items() for c in cases], ids=str)
def test_a_store_operator_reaches_only_their_own_store(
    client, admin_headers, stores_and_operator, route, case
):
    device = Browser(client)
    assert device.login(stores_and_operator["username"]).status == 303
    template, fields, expected = case
    path = template.format(**stores_and_operator)
    if fields is None:
        answer = device.get(path)
    else:
        token = device.get(f"/console/stores/{stores_and_operator['own']}").csrf
        answer = device.post(path, {"csrf_token": token, **fields})
    assert answer.status == expected, (path, answer.text[:500])
    if expected == 403:
        assert stores_and_operator["other"] not in answer.text  # nothing of the other store shows


def test_a_store_operator_overview_is_their_store(client, admin_headers, stores_and_operator):
    device = Browser(client)
    device.login(stores_and_operator["username"])
    answer = device.get("/console/")
    assert answer.status == 303 and answer.path() == f"/console/stores/{stores_and_operator['own']}"
    page = device.get(answer.path())
    assert "自己的店" in page.text and "别人的店" not in page.text and "预约时段" not in page.text


def test_an_admin_reaches_every_store(client, admin_headers, admin, stores_and_operator):
    for store in (stores_and_operator["own"], stores_and_operator["other"]):
        assert admin.get(f"/console/stores/{store}").status == 200
    data = json.loads(admin.get(f"/console/stores/{stores_and_operator['other']}/stats.json").text)
    assert data["store_id"] == stores_and_operator["other"]
