"""POST /admin/orders. The order-events consumer is in background.py."""

from __future__ import annotations

from dataclasses import asdict

from chalice import Response

from functions.core.http import Blueprint
from functions.orders import domain
from functions.orders.requests import OrderRequest

blueprint = Blueprint(__name__)


@blueprint.route("/admin/orders", methods=["POST"], auth="admin", body=OrderRequest)
def record_order(body: OrderRequest) -> Response:
    """Record an order (idempotent per order_id) and publish `order_recorded`."""
    order, created = domain.record_order(body.to_input())
    return Response(body={**asdict(order), "created": created}, status_code=201 if created else 200)
