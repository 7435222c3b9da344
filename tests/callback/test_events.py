"""The event/message table of CONTRACT §2, told as stories through the real app."""

from __future__ import annotations

import threading
import time

import pytest

from functions.callback import rules, storage
from functions.callback.message import Message
from functions.callback.xmlmsg import parse
from functions.customers.domain import get_customer, touches
from functions.stores.domain import UNKNOWN_STORE
from infra.local.wechat_sim import WeChat, deliver
from tests.callback.stories import counters, new_id, open_store, qr_scene
from tests.conftest import wait_for

sim = WeChat()


@pytest.mark.parametrize("mode", ["plain", "compat", "aes"])
def test_subscribe_via_a_staff_code_attributes_the_follower_and_welcomes_with_the_store_text(client, mode):
    # Given a store with its own welcome and a code for one of its staff
    store_id, welcome = open_store(client)
    scene = qr_scene(client, store_id, staff_id="alice")
    openid = new_id("o")
    # When a new follower subscribes by scanning it
    status, reply = deliver(
        client, sim, sim.event(openid, "subscribe", f"qrscene_{scene}", Ticket="tk"), mode
    )
    # Then the store's welcome comes back as a text reply to them
    assert status == 200
    assert reply["MsgType"] == "text" and reply["Content"] == welcome
    assert reply["ToUserName"] == openid and reply["FromUserName"] == sim.account
    # And the customer is subscribed and attributed to the store and the staff member
    customer = get_customer(openid)
    assert customer.subscribed
    assert (customer.first_store_id, customer.first_staff_id, customer.first_scene) == (
        store_id,
        "alice",
        scene,
    )
    assert [t.scene for t in touches(openid)] == [scene]
    # And the store counted one scan and one new follower today
    assert counters(store_id) == {
        "scans": 1,
        "new_followers": 1,
        "unsubscribes": 0,
        "bookings": 0,
        "redemptions": 0,
    }


def test_a_later_scan_is_a_touch_and_never_overwrites_the_first(client):
    first_store, _ = open_store(client)
    second_store, second_welcome = open_store(client)
    first_scene = qr_scene(client, first_store)  # store code: no staff
    second_scene = qr_scene(client, second_store, staff_id="bob", campaign="spring")
    openid = new_id("o")
    deliver(client, sim, sim.event(openid, "subscribe", f"qrscene_{first_scene}"))
    # When the follower later scans another store's staff code
    status, reply = deliver(client, sim, sim.event(openid, "SCAN", second_scene))
    # Then they get that store's welcome, the scan is counted there (not as a new follower)
    assert reply["Content"] == second_welcome
    assert counters(second_store)["scans"] == 1 and counters(second_store)["new_followers"] == 0
    # And the first touch stands, staff included (the first code had none)
    customer = get_customer(openid)
    assert (customer.first_store_id, customer.first_staff_id, customer.first_scene) == (
        first_store,
        None,
        first_scene,
    )
    assert [t.store_id for t in touches(openid)] == [first_store, second_store]
    assert touches(openid)[1].campaign == "spring"


def test_subscribe_without_scene_gets_the_default_welcome(client):
    openid = new_id("o")
    status, reply = deliver(client, sim, sim.event(openid, "subscribe"))
    assert reply["Content"] == rules.DEFAULT_WELCOME
    customer = get_customer(openid)
    assert customer.subscribed and customer.first_store_id is None


@pytest.mark.parametrize("scene", ["nosuchstore", "123", "a/b/c/d", "qr with spaces"])
def test_an_unknown_scene_is_welcomed_by_default_and_counted_as_unknown(client, scene):
    before = counters(UNKNOWN_STORE)
    openid = new_id("o")
    status, reply = deliver(client, sim, sim.event(openid, "subscribe", f"qrscene_{scene}"))
    assert reply["Content"] == rules.DEFAULT_WELCOME
    assert get_customer(openid).first_store_id is None and touches(openid) == []
    assert counters(UNKNOWN_STORE)["scans"] == before["scans"] + 1


