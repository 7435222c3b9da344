"""The dispatch table: each rule is reached by its example and shadowed by no earlier rule."""

from __future__ import annotations

import pytest

from functions.callback.message import Message
from functions.callback.rules import RULES, route
from functions.callback.xmlmsg import parse
from infra.local.wechat_sim import WeChat

sim = WeChat()

EXAMPLES = {
    "subscribe_referral": [sim.event("o", "subscribe", "qrscene_ref/abcdefghijklmnop")],
    "subscribe_with_scene": [
        sim.event("o", "subscribe", "qrscene_shop1/alice"),
        sim.event("o", "subscribe", "qrscene_shop1#pts"),
    ],
    "subscribe": [sim.event("o", "subscribe"), sim.event("o", "subscribe", "")],
    "scan_referral": [sim.event("o", "SCAN", "ref/abcdefghijklmnop")],
    "scan": [
        sim.event("o", "SCAN", "shop1"),
        sim.event("o", "scan", "shop1"),
        sim.event("o", "SCAN", "shop1#pts"),
    ],
    "unsubscribe": [sim.event("o", "unsubscribe")],
    "click_shipments": [sim.event("o", "CLICK", "MY_SHIPMENTS")],
    "click_bookings": [sim.event("o", "CLICK", "MY_BOOKINGS")],
    "click_coupons": [sim.event("o", "CLICK", "MY_COUPONS")],
    "click_reminders_on": [sim.event("o", "CLICK", "REMINDERS_ON")],
    "click_reminders_off": [sim.event("o", "CLICK", "REMINDERS_OFF")],
    "click_points": [sim.event("o", "CLICK", "MY_POINTS")],
    "delivery_report": [sim.event("o", "TEMPLATESENDJOBFINISH", MsgID="1", Status="success")],
    "mass_report": [
        sim.event("mphelper", "MASSSENDJOBFINISH", MsgID="2", Status="send success", SentCount="2")
    ],
    "subscribe_popup": [
        "<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>"
        "<Event>subscribe_msg_popup_event</Event><SubscribeMsgPopupEvent><List><TemplateId>T</TemplateId>"
        "<SubscribeStatusString>accept</SubscribeStatusString><PopupScene>2</PopupScene></List>"
        "</SubscribeMsgPopupEvent></xml>"
    ],
    "subscribe_change": [
        "<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>"
        "<Event>subscribe_msg_change_event</Event><SubscribeMsgChangeEvent><List><TemplateId>T</TemplateId>"
        "<SubscribeStatusString>reject</SubscribeStatusString></List></SubscribeMsgChangeEvent></xml>"
    ],
    "subscribe_sent": [
        "<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>"
        "<Event>subscribe_msg_sent_event</Event><SubscribeMsgSentEvent><List><TemplateId>T</TemplateId>"
        "<MsgID>1</MsgID><ErrorCode>0</ErrorCode><ErrorStatus>success</ErrorStatus></List>"
        "</SubscribeMsgSentEvent></xml>"
    ],
    "text_unsubscribe_reminders": [sim.text("o", "退订"), sim.text("o", "TD"), sim.text("o", "td")],
    "text_shipments": [sim.text("o", "我的快递"), sim.text("o", "物流信息"), sim.text("o", "预约物流")],
    "text_bookings": [sim.text("o", "我想预约")],
    "text_coupons": [sim.text("o", "优惠券"), sim.text("o", "券")],
    "text_points": [sim.text("o", "积分"), sim.text("o", "我的积分")],
    # the store inbox: a customer's question that no keyword answers
    "inbox_text": [sim.text("o", "hello"), sim.text("o", "退订了吗")],  # not exactly 退订
    "inbox_image": [
        "<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>image</MsgType>"
        "<MediaId>m1</MediaId><MsgId>9</MsgId></xml>"
    ],
    "inbox_voice": [
        "<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>voice</MsgType>"
        "<MediaId>m2</MediaId><Format>amr</Format><MsgId>10</MsgId></xml>"
    ],
    "anything_else": [
        sim.event("o", "CLICK", "UNKNOWN_KEY"),
        sim.event("o", "VIEW", "https://example.com"),
        sim.event("o", "LOCATION"),
        "<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>location</MsgType><MsgId>9</MsgId></xml>",
    ],
}


def test_every_rule_has_examples_and_names_are_unique():
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert set(EXAMPLES) == set(names)
    assert RULES[-1].name == "anything_else"  # the fallback is last and matches everything


@pytest.mark.parametrize(
    ("rule_name", "xml"),
    [
        pytest.param(name, xml, id=f"{name}-{i}")
        for name, xmls in EXAMPLES.items()
        for i, xml in enumerate(xmls)
    ],
)
def test_example_routes_to_its_rule(rule_name, xml):
    assert route(Message.from_fields(parse(xml))).name == rule_name


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_no_earlier_rule_shadows_this_one(rule):
    for xml in EXAMPLES[rule.name]:
        message = Message.from_fields(parse(xml))
        earlier = [r.name for r in RULES[: RULES.index(rule)] if r.matches(message)]
        assert earlier == []


def test_dedupe_keys_follow_the_contract():
    a = Message.from_fields(parse(sim.text("o", "hi", msg_id="1", create_time=10)))
    assert (
        a.dedupe_key
        == Message.from_fields(parse(sim.text("o", "other text", msg_id="1", create_time=10))).dedupe_key
    )
    assert (
        a.dedupe_key != Message.from_fields(parse(sim.text("o", "hi", msg_id="2", create_time=10))).dedupe_key
    )
    e = Message.from_fields(parse(sim.event("o", "SCAN", "s1", create_time=10)))
    assert e.dedupe_key != Message.from_fields(parse(sim.event("o", "SCAN", "s2", create_time=10))).dedupe_key
    assert (
        e.dedupe_key != Message.from_fields(parse(sim.event("o2", "SCAN", "s1", create_time=10))).dedupe_key
    )
    assert e.dedupe_key != Message.from_fields(parse(sim.event("o", "SCAN", "s1", create_time=11))).dedupe_key
