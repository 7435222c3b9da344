"""Repurchase reminders: products, consent preferences, the daily job, its shard workers, run stats."""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

from chalice import Cron, Response

from functions.core.errors import NotFound
from functions.core.fields import Sku
from functions.core.http import Blueprint
from functions.customers.domain import set_reminder_consent
from functions.reminders import stats
from functions.reminders.products import Product, get_product, put_product
from functions.reminders.report import reminders_report
from functions.reminders.requests import PreferencesBody, ProductBody, ReportQuery

log = logging.getLogger(__name__)

blueprint = Blueprint(__name__)
SHARD_QUEUE = "reminder-shards"  # functions.reminders.job.QUEUE (imported on first call)


@blueprint.route(
    "/admin/products/{sku}", methods=["PUT"], auth="admin", body=ProductBody, path_types={"sku": Sku}
)
def put_product_route(sku: str, body: ProductBody) -> Response:
    """Define a product, its replenishment period and its warranty."""
    product = put_product(
        Product(
            sku=sku,
            name=body.name.strip(),
            replenish_days=body.replenish_days,
            warranty_months=body.warranty_months,
            reminder_holdout_percent=body.reminder_holdout_percent,
        )
    )
    return Response(body=product.to_dict(), status_code=200)


@blueprint.route("/admin/products/{sku}", methods=["GET"], auth="admin", path_types={"sku": Sku})
def get_product_route(sku: str) -> Response:
    """A product."""
    product = get_product(sku)
    if product is None:
        raise NotFound(f"no product {sku}", code="product_not_found")
    return Response(body=product.to_dict())


@blueprint.route("/me/preferences", methods=["PUT"], auth="customer", body=PreferencesBody)
def put_preferences(openid: str, body: PreferencesBody) -> Response:
    """The customer's own reminder consent."""
    set_reminder_consent(openid, body.reminders)
    return Response(body={"reminders": body.reminders})


@blueprint.route("/admin/reminders/runs/{day}", methods=["GET"], auth="admin", path_types={"day": date})
def get_run_stats(day: date) -> Response:
    """A business date's run stats."""
    return Response(body=stats.run_stats(day))


@blueprint.route("/admin/reminders/report", methods=["GET"], auth="admin", query=ReportQuery)
def get_reminders_report(query: ReportQuery) -> Response:
    """Reminded customers against the products' holdouts, for reminders due in [from, to]."""
    return Response(body=reminders_report(query.from_, query.to, query.window_days))


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
