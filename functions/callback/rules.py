"""The dispatch table: small rules, from specific to general; the first match handles.

Each handler returns an Outcome: the reply text (None = `success`) and, if the message
changes anything, the effects to commit together with the dedupe record. Handlers may read
(one round trip at most) but never write themselves, except TEMPLATESENDJOBFINISH, whose
effect is the notifications capability's own idempotent status update.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from pynamodb.transactions import TransactWrite

from functions.callback import storage
from functions.callback.message import Message
from functions.core import clock
from functions.customers import domain as customers
from functions.customers.domain import Touch
from functions.stores import stats
from functions.stores.domain import UNKNOWN_STORE, decode_scene

DEFAULT_WELCOME = "欢迎关注！回复“物流”查看快递进度，回复“预约”查看配送预约，回复“券”查看优惠券。"
REMINDERS_ON_TEXT = "已开启补货提醒，我们会在合适的时候提醒您。回复“TD”可随时退订。"
REMINDERS_OFF_TEXT = "已关闭补货提醒，您将不再收到提醒消息。"
QR_PREFIX = "qrscene_"

Effects = Callable[[TransactWrite], None]


@dataclass(frozen=True)
class Outcome:
    reply: str | None = None
    effects: Effects | None = None


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
    decoded = decode_scene(scene)
    target = storage.lookup_scene(scene, decoded.store_id) if decoded else None
    if target is None:

        def unknown(tx: TransactWrite) -> None:
            customers.follow_in(tx, m.from_user, at)
            stats.increments_in(tx, UNKNOWN_STORE, counters)

        return Outcome(DEFAULT_WELCOME, unknown)
    touch = Touch(kind, scene, target.store_id, target.staff_id, target.campaign, at, m.dedupe_key[-16:])

    def known(tx: TransactWrite) -> None:
        customers.follow_in(tx, m.from_user, at, touch)
        stats.increments_in(tx, target.store_id, counters)

    return Outcome(target.welcome, known)


def subscribe_with_scene(m: Message) -> Outcome:
    return _attributed(m, m.event_key[len(QR_PREFIX) :], "subscribe")


def subscribe(m: Message) -> Outcome:
    at = clock.iso(clock.now())
    return Outcome(DEFAULT_WELCOME, lambda tx: customers.follow_in(tx, m.from_user, at))


def scan(m: Message) -> Outcome:
    return _attributed(m, m.event_key, "scan")


def unsubscribe(m: Message) -> Outcome:
    at = clock.iso(clock.now())
    first_store = storage.first_store_of(m.from_user)

    def effects(tx: TransactWrite) -> None:
        customers.unsubscribe_in(tx, m.from_user, at)
        if first_store:
            stats.increments_in(tx, first_store, {"unsubscribes": 1})

    return Outcome(None, effects)


def summary(module: str) -> Handler:
    """Reply with `<module>.for_customer(openid)`, imported on first use (not at cold start)."""

    def handler(m: Message) -> Outcome:
        return Outcome(importlib.import_module(module).for_customer(m.from_user))

    handler.__name__ = f"summary[{module}]"
    return handler


def reminders(consent: bool) -> Handler:
    def handler(m: Message) -> Outcome:
        return Outcome(
            REMINDERS_ON_TEXT if consent else REMINDERS_OFF_TEXT,
            lambda tx: customers.set_reminder_consent_in(tx, m.from_user, consent),
        )

    handler.__name__ = f"reminders[{consent}]"
    return handler


def delivery_report(m: Message) -> Outcome:
    from functions.notifications.delivery import mark_delivery

    if m.msg_id:
        mark_delivery(m.msg_id, m.status)
    return Outcome(None)


def ignore(_: Message) -> Outcome:
    return Outcome(None)


SHIPMENTS = summary("functions.logistics.summary")
BOOKINGS = summary("functions.bookings.summary")
COUPONS = summary("functions.coupons.summary")

RULES: tuple[Rule, ...] = (
    Rule("subscribe_with_scene", subscribe_with_scene, "event", "subscribe", event_key_prefix=QR_PREFIX),
    Rule("subscribe", subscribe, "event", "subscribe"),
    Rule("scan", scan, "event", "SCAN"),
    Rule("unsubscribe", unsubscribe, "event", "unsubscribe"),
    Rule("click_shipments", SHIPMENTS, "event", "CLICK", "MY_SHIPMENTS"),
    Rule("click_bookings", BOOKINGS, "event", "CLICK", "MY_BOOKINGS"),
    Rule("click_coupons", COUPONS, "event", "CLICK", "MY_COUPONS"),
    Rule("click_reminders_on", reminders(True), "event", "CLICK", "REMINDERS_ON"),
    Rule("click_reminders_off", reminders(False), "event", "CLICK", "REMINDERS_OFF"),
    Rule("delivery_report", delivery_report, "event", "TEMPLATESENDJOBFINISH"),
    Rule("text_unsubscribe_reminders", reminders(False), "text", text_exact=("退订", "TD")),
    Rule("text_shipments", SHIPMENTS, "text", text_contains=("物流", "快递")),
    Rule("text_bookings", BOOKINGS, "text", text_contains=("预约",)),
    Rule("text_coupons", COUPONS, "text", text_contains=("券",)),
    Rule("anything_else", ignore),
)


def route(m: Message, rules: tuple[Rule, ...] = RULES) -> Rule:
    return next(rule for rule in rules if rule.matches(m))