def test_unsubscribe_marks_the_customer_and_counts_against_their_first_store(client):
    store_id, _ = open_store(client)
    scene = qr_scene(client, store_id)
    openid = new_id("o")
    deliver(client, sim, sim.event(openid, "subscribe", f"qrscene_{scene}"))
    status, reply = deliver(client, sim, sim.event(openid, "unsubscribe"))
    assert (status, reply) == (200, "success")
    assert not get_customer(openid).subscribed
    assert counters(store_id)["unsubscribes"] == 1
    # And subscribing again re-activates the record without a new first touch
    deliver(client, sim, sim.event(openid, "subscribe"))
    assert get_customer(openid).subscribed and get_customer(openid).first_store_id == store_id


@pytest.mark.parametrize(
    ("xml_of", "consent", "text"),
    [
        (lambda o: sim.event(o, "CLICK", "REMINDERS_ON"), True, rules.REMINDERS_ON_TEXT),
        (lambda o: sim.event(o, "CLICK", "REMINDERS_OFF"), False, rules.REMINDERS_OFF_TEXT),
        (lambda o: sim.text(o, "退订"), False, rules.REMINDERS_OFF_TEXT),
        (lambda o: sim.text(o, " td "), False, rules.REMINDERS_OFF_TEXT),
    ],
)
def test_reminder_consent_by_menu_or_keyword(client, xml_of, consent, text):
    openid = new_id("o")
    deliver(client, sim, sim.event(openid, "CLICK", "REMINDERS_ON", create_time=int(time.time()) - 5))
    status, reply = deliver(client, sim, xml_of(openid))
    assert reply["Content"] == text
    assert get_customer(openid).reminder_consent is consent


@pytest.mark.parametrize(
    ("xml_of", "module"),
    [
        (lambda o: sim.event(o, "CLICK", "MY_SHIPMENTS"), "shipments_of"),
        (lambda o: sim.event(o, "CLICK", "MY_BOOKINGS"), "bookings_of"),
        (lambda o: sim.event(o, "CLICK", "MY_COUPONS"), "coupons_of"),
        (lambda o: sim.text(o, "我的快递到哪了"), "shipments_of"),
        (lambda o: sim.text(o, "查物流"), "shipments_of"),
        (lambda o: sim.text(o, "预约送货"), "bookings_of"),
        (lambda o: sim.text(o, "有优惠券吗"), "coupons_of"),
    ],
)
def test_menu_clicks_and_keywords_answer_with_the_customers_summary(client, monkeypatch, xml_of, module):
    # `module` names the summary function the rules call (logistics, bookings, coupons).
    monkeypatch.setattr(rules, module, lambda openid: f"{module}:{openid}")
    openid = new_id("o")
    status, reply = deliver(client, sim, xml_of(openid))
    assert reply["Content"] == f"{module}:{openid}"


def test_template_delivery_report_updates_the_notification(client, monkeypatch):
    seen = []
    monkeypatch.setattr(rules, "mark_delivery", lambda msgid, status: seen.append((msgid, status)) or True)
    status, reply = deliver(
        client, sim, sim.event("o1", "TEMPLATESENDJOBFINISH", MsgID="200163836", Status="failed:user block")
    )
    assert (status, reply) == (200, "success")
    assert seen == [("200163836", "failed:user block")]


@pytest.mark.parametrize(
    "xml",
    [sim.event("o1", "VIEW", "https://example.com"), sim.event("o1", "LOCATION")],
    ids=["view", "location"],
)
def test_anything_else_is_answered_success(client, xml):
    assert deliver(client, sim, xml) == (200, "success")


def test_a_redelivery_has_no_second_effect_and_gets_the_same_reply(client):
    store_id, welcome = open_store(client)
    scene = qr_scene(client, store_id)
    openid = new_id("o")
    xml = sim.event(openid, "subscribe", f"qrscene_{scene}")
    first = deliver(client, sim, xml)
    # WeChat retries (after 5 s, up to three times) with a new nonce and timestamp
    again = [deliver(client, sim, xml, nonce=str(n)) for n in range(3)]
    assert all(r[1]["Content"] == first[1]["Content"] == welcome for r in again)
    assert counters(store_id)["scans"] == 1 and counters(store_id)["new_followers"] == 1
    assert len(touches(openid)) == 1


