"""Segments (CONTRACT §12): the admin routes, the events that move memberships, the jobs."""

from __future__ import annotations

import json
import logging
from typing import Any

from chalice import Cron, Rate, Response

from functions.core import clock, streams
from functions.core.fields import SegmentId
from functions.core.http import Blueprint
from functions.customers.domain import from_stream_image
from functions.segments import domain, events, jobs, tags
from functions.segments.requests import MembersQuery, SegmentBody

log = logging.getLogger(__name__)

blueprint = Blueprint(__name__)


@blueprint.route(
    "/admin/segments/{segment_id}",
    methods=["PUT"],
    auth="admin",
    body=SegmentBody,
    path_types={"segment_id": SegmentId},
)
def put_segment(segment_id: str, body: SegmentBody) -> Response:
    """Define a segment: rules ANDed; new rules recompute its membership in full."""
    segment = domain.put_segment(segment_id, body.name, [r.to_rule() for r in body.rules], body.wechat_tag)
    return Response(body=segment.to_dict(), status_code=200)


@blueprint.route(
    "/admin/segments/{segment_id}", methods=["GET"], auth="admin", path_types={"segment_id": SegmentId}
)
def get_segment(segment_id: str) -> Response:
    """A segment, its exact member count, its recompute and its tag's sync state."""
    return Response(body=domain.get_segment(segment_id).to_dict())


@blueprint.route(
    "/admin/segments/{segment_id}/members",
    methods=["GET"],
    auth="admin",
    query=MembersQuery,
    path_types={"segment_id": SegmentId},
)
def get_members(segment_id: str, query: MembersQuery) -> Response:
    """A page of the segment's members (openids), and the cursor of the next page."""
    openids, cursor = domain.members_page(segment_id, query.cursor)
    return Response(body={"openids": openids, "cursor": cursor})


@blueprint.on_dynamodb_record(
    stream_arn=streams.source("customers"),
    batch_size=100,
    starting_position="TRIM_HORIZON",
    name="segment_customer_events",
)
def segment_customer_events(event: Any) -> None:
    """Follows, unfollows, consent and first touches re-evaluate that customer; raising makes
    the stream deliver the batch again (re-evaluation is idempotent)."""
    for record in event.to_dict()["Records"]:
        image = (record.get("dynamodb") or {}).get("NewImage")
        customer = from_stream_image(image) if image else None
        if customer is not None:
            events.on_customer_changed(customer)


# 03:30 business time: after the day has turned, before anyone reads the segments.
@blueprint.schedule(Cron(30, 3, "*", "*", "?", "*"), name="segment_daily")
def segment_daily(event: Any) -> dict[str, Any]:
    """Re-evaluate the rules on elapsed time (a job), and resume unfinished recomputes."""
    started = jobs.start_daily(clock.business_date())
    log.info("segments daily: %s", started)
    return started


@blueprint.on_sqs_message(queue=jobs.QUEUE, batch_size=1, name="segment_jobs")
def segment_jobs(event: Any) -> dict[str, Any]:
    context = getattr(event, "context", None)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    failures = []
    for record in event:
        message_id = record.to_dict().get("messageId")
        try:
            task = json.loads(record.body)
            kind = task["kind"]
        except (ValueError, KeyError, TypeError):
            log.error("dropping malformed segment task %r", record.body[:200])
            continue  # retrying cannot fix it
        try:
            if kind == "recompute":
                result = jobs.process_shard(task, remaining_ms=remaining)
                log.info(
                    "segment job %s shard %d: read %d, changed %d",
                    result.job,
                    result.shard,
                    result.read,
                    result.changed,
                )
            elif kind == "reconcile":
                segment = domain.find_segment(str(task["segment"]))
                if segment is not None:
                    done = tags.reconcile(segment)
                    log.info("segment %s tag reconciled: %s", segment.id, done)
            else:
                log.error("dropping segment task of unknown kind %r", kind)
        except Exception:
            log.exception("segment task %s failed; it will be retried", record.body[:200])
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


@blueprint.schedule(Rate(1, unit=Rate.MINUTES), name="segment_tag_sync")
def segment_tag_sync(event: Any) -> dict[str, Any]:
    """Each WeChat tag's pending (un)taggings, in batches of at most 50."""
    done = {}
    for segment in domain.list_segments():
        if segment.wechat_tag and segment.tag_id is not None:
            result = tags.sync(segment)
            if result.calls:
                done[segment.id] = result.__dict__
    if done:
        log.info("segment tags synced: %s", done)
    return done
