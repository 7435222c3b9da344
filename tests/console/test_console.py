"""The ops console (CONTRACT §10), told through the real app: accounts, sign-in and lockout,
the session cookie, CSRF, the pages with seeded data, the actions and their audit trail."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from functions.audit import domain as audit
from functions.bookings import areas, slots
from functions.core import clock, txn
from functions.core.aws import client as aws_client
from functions.core.config import resource_name
from functions.coupons import campaigns
from functions.notifications import report
from functions.operators import domain as operators
from functions.operators.models import OPERATOR, OperatorRow, operator_pk
from functions.stores import stats
from infra.local.wechat_sim import WeChat, deliver
from tests.bookings.conftest import record_order
from tests.callback.stories import qr_scene
from tests.console.conftest import PASSWORD, Browser, put_operator, put_store, uid

sim = WeChat()


# -- accounts -------------------------------------------------------------------------------


def test_an_operator_is_created_then_reset_and_only_a_hash_is_stored(client, admin_headers):
    username = uid("op")
    body = {"password": PASSWORD, "role": "admin"}
    created = client.http.put(f"/admin/operators/{username}", headers=admin_headers, body=json.dumps(body))
    assert created.status_code == 201 and json.loads(created.body) == {
        "username": username,
        "role": "admin",
        "store_id": None,
    }
    row = OperatorRow.get(operator_pk(username), OPERATOR)
    assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    again = client.http.put(f"/admin/operators/{username}", headers=admin_headers, body=json.dumps(body))
    assert again.status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"password": "short", "role": "admin"}, 400, "invalid_password"),
        ({"password": PASSWORD, "role": "owner"}, 400, "invalid_role"),
        ({"password": PASSWORD, "role": "store"}, 422, "store_required"),
        ({"password": PASSWORD, "role": "store", "store_id": "no-such-store"}, 404, "store_not_found"),
    ],
)
def test_a_bad_operator_is_refused_and_nothing_is_stored(client, admin_headers, body, status, code):
    username = uid("op")
    response = client.http.put(f"/admin/operators/{username}", headers=admin_headers, body=json.dumps(body))
    assert (response.status_code, json.loads(response.body)["error"]) == (status, code)
    assert operators.get_operator(username) is None


def test_operators_need_the_admin_key(client):
    response = client.http.put(
        "/admin/operators/someone", headers={"Content-Type": "application/json"}, body="{}"
    )
    assert response.status_code == 401


# -- sign-in, lockout, the cookie -------------------------------------------------------------


def test_signing_in_sets_a_strict_httponly_expiring_cookie_for_the_console(client, admin_headers, browser):
    username = put_operator(client, admin_headers)
    device: Browser = browser()
    signed = device.login(username)
    assert signed.status == 303 and signed.path() == "/console/"
    (cookie,) = [c for c in device.set_cookies if c.startswith("console_session=")]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert re.search(r"Max-Age=\d+", cookie) and "Secure" not in cookie  # http locally
    assert device.get("/console/").status == 200


def test_over_https_the_cookie_is_secure(client, admin_headers, browser, monkeypatch):
    from functions.core.config import reset_settings

    username = put_operator(client, admin_headers)
    monkeypatch.setenv("H5_BASE_URL", "https://shop.example.com")
    reset_settings()
    try:
        device: Browser = browser()
        assert device.login(username).status == 303
        assert any("Secure" in c for c in device.set_cookies if c.startswith("console_session="))
    finally:
        monkeypatch.undo()
        reset_settings()


def test_without_a_session_every_page_sends_you_to_sign_in(browser):
    device: Browser = browser()
    answer = device.get("/console/slots")
    assert answer.status == 303 and answer.path() == "/console/login?next=%2Fconsole%2Fslots"
    assert device.get(answer.path()).status == 200


def test_a_customer_session_is_not_an_operator_session(browser):
    from functions.core.session import issue_token

    device: Browser = browser()
    device.cookies["console_session"] = issue_token("1/anyone")
    assert device.get("/console/").status == 303


def test_five_failures_lock_the_account_for_fifteen_minutes(client, admin_headers, browser):
    username = put_operator(client, admin_headers)
    device: Browser = browser()
    # Four wrong passwords: 401 each, and the right one would still work
    answers = [device.login(username, "wrong password!").status for _ in range(5)]
    # The fifth answers 401 too; every attempt after it is 423, the right password included
    assert answers == [401] * 5
    assert device.login(username, "wrong password!").status == 423
    locked = device.login(username)
    assert locked.status == 423 and "锁定" in locked.text and "console_session" not in device.cookies
    # Fifteen minutes later the right password works, and the count starts again
    clock.set_now(clock.now() + timedelta(minutes=15, seconds=1))
    assert device.login(username).status == 303


def test_a_success_resets_the_count(client, admin_headers, browser):
    username = put_operator(client, admin_headers)
    device: Browser = browser()
    assert [device.login(username, "nope nope nope").status for _ in range(4)] == [401] * 4
    assert device.login(username).status == 303
    assert [device.login(username, "nope nope nope").status for _ in range(4)] == [401] * 4


def test_racing_wrong_passwords_get_exactly_five_401s(client, admin_headers, patient_clients):
    username = put_operator(client, admin_headers)

    def attempt(_: int) -> str:
        try:
            operators.sign_in(username, "wrong password!")
        except Exception as refusal:  # noqa: BLE001 - the code is the answer
            return getattr(refusal, "code", repr(refusal))
        return "signed in"

    with ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(attempt, range(12)))
    assert codes.count("wrong_password") == 5 and codes.count("account_locked") == 7, codes


def test_unknown_usernames_are_a_401_like_a_wrong_password(browser):
    assert browser().login("nobody-" + uid("x")).status == 401


def test_a_password_reset_ends_the_sessions_signed_before_it(client, admin_headers, browser):
    username = put_operator(client, admin_headers)
    device: Browser = browser()
    assert device.login(username).status == 303
    body = {"password": PASSWORD + "!", "role": "admin"}
    client.http.put(f"/admin/operators/{username}", headers=admin_headers, body=json.dumps(body))
    assert device.get("/console/").status == 303  # back to sign-in


def test_next_never_leaves_the_console(client, admin_headers, browser):
    username = put_operator(client, admin_headers)
    for target in ["https://evil.example/", "//evil.example/console/", "/h5/me", "/console/\\evil"]:
        device: Browser = browser()
        answer = device.post("/console/login", {"username": username, "password": PASSWORD, "next": target})
        assert answer.status == 303 and answer.path() == "/console/"


# -- CSRF -------------------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_changes_nothing(client, admin_headers, admin, sandbox):
    store_id = put_store(client, admin_headers)
    before = len(sandbox.state.qrcodes)
    for token in ["", "forged", Browser(client).cookies.get("x", "x")]:
        answer = admin.post(f"/console/stores/{store_id}/qrcodes", {"csrf_token": token, "staff": "a"})
        assert answer.status == 403 and "页面已过期" in answer.text
    assert len(sandbox.state.qrcodes) == before
    assert not [e for e in audit.recent(days=1) if e.store_id == store_id]


def test_another_operators_csrf_token_is_refused(client, admin_headers, admin, browser):
    other = browser()
    assert other.login(put_operator(client, admin_headers)).status == 303
    token = other.get("/console/slots").csrf
    answer = admin.post("/console/notifications/redrive", {"csrf_token": token, "queue": "notifications-dlq"})
    assert answer.status == 403


# -- pages with data ----------------------------------------------------------------------------


def test_the_overview_draws_each_store_and_the_staff_leaderboard(client, admin_headers, admin):
    store_id = put_store(client, admin_headers, name="徐汇美罗城店")
    day = clock.business_date()
    txn.run(
        [
            stats.counters_op(
                store_id, {"scans": 7, "new_followers": 5, "bookings": 3, "redemptions": 2}, day
            ),
            stats.staff_counters_op(store_id, "li-si", {"scans": 4, "new_followers": 4, "bookings": 2}, day),
        ]
    )
    page = admin.get("/console/")
    assert page.status == 200
    # a funnel and daily lines per store, with axes, and the store's Chinese name in the title
    assert "徐汇美罗城店 · 转化漏斗" in page.text and "徐汇美罗城店 · 每日趋势" in page.text
    assert page.text.count("<svg") >= 5 and "日期" in page.text
    assert "li-si" in page.text  # the leaderboard
    data = json.loads(admin.get(f"/console/stores/{store_id}/stats.json").text)
    assert data["days"][-1]["new_followers"] == 5 and data["staff"][0]["new_followers"] == 4


def test_a_follow_through_a_staff_code_and_their_followers_booking_count_for_the_staff(
    client, admin_headers, admin, area
):
    from functions.bookings import domain as bookings
    from functions.bookings.requests import BookingRequest

    store_id = put_store(client, admin_headers)
    scene = qr_scene(client, store_id, staff_id="wang-wu")
    openid = uid("o").replace("-", "_")
    status, _ = deliver(client, sim, sim.event(openid, "subscribe", f"qrscene_{scene}"))
    assert status == 200
    _, slot_ids = area()
    order_id = record_order(openid)
    bookings.book(openid, BookingRequest(slot_ids[0], order_id, "上海市静安区南京西路1号", "13800138000"))
    day = clock.business_date()
    assert stats.staff_totals(store_id, day, day) == {
        "wang-wu": {"scans": 1, "new_followers": 1, "bookings": 1}
    }


def test_creating_a_qr_code_names_the_staff_member_and_its_card_prints_on_a6(
    client, admin_headers, admin, sandbox
):
    store_id = put_store(client, admin_headers, name="静安嘉里店")
    made = admin.submit(
        f"/console/stores/{store_id}",
        f"/console/stores/{store_id}/qrcodes",
        {"staff": "zhao-liu", "staff_name": "赵六", "permanent": "on"},
    )
    assert made.status == 303 and made.path().startswith(f"/console/stores/{store_id}/card?scene=")
    card = admin.get(made.path())
    assert card.status == 200 and "静安嘉里店" in card.text and "服务顾问：赵六" in card.text
    (code,) = [
        q for q in sandbox.state.qrcodes if q["action_info"]["scene"]["scene_str"] == f"{store_id}/zhao-liu"
    ]
    assert f'src="{sandbox.url}/cgi-bin/showqrcode?ticket=' in card.text
    assert sandbox.url in card.headers["Content-Security-Policy"]  # the picture may load
    # the sandbox draws the ticket's code as a real PNG
    import requests

    picture = requests.get(f"{sandbox.url}/cgi-bin/showqrcode", params={"ticket": code["ticket"]}, timeout=5)
    assert picture.status_code == 200 and picture.content.startswith(b"\x89PNG")
    assert "size: A6" in (client.http.get("/h5/static/console.css").body.decode())
    store_page = admin.get(f"/console/stores/{store_id}")
    assert "赵六" in store_page.text and "打印柜台卡" in store_page.text


def test_slots_show_capacity_booked_and_remaining_and_lowering_below_booked_is_refused(admin, area):
    from functions.bookings import domain as bookings
    from functions.bookings.requests import BookingRequest

    area_id, slot_ids = area(name="浦东新区", capacity=2)
    key = slots.parse_slot_id(slot_ids[0])
    openid = uid("o").replace("-", "_")
    bookings.book(openid, BookingRequest(slot_ids[0], record_order(openid), "上海浦东", "13800138000"))
    page = admin.get(f"/console/slots?area={area_id}&from={key.date}")
    assert page.status == 200 and "浦东新区" in page.text and "已约 1 · 剩 <strong>1</strong>" in page.text
    fields = {"area": area_id, "date": key.date, "window": key.window}
    refused = admin.submit(
        page_path := f"/console/slots?area={area_id}", "/console/slots", {**fields, "capacity": "0"}
    )
    assert refused.status == 409 and "booked" in refused.text
    assert slots.get_slot(key).capacity == 2
    saved = admin.submit(page_path, "/console/slots", {**fields, "capacity": "5"})
    assert saved.status == 303 and slots.get_slot(key).capacity == 5
    assert areas.name_of(area_id) == "浦东新区"


def test_campaigns_are_created_issued_and_counted(client, admin_headers, admin):
    campaign_id = uid("cp")
    made = admin.submit(
        "/console/campaigns",
        "/console/campaigns",
        {
            "campaign_id": campaign_id,
            "title": "满200减20",
            "kind": "fixed",
            "amount": "20",
            "min_spend": "200",
            "total_limit": "10",
            "per_customer_limit": "1",
        },
    )
    assert made.status == 303, made.text
    campaign = campaigns.get_campaign(campaign_id)
    assert campaign.discount_cents == 2000 and campaign.min_spend_cents == 20000
    openids = [uid("o").replace("-", "_") for _ in range(3)]
    issued = admin.submit(
        "/console/campaigns", f"/console/campaigns/{campaign_id}/issue", {"openids": "\n".join(openids)}
    )
    assert issued.status == 303 and "issued-3-3" in issued.location
    assert campaigns.campaign_counts(campaign) == {"issued": 3, "claimed": 0, "redeemed": 0}
    page = admin.get("/console/campaigns")
    assert "满200减20" in page.text
    # a bad openid refuses the whole list, and nothing is issued
    refused = admin.submit(
        "/console/campaigns", f"/console/campaigns/{campaign_id}/issue", {"openids": "good_one bad<id>"}
    )
    assert refused.status == 400 and campaigns.campaign_counts(campaign)["issued"] == 3


def test_notifications_show_counts_and_problems_and_a_dlq_is_redriven(admin):
    report.record_outcome(uid("n"), "coupon_issued", "sent")
    report.record_outcome(uid("n"), "coupon_issued", "failed:wechat_40003", "invalid openid")
    sqs = aws_client("sqs")
    dlq = sqs.get_queue_url(QueueName=resource_name("reminder-shards-dlq"))["QueueUrl"]
    source = sqs.get_queue_url(QueueName=resource_name("reminder-shards"))["QueueUrl"]
    marker = uid("redrive")
    for n in range(13):
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"marker": marker, "n": n}))
    page = admin.get("/console/notifications")
    assert (
        "wechat_40003" in page.text and "invalid openid" in page.text and "reminder-shards-dlq" in page.text
    )
    moved = admin.submit(
        "/console/notifications", "/console/notifications/redrive", {"queue": "reminder-shards-dlq"}
    )
    assert moved.status == 303 and "redrive-13" in moved.location
    back = []
    while True:
        got = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not got:
            break
        for message in got:
            body = json.loads(message["Body"])
            if body.get("marker") == marker:
                back.append(body["n"])
            sqs.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])
    assert sorted(back) == list(range(13))
    entries = [e for e in audit.recent(days=1) if e.action == "dlq.redrive" and e.detail == "13 moved back"]
    assert entries


def test_every_action_is_audited_with_who_and_when_and_admins_see_it(client, admin_headers, browser, sandbox):
    username = put_operator(client, admin_headers)
    device: Browser = browser()
    device.login(username)
    store_id = put_store(client, admin_headers)
    device.submit(
        f"/console/stores/{store_id}",
        f"/console/stores/{store_id}/qrcodes",
        {"staff": "", "staff_name": ""},
    )
    (entry,) = [e for e in audit.recent(days=1) if e.store_id == store_id]
    assert (entry.who, entry.role, entry.action, entry.target) == (
        username,
        "admin",
        "qrcode.create",
        store_id,
    )
    assert entry.at.startswith(clock.iso(clock.now())[:10])
    page = device.get("/console/audit")
    assert page.status == 200 and username in page.text and "生成二维码" in page.text


def test_reminder_runs_are_listed_per_day(admin):
    page = admin.get("/console/reminders")
    assert page.status == 200 and clock.business_date().isoformat() in page.text
