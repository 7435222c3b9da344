"""Repurchase reminders' background functions: the daily job and its shard workers.

Each function imports its work on its first call: a queue or schedule function's cold start
loads only what it runs, and `import app` (which declares these) loads none of it.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

from chalice import Blueprint, Cron

blueprint = Blueprint(__name__)
log = logging.getLogger(__name__)
SHARD_QUEUE = "reminder-shards"  # functions.reminders.job.QUEUE


# 10:00 business time (the expression is in TZ_BUSINESS): after quiet hours, early in the shopping day.
@blueprint.schedule(Cron(0, 10, "*", "*", "?", "*"), name="repurchase_reminders")
def repurchase_reminders(event: Any) -> dict[str, Any]:
    from functions.reminders import job  # cold start: only this function and the shard worker run the job

    day = job.resolve_date(event.to_dict())
    shards = job.fan_out(day)
    log.info("repurchase reminders for %s: %d shard tasks enqueued", day, shards)
    return {"date": day.isoformat(), "shards": shards}


@blueprint.on_sqs_message(queue=SHARD_QUEUE, batch_size=1, name="reminder_shard_worker")
def reminder_shard_worker(event: Any) -> dict[str, Any]:
    from functions.reminders import job  # cold start: see repurchase_reminders

    context = getattr(event, "context", None)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    failures = []
    for record in event:
        message_id = record.to_dict().get("messageId")
        try:
            task = json.loads(record.body)
            day, shard = str(task["date"]), int(task["shard"])
            date.fromisoformat(day)
        except (ValueError, KeyError, TypeError):
            log.error("dropping malformed reminder shard task %r", record.body[:200])
            continue  # retrying cannot fix it
        try:
            result = job.process_shard(
                day, shard, task.get("cursor"), int(task.get("seen") or 0), remaining_ms=remaining
            )
            # Most shards of most days are empty: only a shard that read something says so.
            level = logging.INFO if result.read else logging.DEBUG
            log.log(level, "reminder shard %s/%02d: read %d, %s", day, shard, result.read, result.outcomes)
        except Exception:
            log.exception("reminder shard %s/%02d failed; it will be retried", day, shard)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
