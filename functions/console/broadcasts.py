"""The console's broadcasts (CONTRACT §12): compose and schedule one to a segment, and see each
one's audience, WeChat's counts and its report against the holdout, drawn as a chart; and the
same report for repurchase reminders against the products' holdouts. Admins only. Its pages join the console's Blueprint (app.py imports this module) and call the same
domain functions as the JSON routes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

import msgspec
from chalice import Response
from msgspec import Meta

from functions.audit import domain as audit
from functions.broadcasts import domain as broadcasts
from functions.broadcasts.handlers import send_at_of
from functions.broadcasts.requests import MAX_TEXT, BroadcastRequest, ReportQuery
from functions.console import charts
from functions.console.handlers import CsrfToken, console_page, done, render
from functions.console.session import Caller
from functions.core import clock
from functions.core.errors import InvalidInput, RuleBroken
from functions.core.fields import BroadcastId
from functions.core.http import check
from functions.reminders.report import reminders_report
from functions.segments import domain as segments

LOCAL_MOMENT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?$(?!\n)"


class ListQuery(msgspec.Struct, forbid_unknown_fields=False):
    done: Annotated[str, Meta(max_length=32)] | None = None


class BroadcastForm(msgspec.Struct, forbid_unknown_fields=False):
    """A broadcast as ops compose it: text or a media_id, and when (business time; empty: now)."""

    csrf_token: CsrfToken
    segment_id: Annotated[str, Meta(max_length=64)]
    kind: Literal["text", "media"] = "text"
    text: Annotated[str, Meta(max_length=MAX_TEXT)] = ""
    media: Annotated[str, Meta(max_length=128)] = ""  # a media_id, checked as the API checks it
    holdout_percent: Annotated[int, Meta(ge=0, le=50)] = 0
    send_at: Annotated[str, Meta(max_length=19)] = ""


def _send_at(text: str) -> datetime | None:
    """A datetime-local field's value, in business time; empty: now."""
    if not text:
        return None
    moment = check(text, Annotated[str, Meta(pattern=LOCAL_MOMENT)], "send_at")
    try:
        return datetime.fromisoformat(moment).replace(tzinfo=clock.business_tz())
    except ValueError:
        raise InvalidInput("send_at is not a time", code="invalid_send_at") from None


@console_page("/console/broadcasts", query=ListQuery)
def broadcasts_page(caller: Caller, query: ListQuery) -> Response:
    """Every broadcast, newest first, with its counts; the form to compose one."""
    caller.require_admin()
    return render(
        "console/broadcasts.html",
        caller,
        nav="broadcasts",
        done=query.done,
        broadcasts=broadcasts.list_broadcasts(),
        segments=segments.list_segments(),
    )


@console_page("/console/broadcasts", methods=("POST",), form=BroadcastForm)
def create_broadcast(caller: Caller, form: BroadcastForm) -> Response:
    """Schedule a broadcast, within the API's own limits."""
    caller.require_admin()
    send_at = _send_at(form.send_at)
    body = {
        "segment_id": form.segment_id,
        "holdout_percent": form.holdout_percent,
        **({"text": form.text.strip()} if form.kind == "text" else {"media_id": form.media.strip()}),
    }
    request = check(body, BroadcastRequest, "broadcast")
    if form.kind == "text" and not request.text:
        raise RuleBroken("the text is empty", code="text_or_media_id")
    created = broadcasts.create_broadcast(
        broadcasts.NewBroadcast(
            segment_id=request.segment_id,
            text=request.text,
            media_id=request.media_id,
            holdout_percent=request.holdout_percent,
            send_at=send_at_of(send_at),
        )
    )
    audit.record(
        caller.operator.username,
        caller.operator.role,
        "broadcast.create",
        created["broadcast_id"],
        None,
        f"segment {request.segment_id}, holdout {request.holdout_percent}%, at {created['send_at']}",
    )
    return done(f"/console/broadcasts/{created['broadcast_id']}", done="scheduled")


class BroadcastQuery(ReportQuery, forbid_unknown_fields=False):
    done: Annotated[str, Meta(max_length=32)] | None = None


@console_page(
    "/console/broadcasts/{broadcast_id}", query=BroadcastQuery, path_types={"broadcast_id": BroadcastId}
)
def broadcast_page(caller: Caller, broadcast_id: str, query: BroadcastQuery) -> Response:
    """One broadcast: audience, WeChat's counts, and recipients against holdout as a chart."""
    caller.require_admin()
    view = broadcasts.get_broadcast(broadcast_id, query.window_days)
    report = view["report"]
    chart = (
        charts.holdout_comparison(f"群发后 {query.window_days} 天内购买的比例", report) if report else None
    )
    return render(
        "console/broadcast.html",
        caller,
        nav="broadcasts",
        done=query.done,
        b=view,
        chart=chart,
        window_days=query.window_days,
    )


class ReminderReportQuery(msgspec.Struct, forbid_unknown_fields=False):
    """Reminders due in [from, to] (business days; default the 30 days before the window)."""

    from_: date | None = msgspec.field(default=None, name="from")
    to: date | None = None
    window_days: Annotated[int, Meta(ge=1, le=90)] = 7


@console_page("/console/reminders/report", query=ReminderReportQuery)
def reminders_report_page(caller: Caller, query: ReminderReportQuery) -> Response:
    """Do repurchase reminders sell? Reminded customers against the products' holdouts."""
    caller.require_admin()
    end = query.to or clock.business_date() - timedelta(days=query.window_days)
    try:
        start = query.from_ or end - timedelta(days=29)
    except OverflowError:  # a `to` in the first days of year 1
        raise InvalidInput("the range starts before year 1", code="invalid_range") from None
    report = reminders_report(start, end, query.window_days)
    chart = charts.holdout_comparison(
        f"到期后 {query.window_days} 天内复购的比例", report, labels=("收到提醒", "对照组（未提醒）")
    )
    return render(
        "console/reminders_report.html",
        caller,
        nav="reminders",
        r=report,
        chart=chart,
        window_days=query.window_days,
    )
