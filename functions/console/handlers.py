"""The ops console's pages and actions (CONTRACT §10): thin, like every handler. Each page calls
the owning capability's public functions (stores, bookings, coupons, notifications, reminders,
operators, audit) and renders; functions.web renders, and its session plumbing carries the
operator's cookie and CSRF (functions.console.session).

- Every page but the sign-in needs an operator's session (303 to the sign-in page otherwise);
  every POST but the sign-in carries `csrf_token`.
- A store operator sees and acts on their own store only: any other store's page, QR code,
  card or data is 403, and so are the brand-wide pages (slots, campaigns, notifications,
  reminder runs, the audit trail), which are for admins.
- Every action that changes something writes an audit entry once it has succeeded.
- Forms answer 303 to the page showing the result, so a reload never repeats an action.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import msgspec
from chalice import Response
from msgspec import Meta

from functions.audit import domain as audit
from functions.bookings import slots
from functions.bookings.requests import Capacity, SlotsDefinition, Window, WindowCapacity
from functions.console import views
from functions.console.session import (
    Caller,
    ConsoleSignInRequired,
    clear_session_cookie,
    operator_signed_in,
    safe_next,
    session_cookie,
    ttl_s,
)
from functions.core import clock
from functions.core.deadletters import DEAD_LETTERS, depths, redrive
from functions.core.errors import AppError, InvalidInput, NotFound
from functions.core.fields import Area, CampaignId, DisplayName, OpenId, Sku, StaffId, StoreId
from functions.core.http import Blueprint, check, status_of
from functions.coupons import campaigns, issuing
from functions.coupons.requests import MAX_OPENIDS, CampaignRequest, IssueRequest, TriggerRequest
from functions.notifications import report
from functions.operators import domain as operators
from functions.points.referrals import referrers
from functions.reminders.stats import run_stats
from functions.stores import domain as stores
from functions.stores import qrcodes
from functions.stores.requests import CardPoints
from functions.web import pages

blueprint = Blueprint(__name__)

CsrfToken = Annotated[
    str, Meta(max_length=128, description="the page's CSRF token (checked with the session)")
]
STORE = {"store_id": StoreId}
MAX_RANGE_DAYS = 92
ERROR_TEXT = {
    "wrong_password": ("用户名或密码不对", "请重新输入。连续输错 5 次，账号会锁定 15 分钟。"),
    "account_locked": ("账号已锁定 15 分钟", "连续输错密码 5 次。请 15 分钟后再试，或请管理员重设密码。"),
    "other_store": ("这不是您的门店", "门店账号只能查看和操作自己的门店。"),
    "admins_only": ("仅限管理员", "这个页面只有管理员账号可以打开。"),
    "stale_form": ("页面已过期", "请返回，刷新页面后再操作一次。"),
    "store_not_found": ("没有这个门店", "请从总览页选择门店。"),
    "qrcode_not_found": ("没有这个二维码", "请从门店页选择二维码。"),
    "campaign_not_found": ("没有这个活动", "请从活动列表选择。"),
    "wechat_error": ("微信暂时没有响应", "二维码没有生成，请稍后再试。"),
    "invalid_staff_id": (
        "员工编号有误",
        "员工编号最多 64 个字符，只能用英文字母、数字和 . _ : -，例如 zhang-san。",
    ),
    "invalid_staff_name": ("员工姓名有误", "姓名最多 32 个字。"),
    "invalid_openids": (
        "顾客 openid 有误",
        "每行一个 openid（英文字母、数字、_ 和 -），最多 500 个；有一个不对就都不会发放。",
    ),
    "invalid_range": ("日期范围有误", "开始日期不能晚于结束日期，最多 92 天。"),
}
STATUS_TEXT = {
    400: ("填写的内容有误", "请返回检查后再试。"),
    404: ("页面不存在", "请从顶部菜单打开页面。"),
    409: ("没有完成", "请返回查看后再试。"),
    422: ("没有完成", "请返回查看后再试。"),
}


# -- answers ----------------------------------------------------------------------------


def render(template: str, caller: Caller | None, status: int = 200, **context: Any) -> Response:
    """A console page (the layout shows the operator and their menu)."""
    return pages.console_page(
        template,
        status=status,
        csrf_token=caller.csrf_token if caller else "",
        operator=caller.operator if caller else None,
        when=views.when,
        **context,
    )


def errors(error: AppError) -> Response:
    """A refusal as a page a store manager understands; the status stays the error's. Without a
    session: 303 to the sign-in page, which comes back here."""
    if isinstance(error, ConsoleSignInRequired):
        return pages.redirect(f"/console/login?{urlencode({'next': error.next_path})}")
    title, detail = ERROR_TEXT.get(error.code) or STATUS_TEXT.get(status_of(error)) or ("没有完成", "")
    if not ERROR_TEXT.get(error.code):
        detail = f"{detail} （{error.message}）" if detail else error.message
    return render("console/error.html", None, status=status_of(error), title=title, detail=detail)


def console_page(
    path: str, methods: tuple[str, ...] = ("GET",), **declared: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A page (or action) of a signed-in operator; on a POST the CSRF token is checked first."""
    return blueprint.route(path, methods=list(methods), auth=operator_signed_in, errors=errors, **declared)


