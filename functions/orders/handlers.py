"""POST /admin/orders and the order-events consumer."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import Any

from chalice import Response

from functions.core.http import Blueprint
from functions.orders import domain
from functions.orders.requests import OrderRequest

log = logging.getLogger(__name__)

blueprint = Blueprint(__name__)


@blueprint.route("/admin/orders", methods=["POST"], auth="admin", body=OrderRequest)
def record_order(body: OrderRequest) -> Response:
    """Record an order (idempotent per order_id) and publish `order_recorded`."""
    order, created = domain.record_order(body.to_input())
    return Response(body={**asdict(order), "created": created}, status_code=201 if created else 200)


@blueprint.on_sqs_message(queue="order-events", batch_size=10, name="order_events")
def order_events(event: Any) -> dict[str, Any]:
    """Hand each `order_recorded` event to every subscriber; a record whose subscriber raised
    is retried (subscribers are idempotent)."""
    from functions.orders import subscribers  # cold start: the API function never dispatches

    failures = []
    for record in event:
        message_id = record.to_dict()["messageId"]
        try:
            subscribers.dispatch(json.loads(record.body))
        except Exception:
            log.exception("order event %s failed", message_id)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
