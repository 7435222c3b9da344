"""The console's segments page: define a segment from a form, see each one's exact member
count, its recompute's progress and its WeChat tag's sync state. Its routes join the console's
Blueprint (app.py imports this module), and call functions/segments/domain.py as the JSON
routes do."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from chalice import Response
from msgspec import Meta

from functions.audit import domain as audit
from functions.console.handlers import CsrfToken, console_page, done, render
from functions.console.session import Caller
from functions.core.errors import InvalidInput, WeChatRefused
from functions.core.fields import Name, SegmentId
from functions.segments import domain as segments
from functions.segments.rules import Rule

Text = Annotated[str, Meta(max_length=64)]
Flag = Literal["", "yes", "no"]
FIELD_TEXT = {
    "first_store": "首次门店",
    "first_staff": "首次导购",
    "purchased_sku": "买过",
    "total_spent_cents": "累计消费",
    "last_purchase_days": "距上次购买（天）",
    "followed_days": "已关注（天）",
    "reminder_consent": "同意补货提醒",
    "subscribed": "关注中",
}


class SegmentsQuery(msgspec.Struct, forbid_unknown_fields=False):
    done: Annotated[str, Meta(max_length=32)] | None = None


class SegmentForm(msgspec.Struct, forbid_unknown_fields=False):
    """A segment as ops describe it: each filled field is one rule; amounts in yuan."""

    csrf_token: CsrfToken
    segment_id: SegmentId
    name: Name
    first_store: Text = ""
    first_staff: Text = ""
    purchased_sku: Text = ""
    within_days: Text = ""
    spent_min: Text = ""
    spent_max: Text = ""
    last_purchase_min: Text = ""
    last_purchase_max: Text = ""
    followed_min: Text = ""
    followed_max: Text = ""
    reminder_consent: Flag = ""
    subscribed: Flag = ""
    wechat_tag: Literal["", "on"] = ""


def _number(text: str, name: str, yuan: bool = False) -> int:
    try:
        value = float(text) if yuan else int(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a number", code=f"invalid_{name}") from None
    return round(value * 100) if yuan else int(value)


def rules_of(form: SegmentForm) -> list[Rule]:
    rules: list[Rule] = []
    for field in ("first_store", "first_staff"):
        if getattr(form, field).strip():
            rules.append(Rule(field, "eq", getattr(form, field).strip()))
    if form.purchased_sku.strip():
        within = _number(form.within_days, "within_days") if form.within_days.strip() else None
        rules.append(Rule("purchased_sku", "eq", form.purchased_sku.strip(), within))
    ranges = (
        ("total_spent_cents", form.spent_min, form.spent_max, True),
        ("last_purchase_days", form.last_purchase_min, form.last_purchase_max, False),
        ("followed_days", form.followed_min, form.followed_max, False),
    )
    for field, low, high, yuan in ranges:
        if low.strip():
            rules.append(Rule(field, "gte", _number(low.strip(), field, yuan)))
        if high.strip():
            rules.append(Rule(field, "lte", _number(high.strip(), field, yuan)))
    for field in ("reminder_consent", "subscribed"):
        if getattr(form, field):
            rules.append(Rule(field, "eq", getattr(form, field) == "yes"))
    return rules


def describe(rule: Rule) -> str:
    """A rule as ops read it."""
    label = FIELD_TEXT[rule.field]
    if isinstance(rule.value, bool):
        return f"{label}：{'是' if rule.value else '否'}"
    if rule.field == "purchased_sku":
        return f"{label} {rule.value}" + (f"（{rule.within_days} 天内）" if rule.within_days else "")
    value = f"{int(rule.value) / 100:.2f} 元" if rule.field == "total_spent_cents" else str(rule.value)
    if rule.op == "eq":
        return f"{label} = {value}"
    return f"{label} {'≥' if rule.op == 'gte' else '≤'} {value}"


def _row(segment: segments.Segment) -> dict[str, Any]:
    return {"segment": segment, "rules": [describe(rule) for rule in segment.rules]}


@console_page("/console/segments", query=SegmentsQuery)
def segments_page(caller: Caller, query: SegmentsQuery) -> Response:
    """Every segment: its rules, exact member count, recompute and WeChat tag sync state."""
    caller.require_admin()
    rows = [_row(s) for s in sorted(segments.list_segments(), key=lambda s: s.updated_at or "", reverse=True)]
    return render("console/segments.html", caller, nav="segments", done=query.done, segments=rows)


@console_page("/console/segments", methods=("POST",), form=SegmentForm)
def save_segment(caller: Caller, form: SegmentForm) -> Response:
    """Define (or redefine) a segment; new rules recompute its members in the background."""
    caller.require_admin()
    rules = rules_of(form)
    try:
        segment = segments.put_segment(form.segment_id, form.name, rules, form.wechat_tag == "on")
    except WeChatRefused as refused:
        raise WeChatRefused(
            f"微信没有创建标签，请稍后再试。（{refused.message}）", code="tag_not_created"
        ) from None
    audit.record(
        caller.operator.username,
        caller.operator.role,
        "segment.put",
        segment.id,
        None,
        "; ".join(describe(rule) for rule in segment.rules) + ("; WeChat tag" if segment.wechat_tag else ""),
    )
    return done("/console/segments", done="saved")
