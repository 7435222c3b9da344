"""The dispatch table: small rules, from specific to general; the first match handles.

Each handler returns an Outcome: the reply text (None = `success`) and, if the message
changes anything, the effects to commit together with the dedupe record: transaction items
their owners provide (customers, store stats). Handlers may read (one round trip at most) but
never write themselves, except TEMPLATESENDJOBFINISH, whose effect is the notifications
capability's own idempotent status update.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from functions.bookings.summary import for_customer as bookings_of
from functions.callback.message import Message
from functions.core import clock, txn
from functions.coupons.summary import for_customer as coupons_of
from functions.customers import domain as customers
from functions.customers.domain import Touch
from functions.logistics.summary import for_customer as shipments_of
from functions.notifications import grants
from functions.notifications.delivery import mark_delivery
from functions.stores import stats
from functions.stores.domain import UNKNOWN_STORE, scan_target

DEFAULT_WELCOME = "欢迎关注！回复“物流”查看快递进度，回复“预约”查看配送预约，回复“券”查看优惠券。"
REMINDERS_ON_TEXT = "已开启补货提醒，我们会在合适的时候提醒您。回复“TD”可随时退订。"
REMINDERS_OFF_TEXT = "已关闭补货提醒，您将不再收到提醒消息。"
QR_PREFIX = "qrscene_"


@dataclass(frozen=True)
class Outcome:
    reply: str | None = None
    effects: Sequence[txn.Op] | None = None  # None: nothing to commit, no dedupe record


Handler = Callable[[Message], Outcome]


@dataclass(frozen=True)
class Rule:
    """Unset fields are wildcards. Events compare case-insensitively, keys exactly."""

    name: str
    handler: Handler
    msg_type: str | None = None
    event: str | None = None
    event_key: str | None = None
    event_key_prefix: str | None = None
    text_exact: tuple[str, ...] = ()  # whole text, case-insensitive
    text_contains: tuple[str, ...] = ()

    def matches(self, m: Message) -> bool:
        if self.msg_type is not None and m.msg_type != self.msg_type:
            return False
        if self.event is not None and m.event.lower() != self.event.lower():
            return False
        if self.event_key is not None and m.event_key != self.event_key:
            return False
        if self.event_key_prefix is not None and not m.event_key.startswith(self.event_key_prefix):
            return False
        if self.text_exact and m.content.upper() not in {t.upper() for t in self.text_exact}:
            return False
        return not self.text_contains or any(word in m.content for word in self.text_contains)


# -- handlers ----------------------------------------------------------------------------


def _attributed(m: Message, scene: str, kind: str) -> Outcome:
    """A scan of `scene` (on subscribe or while following)."""
    at = clock.iso(clock.now())
    counters = {"scans": 1, **({"new_followers": 1} if kind == "subscribe" else {})}
    target = scan_target(scene)
    if target is None:
        return Outcome(
            DEFAULT_WELCOME,
            [*customers.follow_ops(m.from_user, at), stats.counters_op(UNKNOWN_STORE, counters)],
        )
    touch = Touch(kind, scene, target.store_id, target.staff_id, target.campaign, at, m.dedupe_key[-16:])
    effects = [*customers.follow_ops(m.from_user, at, touch), stats.counters_op(target.store_id, counters)]
    if target.staff_id:  # the staff leaderboard: scans and followers won by this staff member's code
        effects.append(stats.staff_counters_op(target.store_id, target.staff_id, counters))
    return Outcome(target.welcome, effects)


def subscribe_with_scene(m: Message) -> Outcome:
    return _attributed(m, m.event_key[len(QR_PREFIX) :], "subscribe")


def subscribe(m: Message) -> Outcome:
    return Outcome(DEFAULT_WELCOME, customers.follow_ops(m.from_user, clock.iso(clock.now())))


def scan(m: Message) -> Outcome:
    return _attributed(m, m.event_key, "scan")


def unsubscribe(m: Message) -> Outcome:
    effects = [customers.unsubscribe_op(m.from_user, clock.iso(clock.now()))]
    first_store = customers.first_store_of(m.from_user)
    if first_store:
        effects.append(stats.counters_op(first_store, {"unsubscribes": 1}))
    return Outcome(None, effects)


# The customer's summaries: looked up here at call time, so a test can stand one in.
def my_shipments(m: Message) -> Outcome:
    return Outcome(shipments_of(m.from_user))


def my_bookings(m: Message) -> Outcome:
    return Outcome(bookings_of(m.from_user))


def my_coupons(m: Message) -> Outcome:
    return Outcome(coupons_of(m.from_user))


def reminders(consent: bool) -> Handler:
    def handler(m: Message) -> Outcome:
        return Outcome(
            REMINDERS_ON_TEXT if consent else REMINDERS_OFF_TEXT,
            [customers.reminder_consent_op(m.from_user, consent)],
        )

    handler.__name__ = f"reminders[{consent}]"
    return handler


def delivery_report(m: Message) -> Outcome:
    if m.msg_id:
        mark_delivery(m.msg_id, m.status)
    return Outcome(None)


def subscribe_choices(popup: bool) -> Handler:
    """The follower's answers to the subscribe popup (or changes in WeChat's settings): grants
    in the notifications ledger, committed with the dedupe record, so once per delivery."""
    element = "SubscribeMsgPopupEvent" if popup else "SubscribeMsgChangeEvent"

    def handler(m: Message) -> Outcome:
        choices = [(t, status, popup) for t, status in grants.choices_of(m.fields, element)]
        effects = grants.grant_ops(m.from_user, choices)
        return Outcome(None, effects or None)

    handler.__name__ = f"subscribe_choices[{'popup' if popup else 'change'}]"
    return handler


def subscribe_sent(m: Message) -> Outcome:
    """subscribe_msg_sent_event: each sent subscribe notification's delivery, found by msgid."""
    for msgid, ok, status in grants.sent_reports(m.fields):
        mark_delivery(msgid, "success" if ok else status or "failed")
    return Outcome(None)