def test_the_stored_reply_is_returned_even_if_the_store_changed_its_welcome(client):
    store_id, welcome = open_store(client)
    scene = qr_scene(client, store_id)
    xml = sim.event(new_id("o"), "subscribe", f"qrscene_{scene}")
    deliver(client, sim, xml)
    open_store_update = client.http.put(
        f"/admin/stores/{store_id}",
        headers={"X-Api-Key": "dev-admin-key", "Content-Type": "application/json"},
        body='{"name": "Store", "welcome": "new text"}',
    )
    assert open_store_update.status_code == 200
    assert deliver(client, sim, xml)[1]["Content"] == welcome


def test_an_expired_dedupe_record_no_longer_counts(client):
    # Given a message whose dedupe record has expired (TTL deletion lags; moto never deletes)
    openid = new_id("o")
    message = Message.from_fields(parse(sim.event(openid, "CLICK", "REMINDERS_ON", create_time=1700000000)))
    storage.commit_once(message.dedupe_key, "old", [])
    from functions.callback.models import CallbackRecordRow

    CallbackRecordRow(message.dedupe_key).update(actions=[CallbackRecordRow.expiration.set(1)])
    assert storage.stored_record(message.dedupe_key) is None
    # When it arrives again, it is handled as new
    status, reply = deliver(
        client, sim, sim.event(openid, "CLICK", "REMINDERS_ON", create_time=1700000000), timestamp=None
    )
    assert reply["Content"] == rules.REMINDERS_ON_TEXT
    assert get_customer(openid).reminder_consent is True
    assert storage.stored_record(message.dedupe_key)["reply"] == rules.REMINDERS_ON_TEXT


def test_when_dynamodb_fails_the_answer_is_503_then_the_retry_stores_it_once(client, monkeypatch):
    from pynamodb.connection.base import Connection
    from pynamodb.exceptions import TransactWriteError

    # Given DynamoDB refuses every write
    working = Connection.transact_write_items

    def broken(*args, **kwargs):
        raise TransactWriteError("DynamoDB is down")

    monkeypatch.setattr(Connection, "transact_write_items", broken)
    openid = new_id("o")
    xml = sim.event(openid, "CLICK", "REMINDERS_ON")
    # When WeChat delivers a message whose effect must be stored
    status, body = deliver(client, sim, xml, retries=0)
    # Then the answer is a 5xx in our shape, never `success`, so that WeChat retries
    assert status == 503 and '"storage_unavailable"' in body
    assert get_customer(openid) is None
    # And once DynamoDB is back, WeChat's retry is stored, and a further retry changes nothing
    monkeypatch.setattr(Connection, "transact_write_items", working)
    for _ in range(2):
        status, reply = deliver(client, sim, xml)
        assert status == 200 and reply["Content"] == rules.REMINDERS_ON_TEXT
    assert get_customer(openid).reminder_consent is True


def test_a_read_that_fails_answers_503_too(client, monkeypatch):
    from pynamodb.exceptions import QueryError

    def broken(openid):
        raise QueryError("DynamoDB is down")

    monkeypatch.setattr(rules, "bookings_of", broken)
    status, body = deliver(client, sim, sim.event(new_id("o"), "CLICK", "MY_BOOKINGS"), retries=0)
    assert status == 503 and '"storage_unavailable"' in body


@pytest.fixture
def slow_dynamodb(aws, client):
    """DynamoDB whose answers come back late (requests reach it at once, so writes land)."""
    from functions.callback import handlers
    from tests.conftest import WECHAT_DEADLINE_S
    from tests.slow_proxy import SlowProxy, storage_through

    handlers.DEADLINE_S = WECHAT_DEADLINE_S  # the real deadline (restored by the autouse fixture)
    proxy = SlowProxy(aws)
    with storage_through(proxy):
        # A follow through a store's code while DynamoDB is still fast creates the connections
        # a callback uses (the scene's lookup has its own): creating a botocore client takes
        # over a second on a loaded machine, time that would be spent inside the deadline.
        scene = qr_scene(client, open_store(client)[0])
        assert deliver(client, sim, sim.event(new_id("o"), "subscribe", f"qrscene_{scene}"))[0] == 200
        yield proxy
    proxy.stop()