def done(path: str, **query: str) -> Response:
    return pages.redirect(f"{path}?{urlencode(query)}" if query else path)


# -- queries and forms --------------------------------------------------------------------


class RangeQuery(msgspec.Struct, forbid_unknown_fields=False):
    """A range of business days (both included); by default the last 14."""

    from_: date | None = msgspec.field(default=None, name="from")
    to: date | None = None
    done: Annotated[str, Meta(max_length=32)] | None = None


class LoginQuery(msgspec.Struct, forbid_unknown_fields=False):
    next: Annotated[str, Meta(max_length=1024)] | None = None


class LoginForm(msgspec.Struct, forbid_unknown_fields=False):
    """The only console form without a CSRF token (there is no session yet)."""

    username: Annotated[str, Meta(max_length=64)]
    password: Annotated[str, Meta(max_length=operators.MAX_PASSWORD)]
    next: Annotated[str, Meta(max_length=1024)] | None = None


class CsrfForm(msgspec.Struct, forbid_unknown_fields=False):
    csrf_token: CsrfToken


class QrForm(msgspec.Struct, forbid_unknown_fields=False):
    csrf_token: CsrfToken
    staff: Annotated[str, Meta(max_length=64)] = ""  # a staff id; empty: the store's own code
    staff_name: Annotated[str, Meta(max_length=32)] = ""
    permanent: Literal["on", ""] = ""
    points: Annotated[str, Meta(max_length=8)] = ""  # a table card's points per scan; empty: not a card


class CardQuery(msgspec.Struct, forbid_unknown_fields=False):
    scene: Annotated[str, Meta(min_length=1, max_length=64)]


class SlotsQuery(msgspec.Struct, forbid_unknown_fields=False):
    area: Area | None = None
    from_: date | None = msgspec.field(default=None, name="from")
    done: Annotated[str, Meta(max_length=32)] | None = None


class CapacityForm(msgspec.Struct, forbid_unknown_fields=False):
    csrf_token: CsrfToken
    area: Area
    date: date
    window: Window
    capacity: Capacity


class CampaignForm(msgspec.Struct, forbid_unknown_fields=False):
    """A campaign as a store manager describes it: amounts in yuan, dates as days."""

    csrf_token: CsrfToken
    campaign_id: CampaignId
    title: Annotated[str, Meta(min_length=1, max_length=64)]
    kind: Literal["fixed", "percent"]
    amount: Annotated[float, Meta(gt=0, le=10**8)]  # yuan off, or percent off
    min_spend: Annotated[float, Meta(ge=0, le=10**8)] = 0
    valid_from: date | None = None
    valid_to: date | None = None
    total_limit: Annotated[int, Meta(ge=1, le=10_000_000)] = 100
    per_customer_limit: Annotated[int, Meta(ge=1, le=10_000_000)] = 1
    trigger: Literal["none", "purchase"] = "none"
    trigger_skus: Annotated[str, Meta(max_length=2000)] = ""
    trigger_stores: Annotated[str, Meta(max_length=2000)] = ""


