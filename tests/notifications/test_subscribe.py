"""Subscribe notifications (CONTRACT §15): grants from the callback, exactly once; each send
uses one grant, atomically with its claim; no grant, no send; the sent event records delivery."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from functions.core import txn
from functions.notifications import grants, templates, worker
from functions.notifications.domain import notify
from infra.local.wechat_sim import WeChat, deliver
from tests.notifications.conftest import VALUES, customer, drain_notifications, fault, record, sent_to

sim = WeChat()
SUB_COUPON = "SUB_COUPON_TEMPLATE"
BIZSEND = "cgi-bin/message/subscribe/bizsend"


@pytest.fixture
def coupon_by_subscribe(monkeypatch):
    """This stage sends coupon_issued as a subscribe notification (TEMPLATES_OVERRIDE)."""
    from functions.core.config import reset_settings

    override = {"templates": {"coupon": {"channel": "subscribe", "id": SUB_COUPON}}}
    monkeypatch.setenv("TEMPLATES_OVERRIDE", json.dumps(override))
    reset_settings()
    templates.reset()
    yield SUB_COUPON
    monkeypatch.delenv("TEMPLATES_OVERRIDE")
    reset_settings()
    templates.reset()


def popup(openid: str, choices: dict[str, str], create_time: int | None = None) -> str:
    items = "".join(
        f"<List><TemplateId><![CDATA[{t}]]></TemplateId><SubscribeStatusString><![CDATA[{s}]]>"
        "</SubscribeStatusString><PopupScene>2</PopupScene></List>"
        for t, s in choices.items()
    )
    return _event(
        openid,
        "subscribe_msg_popup_event",
        f"<SubscribeMsgPopupEvent>{items}</SubscribeMsgPopupEvent>",
        create_time,
    )


def change(openid: str, template_id: str, status: str) -> str:
    items = (
        f"<List><TemplateId><![CDATA[{template_id}]]></TemplateId>"
        f"<SubscribeStatusString><![CDATA[{status}]]></SubscribeStatusString></List>"
    )
    return _event(
        openid, "subscribe_msg_change_event", f"<SubscribeMsgChangeEvent>{items}</SubscribeMsgChangeEvent>"
    )


def sent_event(openid: str, template_id: str, msgid: int, code: int = 0, status: str = "success") -> str:
    items = (
        f"<List><TemplateId><![CDATA[{template_id}]]></TemplateId><MsgID>{msgid}</MsgID>"
        f"<ErrorCode>{code}</ErrorCode><ErrorStatus><![CDATA[{status}]]></ErrorStatus></List>"
    )
    return _event(
        openid, "subscribe_msg_sent_event", f"<SubscribeMsgSentEvent>{items}</SubscribeMsgSentEvent>"
    )


def _event(openid: str, event: str, inner: str, create_time: int | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{sim.account}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>{inner}</xml>"
    )


def grant(client, sandbox, openid: str, template_id: str, times: int = 1) -> None:
    """The follower accepts the popup `times` times: WeChat (the sandbox) keeps the grants and
    tells our callback."""
    for _ in range(times):
        requests.post(
            f"{sandbox.url}/sandbox/subscribe",
            json={"openid": openid, "template_ids": [template_id], "status": "accept"},
            timeout=5,
        ).raise_for_status()
        status, _ = deliver(client, sim, popup(openid, {template_id: "accept"}, create_time=_fresh_second()))
        assert status == 200


_seconds = iter(range(int(time.time()) - 200, 10**10))


def _fresh_second() -> int:
    # Two popups of one follower are two events: a different CreateTime each, as WeChat's are.
    return next(_seconds)


# -- grants from the callback -----------------------------------------------------------------


def test_a_popup_grants_each_accepted_template_once_however_often_wechat_delivers_it(client):
    # Given a follower who accepts two templates and rejects a third in one popup
    openid = customer()
    xml = popup(openid, {"T-A": "accept", "T-B": "accept", "T-C": "reject"})
    # When WeChat delivers the event three times (its retries)
    for _ in range(3):
        status, reply = deliver(client, sim, xml)
        assert status == 200 and reply == "success"
    # Then each accepted template has exactly one grant, the rejected one none
    assert [grants.grants(openid, t) for t in ("T-A", "T-B", "T-C")] == [1, 1, 0]
    # And a second popup (another event) adds one more
    deliver(client, sim, popup(openid, {"T-A": "accept"}, create_time=_fresh_second()))
    assert grants.grants(openid, "T-A") == 2


def test_turning_a_template_off_in_wechats_settings_takes_its_grants_away(client):
    openid = customer()
    deliver(client, sim, popup(openid, {"T-A": "accept"}, create_time=_fresh_second()))
    deliver(client, sim, popup(openid, {"T-A": "accept"}, create_time=_fresh_second()))
    assert grants.grants(openid, "T-A") == 2
    deliver(client, sim, change(openid, "T-A", "reject"))
    assert grants.grants(openid, "T-A") == 0


# -- sending ------------------------------------------------------------------------------------


def test_each_send_uses_one_grant_and_without_one_the_message_is_skipped(
    client, sandbox, aws, coupon_by_subscribe
):
    # Given a follower who granted the coupon template once
    openid = customer()
    grant(client, sandbox, openid, SUB_COUPON)
    # When two coupon messages are sent
    first = notify(openid, "coupon_issued", VALUES)
    drain_notifications()
    second = notify(openid, "coupon_issued", VALUES)
    drain_notifications()
    # Then the first went out with bizsend and used the grant; the second had none
    [message] = sent_to(sandbox, openid)
    assert message["kind"] == "subscribe" and message["template_id"] == SUB_COUPON
    assert message["data"]["character_string4"] == {"value": VALUES["code"]}
    assert record(first)["status"] == "sent"
    assert record(second)["status"] == "skipped:no_grant"
    assert grants.grants(openid, SUB_COUPON) == 0
    assert sandbox.state.calls.get(BIZSEND) == 1  # the skipped one never reached WeChat


def test_the_sent_event_records_delivery(client, sandbox, aws, coupon_by_subscribe):
    openid = customer()
    grant(client, sandbox, openid, SUB_COUPON)
    nid = notify(openid, "coupon_issued", VALUES)
    drain_notifications()
    msgid = int(record(nid)["msgid"])
    # When WeChat reports the send (twice, as it may)
    for _ in range(2):
        status, _ = deliver(client, sim, sent_event(openid, SUB_COUPON, msgid))
        assert status == 200
    # Then the record is delivered, once in its history
    view = record(nid)
    assert view["status"] == "delivered"
    assert [h["status"] for h in view["history"]].count("delivered") == 1


def test_a_send_that_does_not_go_out_gives_its_grant_back(client, sandbox, aws, coupon_by_subscribe):
    # Given one grant, and WeChat busy on the first attempt
    openid = customer()
    grant(client, sandbox, openid, SUB_COUPON)
    fault(sandbox, api=BIZSEND, errcode=-1, count=1, openid=openid)
    nid = notify(openid, "coupon_issued", VALUES)
    # When the worker retries until it is sent
    drain_notifications()
    # Then it was sent on the second attempt with the one grant (given back after the first)
    view = record(nid)
    assert view["status"] == "sent" and view["attempts"] == 2
    assert grants.grants(openid, SUB_COUPON) == 0


def test_wechats_43101_is_no_grant(client, sandbox, aws, coupon_by_subscribe):
    # Given our ledger holds a grant WeChat no longer has (it was used elsewhere, say)
    openid = customer()
    deliver(client, sim, popup(openid, {SUB_COUPON: "accept"}, create_time=_fresh_second()))
    nid = notify(openid, "coupon_issued", VALUES)
    drain_notifications()
    assert record(nid)["status"] == "skipped:no_grant"
    assert grants.grants(openid, SUB_COUPON) == 0  # not given back: WeChat said there is none


def test_racing_sends_use_each_grant_once(sandbox, aws, coupon_by_subscribe, patient_clients):
    # Given a follower with 3 grants and 12 coupon messages for them
    # (granted before the race: the callback's deadline and patient clients do not mix)
    openid = customer()
    for _ in range(3):
        requests.post(
            f"{sandbox.url}/sandbox/subscribe",
            json={"openid": openid, "template_ids": [SUB_COUPON], "status": "accept"},
            timeout=5,
        ).raise_for_status()
        txn.run(grants.grant_ops(openid, [(SUB_COUPON, "accept", True)]))
    ids = [notify(openid, "coupon_issued", VALUES) for _ in range(12)]
    records = [
        {
            "messageId": f"m-{i}",
            "body": json.dumps(
                {"notification_id": nid, "openid": openid, "kind": "coupon_issued", "fields": VALUES}
            ),
            "attributes": {"ApproximateReceiveCount": "1"},
        }
        for i, nid in enumerate(ids)
    ]
    # When 12 workers handle them at the same moment
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(worker.process, records))
    # Then exactly 3 were sent, each with a grant WeChat accepted, and the others skipped
    statuses = sorted(record(nid)["status"] for nid in ids)
    assert statuses == ["sent"] * 3 + ["skipped:no_grant"] * 9, statuses
    assert all(not r.retry for r in results)
    assert len(sent_to(sandbox, openid)) == 3 and grants.grants(openid, SUB_COUPON) == 0
    drain_notifications()  # the copies the outbox queued find them decided
    assert len(sent_to(sandbox, openid)) == 3


@pytest.mark.slow
def test_three_racing_deliveries_of_one_popup_grant_once(client):
    # Given a warm container (its DynamoDB clients exist; a cold start is not what this tests)
    from tests.callback.test_race import race

    deliver(client, sim, popup(customer(), {"T-warm": "accept"}, create_time=_fresh_second()))
    # When each of 4 followers' popup arrives three times at once (WeChat's retries racing)
    followers = [customer() for _ in range(4)]
    xml = {o: popup(o, {"T-A": "accept", "T-B": "accept"}, create_time=1700000000) for o in followers}
    results = race(client, [(xml[o], str(n)) for o in followers for n in range(3)])
    # Then every delivery was answered, and each follower has exactly one grant per template
    assert all(status == 200 for status, _ in results), results
    assert [(grants.grants(o, "T-A"), grants.grants(o, "T-B")) for o in followers] == [(1, 1)] * 4