def ignore(_: Message) -> Outcome:
    return Outcome(None)


RULES: tuple[Rule, ...] = (
    Rule("subscribe_with_scene", subscribe_with_scene, "event", "subscribe", event_key_prefix=QR_PREFIX),
    Rule("subscribe", subscribe, "event", "subscribe"),
    Rule("scan", scan, "event", "SCAN"),
    Rule("unsubscribe", unsubscribe, "event", "unsubscribe"),
    Rule("click_shipments", my_shipments, "event", "CLICK", "MY_SHIPMENTS"),
    Rule("click_bookings", my_bookings, "event", "CLICK", "MY_BOOKINGS"),
    Rule("click_coupons", my_coupons, "event", "CLICK", "MY_COUPONS"),
    Rule("click_reminders_on", reminders(True), "event", "CLICK", "REMINDERS_ON"),
    Rule("click_reminders_off", reminders(False), "event", "CLICK", "REMINDERS_OFF"),
    Rule("delivery_report", delivery_report, "event", "TEMPLATESENDJOBFINISH"),
    Rule("subscribe_popup", subscribe_choices(True), "event", "subscribe_msg_popup_event"),
    Rule("subscribe_change", subscribe_choices(False), "event", "subscribe_msg_change_event"),
    Rule("subscribe_sent", subscribe_sent, "event", "subscribe_msg_sent_event"),
    Rule("text_unsubscribe_reminders", reminders(False), "text", text_exact=("退订", "TD")),
    Rule("text_shipments", my_shipments, "text", text_contains=("物流", "快递")),
    Rule("text_bookings", my_bookings, "text", text_contains=("预约",)),
    Rule("text_coupons", my_coupons, "text", text_contains=("券",)),
    Rule("anything_else", ignore),
)


def route(m: Message, rules: tuple[Rule, ...] = RULES) -> Rule:
    return next(rule for rule in rules if rule.matches(m))
