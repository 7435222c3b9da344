"""Segments' background functions: re-evaluating a customer who changed, the daily job, recompute and
reconcile tasks, and the WeChat tags' sync.

Each function imports its work on its first call: a queue or schedule function's cold start
loads only what it runs, and `import app` (which declares these) loads none of it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from chalice import Blueprint, Cron, Rate

from functions.core import streams

blueprint = Blueprint(__name__)
log = logging.getLogger(__name__)
JOB_QUEUE = "segment-jobs"  # functions.segments.jobs.QUEUE


@blueprint.on_dynamodb_record(
    stream_arn=streams.source("customers"),
    batch_size=100,
    starting_position="TRIM_HORIZON",
    name="segment_customer_events",
)
def segment_customer_events(event: Any) -> None:
    """Follows, unfollows, consent and first touches re-evaluate that customer; raising makes
    the stream deliver the batch again (re-evaluation is idempotent)."""
    from functions.customers.domain import from_stream_image
    from functions.segments import events

    for record in event.to_dict()["Records"]:
        image = (record.get("dynamodb") or {}).get("NewImage")
        customer = from_stream_image(image) if image else None
        if customer is not None:
            events.on_customer_changed(customer)


# 03:30 business time: after the day has turned, before anyone reads the segments.
@blueprint.schedule(Cron(30, 3, "*", "*", "?", "*"), name="segment_daily")
def segment_daily(event: Any) -> dict[str, Any]:
    """Re-evaluate the rules on elapsed time (a job), and resume unfinished recomputes."""
    from functions.core import clock
    from functions.segments import jobs

    started = jobs.start_daily(clock.business_date())
    log.info("segments daily: %s", started)
    return started


@blueprint.on_sqs_message(queue=JOB_QUEUE, batch_size=1, name="segment_jobs")
def segment_jobs(event: Any) -> dict[str, Any]:
    from functions.segments import domain, jobs, tags

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
    from functions.segments import domain, tags

    done = {}
    for segment in domain.list_segments():
        if segment.wechat_tag and segment.tag_id is not None:
            result = tags.sync(segment)
            if result.calls:
                done[segment.id] = result.__dict__
    if done:
        log.info("segment tags synced: %s", done)
    return done