def test_a_dynamodb_answering_past_the_deadline_gets_503_and_the_retry_its_reply_once(client, slow_dynamodb):
    from functions.core.models import TableMeta

    store_id, welcome = open_store(client)
    scene = qr_scene(client, store_id)
    openid = new_id("o")
    xml = sim.event(openid, "subscribe", f"qrscene_{scene}")
    # Given DynamoDB answers each request only after 2.5 s, past the 2 s read timeout
    slow_dynamodb.delay = 2.5
    # When WeChat delivers a subscribe through a store's code
    started = time.monotonic()
    status, body = deliver(client, sim, xml, retries=0)
    took = time.monotonic() - started
    # Then the callback answers 503 before its deadline: the read timed out and no further
    # attempt was started that could have ended past the deadline, so nothing still runs
    assert status == 503 and '"deadline_exceeded"' in body
    # (the read waited out its timeout; how far inside the deadline it answered is wall-clock
    # time on a shared machine, so it is the refusal to start another attempt that is checked)
    assert took >= TableMeta.read_timeout_seconds
    assert not [t for t in threading.enumerate() if t.name.startswith("wechat-callback")]
    # And nothing was stored: the read came first and the commit was never sent
    slow_dynamodb.delay = 0
    assert get_customer(openid) is None and counters(store_id)["scans"] == 0
    # When DynamoDB is fast again, WeChat's retry is stored once, with the store's welcome
    for _ in range(2):
        status, reply = deliver(client, sim, xml)
        assert status == 200 and reply["Content"] == welcome
    assert counters(store_id)["scans"] == 1


def test_a_commit_whose_answer_is_late_lands_once_and_its_retry_gets_the_same_reply(client, slow_dynamodb):
    openid = new_id("o")
    xml = sim.event(openid, "CLICK", "REMINDERS_ON")
    # Given the commit reaches DynamoDB but its answer comes back after the read timeout
    slow_dynamodb.delay = 2.5
    status, body = deliver(client, sim, xml, retries=0)
    # Then the callback cannot know it was stored: 503, and WeChat retries
    assert status == 503 and '"deadline_exceeded"' in body
    slow_dynamodb.delay = 0
    # And the retry finds the commit that landed: the same reply, the effect once
    message = Message.from_fields(parse(xml))
    wait_for(lambda: storage.stored_record(message.dedupe_key) is not None, timeout=10)
    status, reply = deliver(client, sim, xml)
    assert status == 200 and reply["Content"] == rules.REMINDERS_ON_TEXT
    assert get_customer(openid).reminder_consent is True


def test_dynamodb_slower_than_usual_but_inside_the_deadline_is_answered(client, slow_dynamodb):
    slow_dynamodb.delay = 0.5
    openid = new_id("o")
    status, reply = deliver(client, sim, sim.event(openid, "CLICK", "REMINDERS_ON"))
    assert status == 200 and reply["Content"] == rules.REMINDERS_ON_TEXT


def test_an_attempt_that_cannot_finish_before_the_deadline_is_never_started():
    from functions.core import deadline
    from functions.customers.models import CustomerRow

    # Inside a budget shorter than one attempt's worst case (connect + read timeout)
    with deadline.within(0.5), pytest.raises(deadline.DeadlineExceeded):
        CustomerRow.get(new_id("o"), "PROFILE")


def test_a_delivery_still_contended_after_the_retries_answers_what_was_stored_or_503(client, monkeypatch):
    # Given DynamoDB keeps reporting a concurrent transaction
    from functions.core import txn

    real_run = txn.run
    key = new_id("k")

    def contended(ops, on_failed=None, retries=None):
        raise txn.Cancelled({"dedupe": txn.CONFLICT}, {"dedupe": None})

    monkeypatch.setattr(txn, "run", contended)
    # When nothing was stored (the contention was on shared items, a store's counters say)
    # Then the delivery is not answered as stored: WeChat must retry it
    with pytest.raises(txn.Cancelled):
        storage.commit_once(key, "reply", [])
    # When another delivery of the same message committed meanwhile, its reply stands
    monkeypatch.setattr(txn, "run", real_run)
    assert storage.commit_once(key, "first reply", []) == "first reply"
    monkeypatch.setattr(txn, "run", contended)
    assert storage.commit_once(key, "reply", []) == "first reply"

    # And any other cancellation is an error
    def refused(ops, on_failed=None, retries=None):
        raise txn.Cancelled({"customer": "ValidationError"}, {"customer": None})

    monkeypatch.setattr(txn, "run", refused)
    with pytest.raises(txn.Cancelled):
        storage.commit_once(new_id("k"), "reply", [])
