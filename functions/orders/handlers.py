"""POST /admin/orders and the order-events consumer."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import Any

from chalice import Response

from functions.core.http import Blueprint, json_body, require_admin
from functions.orders import domain
from functions.orders.requests import parse_order

log = logging.getLogger(__name__)

blueprint = Blueprint(__name__)


@blueprint.route("/admin/orders", methods=["POST"])
def record_order() -> Response:
    request = blueprint.current_request
    require_admin(request)
    order, created = domain.record_order(parse_order(json_body(request)))
    return Response(body={**asdict(order), "created": created}, status_code=201 if created else 200)


@blueprint.on_sqs_message(queue="order-events", batch_size=10, name="order_events")
def order_events(event: Any) -> dict[str, Any]:
    """Hand each `order_recorded` event to every subscriber; a record whose subscriber raised
    is retried (subscribers are idempotent)."""
    failures = []
    for record in event:
        message_id = record.to_dict()["messageId"]
        try:
            domain.dispatch_event(json.loads(record.body))
        except Exception:
            log.exception("order event %s failed", message_id)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