class IssueForm(msgspec.Struct, forbid_unknown_fields=False):
    csrf_token: CsrfToken
    openids: Annotated[str, Meta(max_length=MAX_OPENIDS * 70)]


class RedriveForm(msgspec.Struct, forbid_unknown_fields=False):
    csrf_token: CsrfToken
    queue: Literal[tuple(DEAD_LETTERS)]  # type: ignore[valid-type]


class DayQuery(msgspec.Struct, forbid_unknown_fields=False):
    date: date | None = None


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def _day(day: date | None, name: str) -> date | None:
    """A day the console can count from (its pages add and subtract weeks from it)."""
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(f"{name} must be between {FIRST_DAY} and {LAST_DAY}", code="invalid_range")
    return day


def _range(query: RangeQuery) -> tuple[date, date]:
    _day(query.from_, "from")
    end = _day(query.to, "to") or clock.business_date()
    start = query.from_ or end - timedelta(days=13)
    if start > end or (end - start).days >= MAX_RANGE_DAYS:
        raise InvalidInput(f"the range is 1 to {MAX_RANGE_DAYS} days, from before to", code="invalid_range")
    return start, end


def _words(text: str) -> list[str]:
    return [w for w in text.replace(",", " ").replace("，", " ").split() if w]


# -- sign-in --------------------------------------------------------------------------------


@blueprint.route("/console/login", methods=["GET"], query=LoginQuery, errors=errors)
def login_page(query: LoginQuery) -> Response:
    """The sign-in page."""
    return render("console/login.html", None, next=safe_next(query.next), failed=None)


@blueprint.route("/console/login", methods=["POST"], form=LoginForm, errors=errors)
def login(form: LoginForm) -> Response:
    """Sign in: 303 to the console with the session cookie; 401 a wrong password, 423 locked."""
    try:
        operator = operators.sign_in(form.username, form.password)
    except AppError as refusal:
        title, detail = ERROR_TEXT.get(refusal.code, STATUS_TEXT[400])
        return render(
            "console/login.html",
            None,
            status=status_of(refusal),
            next=safe_next(form.next),
            failed=(title, detail),
            username=form.username,
        )
    token = operators.session_token(operator, ttl_s())
    return pages.redirect(safe_next(form.next), cookies=[session_cookie(token)])


@console_page("/console/logout", methods=("POST",), form=CsrfForm)
def logout(caller: Caller, form: CsrfForm) -> Response:
    """Sign out: the session cookie is cleared."""
    return pages.redirect("/console/login", cookies=[clear_session_cookie()])


# -- overview and stores ------------------------------------------------------------------


@console_page("/console", query=RangeQuery)
def overview(caller: Caller, query: RangeQuery) -> Response:
    """Every store's funnel and daily lines, the total, and the staff leaderboard."""
    start, end = _range(query)
    if not caller.operator.is_admin:  # a store operator's overview is their store
        return pages.redirect(f"/console/stores/{caller.operator.store_id}")
    return render("console/overview.html", caller, nav="overview", **views.overview(start, end))


@console_page("/console/stores/{store_id}", query=RangeQuery, path_types=STORE)
def store_page(caller: Caller, store_id: str, query: RangeQuery) -> Response:
    """One store: its charts, staff, QR codes and a form for a new code."""
    caller.require_store(store_id)
    start, end = _range(query)
    return render(
        "console/store.html", caller, nav="stores", done=query.done, **views.store(store_id, start, end)
    )


def _card_points(text: str) -> int | None:
    """A table card's points from the form (ASCII digits only: `int("²")` raises), or None."""
    text = text.strip()
    if not text:
        return None
    if not re.fullmatch(r"[0-9]{1,8}", text):
        raise InvalidInput("points must be a whole number", code="invalid_points")
    return check(int(text), CardPoints, "points")


