"""The store inbox through the real routes (CONTRACT §11): intake by the WeChat callback,
answers through the notification queue, close and reopen, escalation on the settable clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from functions.core import clock, txn
from functions.core.config import get_settings
from functions.customers.domain import get_customer
from functions.inbox import domain
from functions.inbox.models import ConversationRow
from functions.notifications.domain import get_notification
from infra.local.wechat_sim import deliver
from tests.conftest import drain
from tests.inbox.conftest import ask, call, conversation_of, follower, inbox, sim

# A cursor of the right shape for another store's list: refused, not passed to DynamoDB.
FORGED = domain._encode_cursor(
    {k: {"S": v} for k, v in {"pk": "CONV#cv-1", "sk": "CONV", "gsi1pk": "y#open", "gsi1sk": "t"}.items()}
)


def figures(store_id: str) -> domain.ServiceFigures:
    today = clock.business_date()
    return domain.service_figures(store_id, today - timedelta(days=3), today + timedelta(days=3))


# -- intake -----------------------------------------------------------------------------------


def test_a_question_delivered_three_times_is_stored_once(client, store):
    # Given a follower won by the store
    openid = follower(client, store)
    # When WeChat delivers their question, then retries it twice (same MsgId and CreateTime)
    xml = sim.text(openid, "冰箱什么时候到", msg_id="77", create_time=clock.now_ts())
    answers = [deliver(client, sim, xml, nonce=str(n)) for n in range(3)]
    # Then every delivery is answered `success` and the store's inbox holds it once
    assert answers == [(200, "success")] * 3
    found = conversation_of(client, store, openid)
    assert [m["text"] for m in found["messages"]] == ["冰箱什么时候到"]
    assert found["status"] == "open" and found["store_id"] == store


def test_a_follower_without_a_store_goes_to_hq(client):
    openid = follower(client, None)
    assert ask(client, openid, "你好，在吗") == (200, "success")
    assert conversation_of(client, "hq", openid)["messages"][0]["from"] == "customer"


def test_images_and_voice_keep_their_media_id_and_text_is_capped(client, store):
    openid = follower(client, store)
    now = clock.now_ts()
    for kind, media in (("image", "MEDIA_IMG_1"), ("voice", "MEDIA_VOICE_1")):
        xml = (
            f"<xml><ToUserName>gh_x</ToUserName><FromUserName>{openid}</FromUserName>"
            f"<CreateTime>{now}</CreateTime><MsgType>{kind}</MsgType><MediaId>{media}</MediaId>"
            + ("<Recognition>冰箱什么时候到</Recognition>" if kind == "voice" else "")
            + f"<MsgId>{now}{len(media)}</MsgId></xml>"
        )
        assert deliver(client, sim, xml) == (200, "success")
    long_text = "冰" * 1000  # 3000 bytes of UTF-8
    assert ask(client, openid, long_text)[0] == 200
    messages = conversation_of(client, store, openid)["messages"]
    assert [(m["type"], m.get("media_id")) for m in messages[:2]] == [
        ("image", "MEDIA_IMG_1"),
        ("voice", "MEDIA_VOICE_1"),
    ]
    assert messages[1]["text"] == "冰箱什么时候到"  # WeChat's speech recognition, when it sends one
    assert messages[2]["text"] == "冰" * 682 and len(messages[2]["text"].encode()) <= 2048


def test_keywords_are_still_answered_by_their_rules(client, store):
    openid = follower(client, store)
    status, reply = ask(client, openid, "我的快递到哪了")
    assert status == 200 and reply != "success"
    assert inbox(client, store)["conversations"] == [] or all(
        c["openid"] != openid for c in inbox(client, store)["conversations"]
    )


def test_the_store_acknowledgement_is_sent_at_most_once_a_day(client, store):
    assert (
        call(
            client, "PUT", f"/admin/inbox-settings/{store}", {"ack_text": "已收到，门店客服会尽快回复您"}
        ).status_code
        == 200
    )
    openid = follower(client, store)
    first = ask(client, openid, "第一个问题")
    second = ask(client, openid, "第二个问题")
    assert first[1]["Content"] == "已收到，门店客服会尽快回复您"
    assert second == (200, "success")
    # the next business day, once again
    clock.set_now(clock.now() + timedelta(days=1))
    try:
        path, body = sim.request(
            sim.text(openid, "第二天", create_time=clock.now_ts()), timestamp=clock.now_ts()
        )
        response = client.http.post(path, headers={"Content-Type": "text/xml"}, body=body)
        assert sim.open_reply(response.body.decode())["Content"] == "已收到，门店客服会尽快回复您"
    finally:
        clock.set_now(None)


# -- answering ------------------------------------------------------------------------------


def test_a_reply_is_queued_as_a_customer_service_message_and_reaches_wechat(client, store, sandbox):
    openid = follower(client, store)
    ask(client, openid, "冰箱什么时候到")
    sandbox.follower_wrote(openid)
    cid = conversation_of(client, store, openid)["conversation_id"]
    response = call(client, "POST", f"/admin/inbox/{cid}/replies", {"text": "明天上午送到", "operator": "li"})
    assert response.status_code == 202, response.json_body
    notification_id = response.json_body["notification_id"]
    assert get_notification(notification_id)["status"] == "queued"
    drain("notifications", "notification_worker")
    assert get_notification(notification_id)["status"] == "sent"
    (sent,) = [m for m in sandbox.state.messages if m["touser"] == openid and m["kind"] == "custom"]
    assert sent["msgtype"] == "text" and sent["text"] == {"content": "明天上午送到"}
    # the conversation shows the answer, and is no longer waiting
    found = conversation_of(client, store, openid)
    assert [m["from"] for m in found["messages"]] == ["customer", "staff"]
    assert found["awaiting_since"] is None
    assert figures(store).first_responses == 1


def test_a_reply_after_48_hours_is_refused_and_nothing_is_queued(client, store):
    openid = follower(client, store)
    ask(client, openid, "还在吗")
    cid = conversation_of(client, store, openid)["conversation_id"]
    clock.set_now(clock.now() + timedelta(hours=48, minutes=1))
    response = call(client, "POST", f"/admin/inbox/{cid}/replies", {"text": "抱歉久等"})
    assert response.status_code == 409 and response.json_body["error"] == "window_closed"
    clock.set_now(None)
    assert [m.sender for m in domain.get_conversation(cid).messages] == ["customer"]


def test_wechat_45015_ends_the_queued_reply_failed_window_closed(client, store, sandbox):
    # Given a question we stored, but WeChat's window for the follower has closed (it says so)
    openid = follower(client, store)
    ask(client, openid, "在吗")
    sandbox.follower_wrote(openid, at=clock.now_ts() - 49 * 3600)
    cid = conversation_of(client, store, openid)["conversation_id"]
    notification_id = call(client, "POST", f"/admin/inbox/{cid}/replies", {"text": "在的"}).json_body[
        "notification_id"
    ]
    drain("notifications", "notification_worker")
    record = get_notification(notification_id)
    assert record["status"] == "failed:window_closed" and "45015" in record["last_error"]


def test_wechat_43004_marks_the_follower_unsubscribed(client, store, sandbox):
    openid = follower(client, store)
    ask(client, openid, "在吗")
    sandbox.follower_wrote(openid)
    sandbox.state.unfollowed.add(openid)
    cid = conversation_of(client, store, openid)["conversation_id"]
    notification_id = call(client, "POST", f"/admin/inbox/{cid}/replies", {"text": "在的"}).json_body[
        "notification_id"
    ]
    drain("notifications", "notification_worker")
    assert get_notification(notification_id)["status"] == "failed:not_following"
    assert get_customer(openid).unsubscribed


def test_close_and_a_new_message_reopens_with_the_same_id(client, store):
    openid = follower(client, store)
    ask(client, openid, "第一次")
    cid = conversation_of(client, store, openid)["conversation_id"]
    assert call(client, "POST", f"/admin/inbox/{cid}/close").json_body["status"] == "closed"
    assert call(client, "POST", f"/admin/inbox/{cid}/close").status_code == 200  # again: no change
    assert conversation_of(client, store, openid, "closed")["conversation_id"] == cid
    ask(client, openid, "又来了")
    reopened = conversation_of(client, store, openid)
    assert reopened["conversation_id"] == cid and reopened["status"] == "open"
    assert [m["text"] for m in reopened["messages"]] == ["第一次", "又来了"]
    assert all(c["openid"] != openid for c in inbox(client, store, "closed")["conversations"])


def test_newest_first_with_a_cursor(client, store):
    openids = [follower(client, store) for _ in range(3)]
    for n, openid in enumerate(openids):
        clock.set_now(clock.now() + timedelta(seconds=n + 1))  # distinct, increasing times
        domain_reply, ops = domain.intake(store, domain.Incoming(openid, "text", f"k{n}", text=f"q{n}"))

        txn.run(ops)
    clock.set_now(None)
    seen, cursor = [], None
    while True:
        page, cursor = domain.list_conversations(store, "open", cursor, limit=2)
        seen += [c.openid for c in page]
        if cursor is None:
            break
        assert call(client, "GET", f"/admin/inbox?store_id={store}&cursor={cursor}").status_code == 200
    assert seen == list(reversed(openids))


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/admin/inbox?status=open", None, 400, "store_required"),
        ("/admin/inbox?store_id=x&status=waiting", None, 400, None),
        ("/admin/inbox?store_id=x&cursor=not-a-cursor", None, 400, "invalid_cursor"),
        ("/admin/inbox?store_id=x&cursor=" + FORGED, None, 400, "invalid_cursor"),
        ("/admin/inbox/cv-none/replies", {"text": "hi"}, 404, "conversation_not_found"),
        ("/admin/inbox/cv-none/replies", {"text": ""}, 400, None),
        ("/admin/inbox/cv-none/replies", {"text": "x" * 2049}, 400, None),
        ("/admin/inbox/cv-none/close", None, 404, "conversation_not_found"),
    ],
)
def test_bad_requests_get_a_clear_4xx(client, path, body, status, code):
    method = "GET" if path.startswith("/admin/inbox?") else "POST"
    response = call(client, method, path, body)
    assert response.status_code == status, response.json_body
    if code:
        assert response.json_body["error"] == code


def test_the_routes_need_the_admin_key(client):
    assert client.http.get("/admin/inbox?store_id=hq").status_code == 401


# -- escalation -----------------------------------------------------------------------------


def escalate(client) -> int:
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    return client.lambda_.invoke("inbox_escalation", event).payload["escalated"]


def test_escalation_fires_once_after_the_timeout_and_never_for_an_answered_one(client, store, monkeypatch):
    # Given two questions: one left unanswered, one answered at once
    waiting, answered = follower(client, store), follower(client, store)
    ask(client, waiting, "有人吗")
    ask(client, answered, "有人吗")
    cid = conversation_of(client, store, answered)["conversation_id"]
    assert call(client, "POST", f"/admin/inbox/{cid}/replies", {"text": "您好"}).status_code == 202
    # Reads are by index: no scan
    monkeypatch.setattr(ConversationRow, "scan", lambda *a, **k: pytest.fail("escalation scanned"))
    # Before INBOX_ESCALATE_MIN (30) minutes nothing escalates
    clock.set_now(clock.now() + timedelta(minutes=29))
    escalate(client)
    assert conversation_of(client, store, waiting)["status"] == "open"
    # After it, the unanswered one escalates, once, however often the job runs
    clock.set_now(clock.now() + timedelta(minutes=2))
    escalate(client)
    escalate(client)
    clock.set_now(None)
    assert conversation_of(client, store, waiting, "escalated")["escalated_at"]
    assert conversation_of(client, store, answered)["status"] == "open"
    assert figures(store).escalations == 1
    # HQ's queue shows it
    hq = inbox(client, None, "escalated")["conversations"]
    assert any(c["openid"] == waiting for c in hq)
    # A new message keeps it escalated; an answer returns it to the store's open list
    ask(client, waiting, "还有人吗")
    esc = conversation_of(client, store, waiting, "escalated")
    assert (
        call(client, "POST", f"/admin/inbox/{esc['conversation_id']}/replies", {"text": "抱歉"}).status_code
        == 202
    )
    assert conversation_of(client, store, waiting)["status"] == "open"
    assert figures(store).escalations == 1


def test_the_escalation_setting_is_read_from_the_environment(settings_env):
    settings_env(INBOX_ESCALATE_MIN="5")

    assert get_settings().inbox_escalate_min == 5
    settings_env(INBOX_ESCALATE_MIN="0")
    with pytest.raises(ValueError):
        get_settings()
    settings_env(INBOX_ESCALATE_MIN="30")
