"""Rules against a model: any history of events, folded into a profile by the event code, gives
the membership that a plain reading of the same history gives (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.core import clock
from functions.customers.domain import Customer
from functions.segments import events
from functions.segments.rules import Profile, Rule, check_rule, matches

TODAY = date(2026, 6, 15)
STORES, STAFF, SKUS = ["S1", "S2"], ["A", "B"], ["K1", "K2", "K3"]


@dataclass(frozen=True)
class Follow:
    subscribed: bool
    consent: bool
    store: str | None
    staff: str | None
    days_ago: int


@dataclass(frozen=True)
class Order:
    order_id: str
    skus: tuple[str, ...]
    total: int
    days_ago: int


def at(days_ago: int) -> str:
    # 04:00 UTC is noon in Shanghai: the business date is the UTC date.
    moment = datetime(TODAY.year, TODAY.month, TODAY.day, 4, tzinfo=UTC) - timedelta(days=days_ago)
    return clock.iso(moment)


follows = st.builds(
    Follow,
    st.booleans(),
    st.booleans(),
    st.sampled_from([None, *STORES]),
    st.sampled_from([None, *STAFF]),
    st.integers(0, 400),
)
orders = st.builds(
    Order,
    st.sampled_from([f"o{i}" for i in range(6)]),  # ids repeat: a redelivered event
    st.lists(st.sampled_from(SKUS), min_size=1, max_size=3).map(tuple),
    st.integers(0, 50_000),
    st.integers(0, 400),
)
history = st.lists(st.one_of(follows, orders), max_size=12)


def rule_strategy() -> st.SearchStrategy[Rule]:
    days = st.integers(0, 400)
    return st.one_of(
        st.builds(Rule, st.just("first_store"), st.just("eq"), st.sampled_from(STORES)),
        st.builds(Rule, st.just("first_staff"), st.just("eq"), st.sampled_from(STAFF)),
        st.builds(
            Rule,
            st.just("purchased_sku"),
            st.just("eq"),
            st.sampled_from(SKUS),
            st.none() | st.integers(1, 400),
        ),
        st.builds(
            Rule, st.just("total_spent_cents"), st.sampled_from(["gte", "lte"]), st.integers(0, 100_000)
        ),
        st.builds(Rule, st.just("last_purchase_days"), st.sampled_from(["gte", "lte"]), days),
        st.builds(Rule, st.just("followed_days"), st.sampled_from(["gte", "lte"]), days),
        st.builds(Rule, st.just("reminder_consent"), st.just("eq"), st.booleans()),
        st.builds(Rule, st.just("subscribed"), st.just("eq"), st.booleans()),
    )


def fold(openid: str, items: list[Follow | Order]) -> Profile:
    """The event code: each event's change applied in turn, as the consumers apply them."""
    profile = Profile(openid)
    for item in items:
        if isinstance(item, Follow):
            customer = Customer(openid, item.subscribed, item.consent, item.store, item.staff,
                                subscribed_at=at(item.days_ago))  # fmt: skip
            change = events.customer_change(customer)
        else:
            event = {"order_id": item.order_id, "openid": openid, "total_cents": item.total,
                     "purchased_at": at(item.days_ago), "items": [{"sku": s} for s in item.skus]}  # fmt: skip
            change = events.order_change(event)
        profile = change(profile) or profile
    return profile


def model(items: list[Follow | Order], rule: Rule) -> bool:
    """A plain reading of the history: the last follow event says who they are; each distinct
    order counts once (its first delivery); days are counted between business dates."""
    last_follow = next((i for i in reversed(items) if isinstance(i, Follow)), None)
    seen: dict[str, Order] = {}
    for item in items:
        if isinstance(item, Order) and item.order_id not in seen:
            seen[item.order_id] = item
    counted = list(seen.values())
    f, op, value = rule.field, rule.op, rule.value

    def cmp(actual: int) -> bool:
        return actual >= value if op == "gte" else actual <= value

    if f == "first_store":
        return last_follow is not None and last_follow.store == value
    if f == "first_staff":
        return last_follow is not None and last_follow.staff == value
    if f == "purchased_sku":
        ages = [o.days_ago for o in counted if value in o.skus]
        return bool(ages) and (rule.within_days is None or min(ages) <= rule.within_days)
    if f == "total_spent_cents":
        return cmp(sum(o.total for o in counted))
    if f == "last_purchase_days":
        return bool(counted) and cmp(min(o.days_ago for o in counted))
    if f == "followed_days":
        return last_follow is not None and last_follow.subscribed and cmp(last_follow.days_ago)
    if f == "reminder_consent":
        return (last_follow.consent if last_follow else False) is value
    return (last_follow.subscribed if last_follow else False) is value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history, st.lists(rule_strategy(), max_size=4))
def test_membership_is_what_the_history_says(items, rules):
    for rule in rules:
        check_rule(rule)  # every generated rule is one the route accepts
    profile = fold("o-1", items)
    expected = all(model(items, rule) for rule in rules)
    assert matches(rules, profile, TODAY) is expected


@given(history)
@settings(max_examples=100, deadline=None)
def test_events_commute_for_orders_and_repeat_safely(items):
    # Orders delivered in any order, each possibly twice, leave the same profile.
    unique: dict[str, Order] = {}
    for item in items:
        if isinstance(item, Order):
            unique.setdefault(item.order_id, item)  # one order id is one order
    order_items = list(unique.values())
    forward = fold("o-1", order_items)
    backward = fold("o-1", list(reversed(order_items)) + order_items)
    assert (forward.total_spent_cents, forward.last_purchase_at, dict(forward.skus)) == (
        backward.total_spent_cents, backward.last_purchase_at, dict(backward.skus))  # fmt: skip