@console_page("/console/stores/{store_id}/qrcodes", methods=("POST",), form=QrForm, path_types=STORE)
def create_qrcode(caller: Caller, store_id: str, form: QrForm) -> Response:
    """Create a QR code for the store or one of its staff (and name the staff member)."""
    caller.require_store(store_id)
    staff_id = check(form.staff.strip(), StaffId, "staff_id") if form.staff.strip() else None
    name = form.staff_name.strip()
    if staff_id and name:
        check(name, DisplayName, "staff_name")
        stores.put_staff(store_id, staff_id, name)
    points = _card_points(form.points)
    code = qrcodes.create_qrcode(store_id, staff_id, permanent=form.permanent == "on", points=points)
    audit.record(
        caller.operator.username,
        caller.operator.role,
        "qrcode.create",
        code.scene,
        store_id,
        f"{'permanent' if code.permanent else 'temporary'}"
        + (f", staff {staff_id} {name}" if staff_id else "")
        + (f", table card {points} points" if points else ""),
    )
    return done(f"/console/stores/{store_id}/card", scene=code.scene)


@console_page("/console/stores/{store_id}/card", query=CardQuery, path_types=STORE)
def counter_card(caller: Caller, store_id: str, query: CardQuery) -> Response:
    """A QR code's counter card, sized for A6 when printed."""
    caller.require_store(store_id)
    card = views.card(store_id, query.scene)
    if card is None:
        raise NotFound("no such QR code in this store", code="qrcode_not_found")
    return render("console/card.html", caller, nav="stores", **card)


