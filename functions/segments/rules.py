"""A segment's rules: what each field means, how a rule is checked, and how one is evaluated.

Pure functions over a `Profile` (what the segments capability knows of one customer) and a
business date, so the same code decides membership in the event path, the recompute job and
the property test's model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from functions.core import clock
from functions.core.errors import InvalidInput

_IDENTIFIER = re.compile(r"[A-Za-z0-9._:-]{1,64}")
MAX_DAYS = 36_500
MAX_CENTS = 10**12

# field -> (the ops it takes, the value's kind)
FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    "first_store": (("eq",), "identifier"),
    "first_staff": (("eq",), "identifier"),
    "purchased_sku": (("eq",), "identifier"),
    "total_spent_cents": (("gte", "lte"), "cents"),
    "last_purchase_days": (("gte", "lte"), "days"),
    "followed_days": (("gte", "lte"), "days"),
    "reminder_consent": (("eq",), "bool"),
    "subscribed": (("eq",), "bool"),
}
# Rules whose truth changes with the calendar alone: re-evaluated by the daily job.
ELAPSED_TIME_FIELDS = frozenset({"last_purchase_days", "followed_days"})


@dataclass(frozen=True)
class Rule:
    field: str
    op: str
    value: str | int | bool
    within_days: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "op": self.op, "value": self.value}
        if self.within_days is not None:
            out["within_days"] = self.within_days
        return out

    @property
    def on_elapsed_time(self) -> bool:
        return self.field in ELAPSED_TIME_FIELDS or self.within_days is not None


@dataclass(frozen=True)
class Profile:
    """What the rules read about one customer (its storage row is the segments capability's own)."""

    openid: str
    subscribed: bool = False
    followed_at: str | None = None  # ISO time of the current follow
    reminder_consent: bool = False
    first_store: str | None = None
    first_staff: str | None = None
    total_spent_cents: int = 0
    last_purchase_at: str | None = None
    skus: Mapping[str, str] = field(default_factory=dict)  # sku -> latest purchase (ISO)
    orders: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    v: int = 0  # 0: not stored yet


def _identifier_ok(value: Any) -> bool:
    return isinstance(value, str) and _IDENTIFIER.fullmatch(value) is not None


def check_rule(raw: Rule) -> Rule:
    """The rule if its op and value fit its field; InvalidInput naming what does not."""
    ops, kind = FIELDS[raw.field]  # the field itself is checked by the request's declaration
    if raw.op not in ops:
        raise InvalidInput(f"{raw.field} takes {' or '.join(ops)}, not {raw.op}", code="invalid_op")
    value = raw.value
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "identifier":
        ok = _identifier_ok(value)
    else:
        limit = MAX_CENTS if kind == "cents" else MAX_DAYS
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit
    if not ok:
        raise InvalidInput(f"{raw.field} needs a {kind} value", code="invalid_value")
    if raw.within_days is not None and raw.field != "purchased_sku":
        raise InvalidInput("within_days applies to purchased_sku only", code="invalid_within_days")
    return raw


def check_rules(rules: Sequence[Rule]) -> tuple[Rule, ...]:
    return tuple(check_rule(rule) for rule in rules)


def rules_from_json(items: Sequence[Mapping[str, Any]]) -> tuple[Rule, ...]:
    return tuple(Rule(item["field"], item["op"], item["value"], item.get("within_days")) for item in items)


def _days_since(iso_time: str, today: date) -> int:
    return (today - clock.business_date(clock.parse_iso(iso_time))).days


def _compare(op: str, actual: int, value: int) -> bool:
    return actual >= value if op == "gte" else actual <= value


def holds(rule: Rule, profile: Profile, today: date) -> bool:
    """Whether one rule holds for `profile` on business date `today`."""
    f, value = rule.field, rule.value
    if f == "first_store":
        return profile.first_store == value
    if f == "first_staff":
        return profile.first_staff == value
    if f == "purchased_sku":
        bought = profile.skus.get(str(value))
        if bought is None:
            return False
        return rule.within_days is None or _days_since(bought, today) <= rule.within_days
    if f == "total_spent_cents":
        return _compare(rule.op, profile.total_spent_cents, int(value))
    if f == "last_purchase_days":
        if profile.last_purchase_at is None:
            return False
        return _compare(rule.op, _days_since(profile.last_purchase_at, today), int(value))
    if f == "followed_days":
        if not profile.subscribed or profile.followed_at is None:
            return False
        return _compare(rule.op, _days_since(profile.followed_at, today), int(value))
    if f == "reminder_consent":
        return profile.reminder_consent is value
    if f == "subscribed":
        return profile.subscribed is value
    raise ValueError(f"unknown field {f!r}")


def matches(rules: Sequence[Rule], profile: Profile, today: date) -> bool:
    """Every rule holds (rules are ANDed; no rules: everyone the segments capability knows)."""
    return all(holds(rule, profile, today) for rule in rules)
