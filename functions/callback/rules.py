"""The dispatch table: small rules, from specific to general; the first match handles.

Each handler returns an Outcome: the reply text (None = `success`) and, if the message
changes anything, the effects to commit together with the dedupe record: transaction items
their owners provide (customers, store stats, the inbox). Handlers may read (one round trip at
most; the inbox's two: the customer's store, then the conversation with its store's settings)
but never write themselves, except TEMPLATESENDJOBFINISH and MASSSENDJOBFINISH, whose effects
are the notifications capability's (and, for a mass send, the broadcasts capability's) own
idempotent updates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from functions.bookings.summary import for_customer as bookings_of
from functions.broadcasts import domain as broadcasts
from functions.callback.message import Message
from functions.core import clock, txn
from functions.coupons.summary import for_customer as coupons_of
from functions.customers import domain as customers
from functions.customers.domain import Touch
from functions.inbox import domain as inbox
from functions.logistics.summary import for_customer as shipments_of
from functions.notifications import grants
from functions.notifications.delivery import mark_delivery, notifications_with_msgid
from functions.points import earning as points
from functions.points import referrals
from functions.stores import stats
from functions.stores.domain import UNKNOWN_STORE, scan_target

DEFAULT_WELCOME = "欢迎关注！回复“物流”查看快递进度，回复“预约”查看配送预约，回复“券”查看优惠券。"
REMINDERS_ON_TEXT = "已开启补货提醒，我们会在合适的时候提醒您。回复“TD”可随时退订。"
REMINDERS_OFF_TEXT = "已关闭补货提醒，您将不再收到提醒消息。"
QR_PREFIX = "qrscene_"
ALREADY_FOLLOWING = "您已关注我们啦。回复“积分”查看您的积分。"


@dataclass(frozen=True)
class Outcome:
    reply: str | None = None
    effects: Sequence[txn.Op] | None = None  # None: nothing to commit, no dedupe record
    # Labels whose failed condition means "what the handler read has changed": the handler is
    # run again (once) to read afresh, instead of the delivery failing (points, referrals).
    rerun_on: tuple[str, ...] = ()


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
    if target.points is not None:  # a table card: its points, once per store and business day
        credit = points.scan_credit(m.from_user, target.store_id, target.points)
        reply = f"{target.welcome}\n{credit.text()}" if kind == "subscribe" else credit.text()
        return Outcome(reply, [*effects, *credit.ops], rerun_on=points.RERUN_ON)
    return Outcome(target.welcome, effects)


def subscribe_with_scene(m: Message) -> Outcome:
    return _attributed(m, m.event_key[len(QR_PREFIX) :], "subscribe")


def subscribe_with_referral(m: Message) -> Outcome:
    """A follow through a customer's share code: the sharer's referral if this follower is new."""
    at = clock.iso(clock.now())
    ref_code = m.event_key[len(QR_PREFIX) + len(referrals.SCENE_PREFIX) :]
    referral = referrals.referral_for(m.from_user, ref_code)
    if referral is None:
        return subscribe(m)
    effects = [*customers.follow_ops(m.from_user, at, first_follow=True), *referral.ops]
    return Outcome(DEFAULT_WELCOME, effects, rerun_on=referrals.RERUN_ON)


def scan_referral(m: Message) -> Outcome:
    """A follower scanning a share code: already ours, never re-attributed."""
    return Outcome(ALREADY_FOLLOWING)


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


def my_points(m: Message) -> Outcome:
    return Outcome(points.balance_text(m.from_user))


def delivery_report(m: Message) -> Outcome:
    if m.msg_id:
        mark_delivery(m.msg_id, m.status)
    return Outcome(None)


def to_inbox(m: Message) -> Outcome:
    """A customer's question no keyword answers: into their conversation with their first-touch
    store (HQ without one), with the dedupe record; the store's acknowledgement, if any, at
    most once a day."""
    media_id = m.fields.get("MediaId") if m.msg_type in ("image", "voice") else None
    if m.msg_type == "text":
        text: str | None = m.content
    else:  # a voice message carries WeChat's speech recognition when the account turned it on
        recognition = m.fields.get("Recognition")
        text = recognition.strip() or None if isinstance(recognition, str) else None
    incoming = inbox.Incoming(
        openid=m.from_user,
        type=m.msg_type,
        key=m.dedupe_key[-16:],
        text=text,
        media_id=media_id.strip()[:256] if isinstance(media_id, str) else None,
    )
    reply, effects = inbox.intake(customers.first_store_of(m.from_user), incoming)
    return Outcome(reply, effects)


def _count(m: Message, name: str) -> int:
    text = m.fields.get(name)
    text = text.strip() if isinstance(text, str) else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else 0


def mass_report(m: Message) -> Outcome:
    """MASSSENDJOBFINISH: the chunk's notification is delivered (Status "send success") or
    failed, and its counts join its broadcast's, once."""
    if m.msg_id:
        mark_delivery(m.msg_id, "success" if m.status == "send success" else m.status)
        finish = broadcasts.JobFinish(
            msg_id=m.msg_id,
            status=m.status,
            total=_count(m, "TotalCount"),
            filtered=_count(m, "FilterCount"),
            sent=_count(m, "SentCount"),
            errors=_count(m, "ErrorCount"),
        )
        for notification_id, kind in notifications_with_msgid(m.msg_id):
            if kind == broadcasts.KIND:
                broadcasts.record_job_finish(notification_id, finish)
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
    Rule(
        "subscribe_referral",
        subscribe_with_referral,
        "event",
        "subscribe",
        event_key_prefix=QR_PREFIX + referrals.SCENE_PREFIX,
    ),
    Rule("subscribe_with_scene", subscribe_with_scene, "event", "subscribe", event_key_prefix=QR_PREFIX),
    Rule("subscribe", subscribe, "event", "subscribe"),
    Rule("scan_referral", scan_referral, "event", "SCAN", event_key_prefix=referrals.SCENE_PREFIX),
    Rule("scan", scan, "event", "SCAN"),
    Rule("unsubscribe", unsubscribe, "event", "unsubscribe"),
    Rule("click_shipments", my_shipments, "event", "CLICK", "MY_SHIPMENTS"),
    Rule("click_bookings", my_bookings, "event", "CLICK", "MY_BOOKINGS"),
    Rule("click_coupons", my_coupons, "event", "CLICK", "MY_COUPONS"),
    Rule("click_reminders_on", reminders(True), "event", "CLICK", "REMINDERS_ON"),
    Rule("click_reminders_off", reminders(False), "event", "CLICK", "REMINDERS_OFF"),
    Rule("click_points", my_points, "event", "CLICK", "MY_POINTS"),
    Rule("delivery_report", delivery_report, "event", "TEMPLATESENDJOBFINISH"),
    Rule("mass_report", mass_report, "event", "MASSSENDJOBFINISH"),
    Rule("subscribe_popup", subscribe_choices(True), "event", "subscribe_msg_popup_event"),
    Rule("subscribe_change", subscribe_choices(False), "event", "subscribe_msg_change_event"),
    Rule("subscribe_sent", subscribe_sent, "event", "subscribe_msg_sent_event"),
    Rule("text_unsubscribe_reminders", reminders(False), "text", text_exact=("退订", "TD")),
    Rule("text_shipments", my_shipments, "text", text_contains=("物流", "快递")),
    Rule("text_bookings", my_bookings, "text", text_contains=("预约",)),
    Rule("text_coupons", my_coupons, "text", text_contains=("券",)),
    Rule("text_points", my_points, "text", text_contains=("积分",)),
    # The store inbox: the last rules before the catch-all, so every keyword rule comes first.
    Rule("inbox_text", to_inbox, "text"),
    Rule("inbox_image", to_inbox, "image"),
    Rule("inbox_voice", to_inbox, "voice"),
    Rule("anything_else", ignore),
)


def route(m: Message, rules: tuple[Rule, ...] = RULES) -> Rule:
    return next(rule for rule in rules if rule.matches(m))
