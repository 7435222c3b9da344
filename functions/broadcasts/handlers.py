"""Broadcasts (CONTRACT §12): create, and read with the report. The minute schedule that sends
is in background.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalice import Response

from functions.broadcasts import domain
from functions.broadcasts.requests import BroadcastRequest, ReportQuery
from functions.core import clock
from functions.core.errors import RuleBroken
from functions.core.fields import BroadcastId
from functions.core.http import Blueprint

blueprint = Blueprint(__name__)

MAX_AHEAD = timedelta(days=365)


def send_at_of(moment: datetime | None) -> datetime | None:
    """`send_at` as given (no offset: business time), at most a year ahead."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.business_tz())
    try:
        ahead = moment - clock.now()
    except OverflowError:
        ahead = MAX_AHEAD * 2
    if ahead > MAX_AHEAD:
        raise RuleBroken("send_at is more than a year ahead", code="invalid_send_at")
    return moment


@blueprint.route("/admin/broadcasts", methods=["POST"], auth="admin", body=BroadcastRequest)
def create_broadcast(body: BroadcastRequest) -> Response:
    """Schedule a broadcast to a segment: `text` or `media_id` (exactly one)."""
    if (body.text is None) == (body.media_id is None):
        raise RuleBroken("give exactly one of text and media_id", code="text_or_media_id")
    created = domain.create_broadcast(
        domain.NewBroadcast(
            segment_id=body.segment_id,
            text=body.text.strip() if body.text else None,
            media_id=body.media_id,
            holdout_percent=body.holdout_percent,
            send_at=send_at_of(body.send_at),
        )
    )
    return Response(body=created, status_code=201)


@blueprint.route(
    "/admin/broadcasts/{broadcast_id}",
    methods=["GET"],
    auth="admin",
    query=ReportQuery,
    path_types={"broadcast_id": BroadcastId},
)
def get_broadcast(broadcast_id: str, query: ReportQuery) -> dict[str, Any]:
    """The broadcast's status and counts, and recipients against holdout over `window_days`."""
    return domain.get_broadcast(broadcast_id, query.window_days)
