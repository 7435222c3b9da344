"""Request declarations of the segment routes."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from functions.core.fields import Cursor, Name
from functions.segments.rules import MAX_CENTS, Rule

MAX_RULES = 20
RuleValue = (
    bool | Annotated[int, Meta(ge=0, le=MAX_CENTS)] | Annotated[str, Meta(min_length=1, max_length=64)]
)
Field = Literal[
    "first_store",
    "first_staff",
    "purchased_sku",
    "total_spent_cents",
    "last_purchase_days",
    "followed_days",
    "reminder_consent",
    "subscribed",
]


class RuleBody(msgspec.Struct, forbid_unknown_fields=True):
    """One rule: `eq` for stores, staff, SKUs and the flags; `gte`/`lte` for amounts and days."""

    field: Field
    op: Literal["eq", "gte", "lte"]
    value: RuleValue
    within_days: Annotated[int, Meta(ge=1, le=3650)] | None = None

    def to_rule(self) -> Rule:
        return Rule(self.field, self.op, self.value, self.within_days)


class SegmentBody(msgspec.Struct, forbid_unknown_fields=False):
    """PUT /admin/segments/{id}: rules are ANDed; `wechat_tag` mirrors the segment to a tag."""

    name: Name
    rules: Annotated[list[RuleBody], Meta(max_length=MAX_RULES)]
    wechat_tag: bool = False


class MembersQuery(msgspec.Struct, frozen=True):
    cursor: Cursor | None = None  # checked when decoded
