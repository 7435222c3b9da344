"""Slot and booking routes (customer and admin). The daily `booking_reminders` job is in
background.py."""

from __future__ import annotations

from typing import Any

from chalice import Response

from functions.bookings import areas, domain, slots
from functions.bookings.requests import (
    AreaBody,
    BookingId,
    BookingRequest,
    CompleteRequest,
    IdempotencyKey,
    RescheduleRequest,
    SlotsDefinition,
    SlotsQuery,
)
from functions.core.fields import Area
from functions.core.http import Blueprint, check, header

blueprint = Blueprint(__name__)

BOOKING = {"booking_id": BookingId}


@blueprint.route("/admin/slots", methods=["PUT"], auth="admin", body=SlotsDefinition)
def put_slots(body: SlotsDefinition) -> Response:
    """Define an area's windows and their capacity on one day."""
    return Response(body={"slots": [s.to_view() for s in slots.define(body)]})


@blueprint.route(
    "/admin/areas/{area}", methods=["PUT"], auth="admin", body=AreaBody, path_types={"area": Area}
)
def put_area(area: str, body: AreaBody) -> dict[str, str]:
    """Give a service area the name customers see (e.g. 静安区)."""
    return areas.put_area(area, body.name).to_view()


@blueprint.route("/slots", methods=["GET"], auth="customer", query=SlotsQuery)
def get_slots(openid: str, query: SlotsQuery) -> list[dict[str, Any]]:
    """An area's slots between two dates, with the places left."""
    return [s.to_view() for s in slots.list_slots(query.area, query.from_, query.to)]


@blueprint.route("/bookings", methods=["POST"], auth="customer", body=BookingRequest)
def post_booking(openid: str, body: BookingRequest) -> Response:
    """Book a place in a slot for an order (an Idempotency-Key header makes retries safe)."""
    key = check(
        header(blueprint.current_request, "Idempotency-Key") or None, IdempotencyKey | None, "idempotency_key"
    )
    response, replayed = domain.book(openid, body, key)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(body=response, status_code=201, headers=headers)


@blueprint.route("/bookings", methods=["GET"], auth="customer")
def get_bookings(openid: str) -> list[dict[str, Any]]:
    """My bookings, newest first."""
    return [b.to_view() for b in domain.list_bookings(openid)]


@blueprint.route("/bookings/{booking_id}", methods=["GET"], auth="customer", path_types=BOOKING)
def get_booking(openid: str, booking_id: str) -> dict[str, Any]:
    """One of my bookings."""
    return domain.get_booking(openid, booking_id).to_view()


@blueprint.route(
    "/bookings/{booking_id}/reschedule",
    methods=["POST"],
    auth="customer",
    body=RescheduleRequest,
    path_types=BOOKING,
)
def post_reschedule(openid: str, booking_id: str, body: RescheduleRequest) -> dict[str, Any]:
    """Move my booking to another slot, or change nothing."""
    return domain.reschedule(openid, booking_id, body.slot_id).to_view()


@blueprint.route("/bookings/{booking_id}", methods=["DELETE"], auth="customer", path_types=BOOKING)
def delete_booking(openid: str, booking_id: str) -> dict[str, Any]:
    """Cancel my booking; its place is released once."""
    booking = domain.cancel(openid, booking_id)
    return {"booking_id": booking.booking_id, "status": booking.status}


@blueprint.route(
    "/admin/bookings/{booking_id}/complete",
    methods=["POST"],
    auth="admin",
    body=CompleteRequest | None,
    path_types=BOOKING,
)
def complete_booking(booking_id: str, body: CompleteRequest | None) -> dict[str, Any]:
    """Mark a delivery done (ops); its units' serials register with today as the installation date."""
    return domain.complete(booking_id, body.serials if body else []).to_view()