# Not a page: its answer is JSON (the 2XX a page declares is HTML).
STATS_DOCUMENT = {
    "responses": {
        "2XX": {
            "description": "the store's daily counters and staff totals",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }
}


@console_page(
    "/console/stores/{store_id}/stats.json", query=RangeQuery, path_types=STORE, document=STATS_DOCUMENT
)
def store_data(caller: Caller, store_id: str, query: RangeQuery) -> Response:
    """The store's daily counters and staff totals as JSON (what its charts draw)."""
    caller.require_store(store_id)
    start, end = _range(query)
    found = views.store(store_id, start, end)
    return Response(
        body={"store_id": store_id, "days": found["days"], "staff": found["staff"]},
        headers={"Cache-Control": "no-store"},
    )


# -- slots ----------------------------------------------------------------------------------


@console_page("/console/slots", query=SlotsQuery)
def slots_page(caller: Caller, query: SlotsQuery) -> Response:
    """A calendar of an area's windows: capacity, booked and remaining, each editable."""
    caller.require_admin()
    start = _day(query.from_, "from") or clock.business_date()
    return render(
        "console/slots.html", caller, nav="slots", done=query.done, **views.slots(query.area, start)
    )


@console_page("/console/slots", methods=("POST",), form=CapacityForm)
def set_capacity(caller: Caller, form: CapacityForm) -> Response:
    """Set one window's capacity (below what is booked is refused with the API's message)."""
    caller.require_admin()
    definition = SlotsDefinition(form.area, form.date, [WindowCapacity(form.window, form.capacity)])
    slots.define(definition)
    audit.record(
        caller.operator.username,
        caller.operator.role,
        "slots.capacity",
        f"{form.area}|{form.date.isoformat()}|{form.window}",
        None,
        f"capacity {form.capacity}",
    )
    return done("/console/slots", area=form.area, **{"from": form.date.isoformat()}, done="capacity")


# -- campaigns ------------------------------------------------------------------------------


@console_page("/console/campaigns", query=RangeQuery)
def campaigns_page(caller: Caller, query: RangeQuery) -> Response:
    """Every campaign with its issued, claimed and redeemed counts; forms to create and issue."""
    caller.require_admin()
    return render(
        "console/campaigns.html",
        caller,
        nav="campaigns",
        done=query.done,
        campaigns=views.campaigns(),
        today=clock.business_date().isoformat(),
    )


@console_page("/console/campaigns", methods=("POST",), form=CampaignForm)
def create_campaign(caller: Caller, form: CampaignForm) -> Response:
    """Create (or change) a campaign: fixed or percent off, limits, window, trigger."""
    caller.require_admin()
    today = clock.business_date()
    trigger = None
    if form.trigger == "purchase":
        skus = [check(s, Sku, "trigger_skus") for s in _words(form.trigger_skus)]
        store_ids = [check(s, StoreId, "trigger_stores") for s in _words(form.trigger_stores)]
        trigger = TriggerRequest("purchase", skus or None, store_ids or None)
    request = CampaignRequest(
        title=form.title.strip(),
        valid_from=(form.valid_from or today).isoformat(),
        valid_to=(form.valid_to or today + timedelta(days=30)).isoformat(),
        total_limit=form.total_limit,
        per_customer_limit=form.per_customer_limit,
        discount_cents=round(form.amount * 100) if form.kind == "fixed" else None,
        percent_off=round(form.amount) if form.kind == "percent" else None,
        min_spend_cents=round(form.min_spend * 100),
        trigger=trigger,
    )
    request = check(msgspec.to_builtins(request), CampaignRequest, "campaign")  # the API's own limits
    campaign, created = campaigns.put_campaign(form.campaign_id, request)
    audit.record(
        caller.operator.username,
        caller.operator.role,
        "campaign.create" if created else "campaign.update",
        campaign.campaign_id,
        None,
        f"{campaign.title}; limit {campaign.total_limit}, {campaign.per_customer_limit} per customer",
    )
    return done("/console/campaigns", done="saved")


@console_page(
    "/console/campaigns/{campaign_id}/issue",
    methods=("POST",),
    form=IssueForm,
    path_types={"campaign_id": CampaignId},
)
def issue_campaign(caller: Caller, campaign_id: str, form: IssueForm) -> Response:
    """Issue the campaign's coupon to each pasted openid (the whole list is checked first)."""
    caller.require_admin()
    openids = _words(form.openids)
    body = check({"openids": openids}, IssueRequest, "openids")
    for openid in body.openids:
        check(openid, OpenId, "openids")
    result = issuing.issue_to(campaign_id, body.openids)
    audit.record(
        caller.operator.username,
        caller.operator.role,
        "campaign.issue",
        campaign_id,
        None,
        f"{result['issued']} of {len(body.openids)} issued",
    )
    return done("/console/campaigns", done=f"issued-{result['issued']}-{len(body.openids)}")


# -- notifications, reminders, audit --------------------------------------------------------


@console_page("/console/notifications", query=RangeQuery)
def notifications_page(caller: Caller, query: RangeQuery) -> Response:
    """The last 24 hours by kind and outcome, failed and deferred ones, and each DLQ's depth."""
    caller.require_admin()
    return render(
        "console/notifications.html",
        caller,
        nav="notifications",
        done=query.done,
        counts=views.outcome_table(report.last_day_counts()),
        problems=report.recent_problems(),
        queues=[(name, DEAD_LETTERS[name], n) for name, n in depths().items()],
    )


@console_page("/console/notifications/redrive", methods=("POST",), form=RedriveForm)
def redrive_queue(caller: Caller, form: RedriveForm) -> Response:
    """Move a dead-letter queue's messages back to their queue."""
    caller.require_admin()
    moved = redrive(form.queue)
    audit.record(
        caller.operator.username, caller.operator.role, "dlq.redrive", form.queue, None, f"{moved} moved back"
    )
    return done("/console/notifications", done=f"redrive-{moved}")


@console_page("/console/reminders", query=DayQuery)
def reminders_page(caller: Caller, query: DayQuery) -> Response:
    """Reminder runs per day: due, sent, skipped by reason, pending."""
    caller.require_admin()
    last = _day(query.date, "date") or clock.business_date()
    runs = [run_stats(last - timedelta(days=n)) for n in range(14)]
    return render("console/reminders.html", caller, nav="reminders", runs=runs)


@console_page("/console/audit", query=RangeQuery)
def audit_page(caller: Caller, query: RangeQuery) -> Response:
    """Who changed what, and when (admins only)."""
    caller.require_admin()
    return render("console/audit.html", caller, nav="audit", entries=audit.recent(days=14))


@console_page("/console/referrals")
def referrals_page(caller: Caller) -> Response:
    """Sharers: views of their share page, follows through it, and those followers' first orders."""
    caller.require_admin()
    sharers = referrers()
    return render(
        "console/referrals.html",
        caller,
        nav="referrals",
        sharers=sharers,
        totals={
            "views": sum(r.views for r in sharers),
            "follows": sum(r.follows for r in sharers),
            "first_orders": sum(r.first_orders for r in sharers),
        },
    )
