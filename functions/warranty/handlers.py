"""Warranty and after-sales routes (CONTRACT §13): serials (ops), registration and the
e-warranty (customer), service requests (customer opens, ops schedule, complete, cancel)."""

from __future__ import annotations

from typing import Any

from chalice import Response

from functions.bookings.requests import IdempotencyKey
from functions.core.http import Blueprint, check, header
from functions.warranty import serials, service
from functions.warranty.requests import (
    RegistrationBody,
    RequestId,
    ScheduleBody,
    SerialsBody,
    ServiceRequestBody,
)

blueprint = Blueprint(__name__)

REQUEST = {"request_id": RequestId}


@blueprint.route("/admin/serials", methods=["POST"], auth="admin", body=SerialsBody)
def post_serials(body: SerialsBody) -> Response:
    """Register manufactured serials of one SKU (at most 1,000; checked whole before any write)."""
    return Response(body=serials.add_serials(body.sku, body.serials), status_code=201)


@blueprint.route("/warranty/registrations", methods=["POST"], auth="customer", body=RegistrationBody)
def post_registration(openid: str, body: RegistrationBody) -> Response:
    """Register a product I received: 201, 200 if it is mine already, 409 if it is another's."""
    warranty, created = serials.register(openid, body.serial, body.purchased_on)
    return Response(body=warranty.to_view(), status_code=201 if created else 200)


@blueprint.route("/warranty", methods=["GET"], auth="customer")
def get_warranty(openid: str) -> list[dict[str, Any]]:
    """My registered products with their warranty status."""
    return [w.to_view() for w in serials.products_of(openid)]


@blueprint.route("/service-requests", methods=["POST"], auth="customer", body=ServiceRequestBody)
def post_service_request(openid: str, body: ServiceRequestBody) -> Response:
    """Ask for a repair of a registered product (an Idempotency-Key header makes retries safe)."""
    key = check(
        header(blueprint.current_request, "Idempotency-Key") or None, IdempotencyKey | None, "idempotency_key"
    )
    response, replayed = service.open_request(openid, body.serial, body.problem, key)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(body=response, status_code=201, headers=headers)


@blueprint.route("/service-requests", methods=["GET"], auth="customer")
def get_service_requests(openid: str) -> list[dict[str, Any]]:
    """My service requests, newest first."""
    return [r.to_view() for r in service.requests_of(openid)]


@blueprint.route("/admin/service-requests", methods=["GET"], auth="admin")
def get_open_service_requests() -> list[dict[str, Any]]:
    """Open service requests, oldest first (to schedule)."""
    return [r.to_view() for r in service.open_requests()]


@blueprint.route(
    "/admin/service-requests/{request_id}/schedule",
    methods=["POST"],
    auth="admin",
    body=ScheduleBody,
    path_types=REQUEST,
)
def schedule(request_id: str, body: ScheduleBody) -> dict[str, Any]:
    """Schedule (or move) the repair visit into a slot: it takes a place as a booking does."""
    return service.schedule(request_id, body.slot_id).to_view()


@blueprint.route(
    "/admin/service-requests/{request_id}/complete", methods=["POST"], auth="admin", path_types=REQUEST
)
def complete(request_id: str) -> dict[str, Any]:
    """The repair visit happened."""
    return service.complete(request_id).to_view()


@blueprint.route(
    "/admin/service-requests/{request_id}/cancel", methods=["POST"], auth="admin", path_types=REQUEST
)
def cancel(request_id: str) -> dict[str, Any]:
    """Cancel the request; a scheduled visit's place is released once."""
    return service.cancel(request_id).to_view()
