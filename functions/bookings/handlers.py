"""Slot and booking routes (customer and admin) and the daily `booking_reminders` job."""

from __future__ import annotations

from typing import Any

from chalice import Cron, Response

from functions.bookings import domain, reminders, slots
from functions.core.errors import InvalidInput
from functions.core.http import Blueprint, customer_openid, header, json_body, query_params, require_admin

blueprint = Blueprint(__name__)


@blueprint.route("/admin/slots", methods=["PUT"])
def put_slots() -> Response:
    request = blueprint.current_request
    require_admin(request)
    keys, capacities = slots.parse_definition(json_body(request))
    defined = slots.define_slots(keys, capacities)
    return Response(body={"slots": [s.to_view() for s in defined]})


@blueprint.route("/slots", methods=["GET"])
def get_slots() -> list[dict[str, Any]]:
    request = blueprint.current_request
    customer_openid(request)
    params = query_params(request)
    for name in ("area", "from", "to"):
        if not params.get(name):
            raise InvalidInput(f"query parameter {name} is required", code="missing_parameter")
    area = slots.parse_area(params["area"])
    start = slots.parse_date(params["from"], "from")
    end = slots.parse_date(params["to"], "to")
    return [s.to_view() for s in slots.list_slots(area, start, end)]


@blueprint.route("/bookings", methods=["POST"])
def post_booking() -> Response:
    request = blueprint.current_request
    openid = customer_openid(request)
    booking_request = domain.parse_request(json_body(request))
    key = domain.parse_idempotency_key(header(request, "Idempotency-Key"))
    response, replayed = domain.book(openid, booking_request, key)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(body=response, status_code=201, headers=headers)


@blueprint.route("/bookings", methods=["GET"])
def get_bookings() -> list[dict[str, Any]]:
    openid = customer_openid(blueprint.current_request)
    return [b.to_view() for b in domain.list_bookings(openid)]


@blueprint.route("/bookings/{booking_id}", methods=["GET"])
def get_booking(booking_id: str) -> dict[str, Any]:
    openid = customer_openid(blueprint.current_request)
    return domain.get_booking(openid, booking_id).to_view()


@blueprint.route("/bookings/{booking_id}/reschedule", methods=["POST"])
def post_reschedule(booking_id: str) -> dict[str, Any]:
    request = blueprint.current_request
    openid = customer_openid(request)
    slot_id = json_body(request).get("slot_id")
    if not isinstance(slot_id, str) or not slot_id:
        raise InvalidInput("slot_id is required", code="invalid_slot_id")
    return domain.reschedule(openid, booking_id, slot_id).to_view()


@blueprint.route("/bookings/{booking_id}", methods=["DELETE"])
def delete_booking(booking_id: str) -> dict[str, Any]:
    openid = customer_openid(blueprint.current_request)
    booking = domain.cancel(openid, booking_id)
    return {"booking_id": booking.booking_id, "status": booking.status}


# 10:00 business time (the expression is in TZ_BUSINESS): the day-before reminder for tomorrow's bookings.
@blueprint.schedule(Cron(0, 10, "*", "*", "?", "*"), name="booking_reminders")
def booking_reminders(event: Any) -> dict[str, Any]:
    raw = event.to_dict() if hasattr(event, "to_dict") else dict(event or {})
    return reminders.send_day_before(reminders.run_date(raw))
