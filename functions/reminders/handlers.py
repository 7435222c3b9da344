"""Repurchase reminders: products, consent preferences, the daily job, its shard workers, run stats."""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

from chalice import Blueprint, Cron, Response

from functions.core.errors import BadRequest, NotFound, Unprocessable
from functions.core.http import customer_openid, json_body, require_admin
from functions.customers.domain import set_reminder_consent
from functions.reminders import job, stats
from functions.reminders.products import get_product, parse_product, put_product, validate_sku

log = logging.getLogger(__name__)

blueprint = Blueprint(__name__)


@blueprint.route("/admin/products/{sku}", methods=["PUT"])
def put_product_route(sku: str) -> Response:
    require_admin(blueprint.current_request)
    product = parse_product(sku, json_body(blueprint.current_request))
    return Response(body=put_product(product).to_dict(), status_code=200)


@blueprint.route("/admin/products/{sku}", methods=["GET"])
def get_product_route(sku: str) -> Response:
    require_admin(blueprint.current_request)
    product = get_product(validate_sku(sku))
    if product is None:
        raise NotFound(f"no product {sku}", code="product_not_found")
    return Response(body=product.to_dict())


@blueprint.route("/me/preferences", methods=["PUT"])
def put_preferences() -> Response:
    openid = customer_openid(blueprint.current_request)
    body = json_body(blueprint.current_request)
    reminders = body.get("reminders")
    if not isinstance(reminders, bool):
        raise Unprocessable("reminders must be true or false", code="invalid_reminders")
    set_reminder_consent(openid, reminders)
    return Response(body={"reminders": reminders})


@blueprint.route("/admin/reminders/runs/{day}", methods=["GET"])
def get_run_stats(day: str) -> Response:
    require_admin(blueprint.current_request)
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise BadRequest("date must be YYYY-MM-DD", code="invalid_date") from None
    return Response(body=stats.run_stats(parsed))


# 02:00 UTC = 10:00 in Asia/Shanghai: after quiet hours, early in the shopping day.
@blueprint.schedule(Cron(0, 2, "*", "*", "?", "*"), name="repurchase_reminders")
def repurchase_reminders(event: Any) -> dict[str, Any]:
    day = job.resolve_date(event.to_dict())
    shards = job.fan_out(day)
    log.info("repurchase reminders for %s: %d shard tasks enqueued", day, shards)
    return {"date": day.isoformat(), "shards": shards}


@blueprint.on_sqs_message(queue=job.QUEUE, batch_size=1, name="reminder_shard_worker")
def reminder_shard_worker(event: Any) -> dict[str, Any]:
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
