"""After-sales service requests and their repair visits (CONTRACT §13).

`open -> scheduled -> done | cancelled`. A repair visit takes a place in a slot exactly as a
delivery does: the bookings capability's own transaction items (`take_place_op`,
`release_place_op`) go into this capability's transactions, so deliveries and repair visits
share one `booked < capacity` condition and a slot is never overbooked.
- open:       request put [+ Idempotency-Key record], one transaction;
- schedule:   new slot (+1) [+ old slot (-1) when rescheduling] + request update on
              `status IN (open, scheduled) AND version = <read>`: all or nothing;
- cancel:     request update on `status = <read> AND version = <read>` [+ slot (-1) if it
              was scheduled]: the place is released exactly once however often it is sent;
- complete:   request update on `status = scheduled` (the visit happened: its place stays taken).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from typing import Any

from functions.bookings import areas
from functions.bookings.domain import raise_for_place, release_place_op, take_place_op
from functions.bookings.slots import parse_slot_id
from functions.core import clock, links, txn
from functions.core.errors import Conflict, NotFound, RuleBroken
from functions.notifications.domain import notify_op
from functions.warranty import serials
from functions.warranty.models import IDEM_SK, SERVICE_SK, IdempotencyRow, ServiceRow

OPEN, SCHEDULED, DONE, CANCELLED = "open", "scheduled", "done", "cancelled"
MAX_PROBLEM = 200
IDEMPOTENCY_TTL_S = 24 * 3600
MAX_VERSION_RETRIES = 3


@dataclass(frozen=True)
class ServiceRequest:
    request_id: str
    openid: str
    serial: str
    sku: str
    problem: str
    in_warranty: bool
    status: str
    slot_id: str | None
    version: int
    created_at: str
    updated_at: str

    @property
    def visit_date(self) -> str | None:
        return self.slot_id.split("|")[1] if self.slot_id else None

    @property
    def visit_window(self) -> str | None:
        return self.slot_id.split("|")[2] if self.slot_id else None

    def to_view(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "serial": self.serial,
            "sku": self.sku,
            "problem": self.problem,
            "in_warranty": self.in_warranty,
            "status": self.status,
            "slot_id": self.slot_id,
            "date": self.visit_date,
            "window": self.visit_window,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def _to_domain(row: ServiceRow) -> ServiceRequest:
    return ServiceRequest(
        request_id=row.request_id,
        openid=row.openid,
        serial=row.serial,
        sku=row.sku,
        problem=row.problem,
        in_warranty=bool(row.in_warranty),
        status=row.status,
        slot_id=row.slot_id,
        version=int(row.version),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _pk(request_id: str) -> str:
    return f"SERVICE#{request_id}"


# -- open (customer) --------------------------------------------------------------------


def _fingerprint(serial: str, problem: str) -> str:
    return hashlib.sha256(f"{serial}\n{problem}".encode()).hexdigest()


def open_request(
    openid: str, raw_serial: str, problem: str, idempotency_key: str | None = None
) -> tuple[dict[str, Any], bool]:
    """Open a request for one of the caller's registered units: (response, replayed). A retry
    with the same Idempotency-Key answers the first response and opens nothing."""
    serial = serials.parse_serial(raw_serial)
    problem = problem.strip()
    idem_pk = f"IDEM#{openid}#{idempotency_key}" if idempotency_key else None
    fingerprint = _fingerprint(serial, problem)
    if idem_pk:
        replay = _replay(idem_pk, fingerprint)
        if replay is not None:
            return replay, True
    warranty = serials.warranty_of(serials.my_unit(openid, serial))
    request_id = uuid.uuid4().hex
    at = clock.iso(clock.now())
    response = {"request_id": request_id, "status": OPEN, "in_warranty": warranty.in_warranty}
    row = ServiceRow(
        _pk(request_id),
        SERVICE_SK,
        request_id=request_id,
        openid=openid,
        serial=serial,
        sku=warranty.unit.sku,
        problem=problem,
        in_warranty=warranty.in_warranty,
        status=OPEN,
        version=1,
        created_at=at,
        updated_at=at,
        gsi1pk=f"CUSTOMER#{openid}",
        gsi1sk=f"SERVICE#{at}#{request_id}",
        gsi2pk=OPEN.upper(),
        gsi2sk=f"{at}#{request_id}",
    )
    ops = [txn.put("request", row, condition=ServiceRow.pk.does_not_exist())]
    if idem_pk:
        now_ts = clock.now_ts()
        record = IdempotencyRow(
            idem_pk,
            IDEM_SK,
            fingerprint=fingerprint,
            response=response,
            expires_at=now_ts + IDEMPOTENCY_TTL_S,
        )
        condition = IdempotencyRow.pk.does_not_exist() | (IdempotencyRow.expires_at < now_ts)
        ops.append(txn.put("idempotency", record, condition=condition))
    try:
        txn.run(ops)
    except txn.Cancelled as cancelled:
        if idem_pk and cancelled.failed("idempotency"):
            replay = _replay(idem_pk, fingerprint)  # a concurrent retry with the same key won
            if replay is not None:
                return replay, True
        raise
    return response, False


def _replay(idem_pk: str, fingerprint: str) -> dict[str, Any] | None:
    try:
        record = IdempotencyRow.get(idem_pk, IDEM_SK, consistent_read=True)
    except IdempotencyRow.DoesNotExist:
        return None
    if record.expires_at < clock.now_ts():
        return None
    if record.fingerprint != fingerprint:
        raise RuleBroken(
            "this Idempotency-Key was used with a different request", code="idempotency_key_reused"
        )
    return dict(record.response)


# -- read -------------------------------------------------------------------------------


def get_request(request_id: str) -> ServiceRequest:
    """Any request (ops), or 404."""
    try:
        row = ServiceRow.get(_pk(request_id), SERVICE_SK, consistent_read=True)
    except ServiceRow.DoesNotExist:
        raise NotFound("no such service request", code="service_request_not_found") from None
    return _to_domain(row)


def my_request(openid: str, request_id: str) -> ServiceRequest:
    found = get_request(request_id)
    if found.openid != openid:
        raise NotFound("no such service request", code="service_request_not_found")
    return found


def requests_of(openid: str, limit: int = 50) -> list[ServiceRequest]:
    """The customer's requests, newest first (gsi1)."""
    rows = ServiceRow.by_customer.query(
        f"CUSTOMER#{openid}", ServiceRow.gsi1sk.startswith("SERVICE#"), scan_index_forward=False, limit=limit
    )
    return [_to_domain(row) for row in rows]


def open_requests(limit: int = 100) -> list[ServiceRequest]:
    """Open requests, oldest first (ops: by age; gsi2 holds only open ones under "OPEN")."""
    rows = ServiceRow.by_state.query(OPEN.upper(), limit=limit)
    return [_to_domain(row) for row in rows]


# -- schedule, complete, cancel (ops) ----------------------------------------------------


def _day_index(slot_id: str, request_id: str) -> tuple[str, str]:
    return f"DAY#{slot_id.split('|')[1]}", f"{slot_id}#{request_id}"


def _raise_busy(cancelled: txn.Cancelled) -> None:
    if "TransactionConflict" in cancelled.reasons.values():
        raise Conflict("too many changes at once, try again", code="busy") from None
    raise cancelled


def schedule(request_id: str, slot_id: str) -> ServiceRequest:
    """Take a place in `slot_id` for the visit; scheduling again moves it (the old place is
    released in the same transaction). The same slot again changes nothing."""
    key = parse_slot_id(slot_id)
    for _ in range(MAX_VERSION_RETRIES):
        current = get_request(request_id)
        if current.status not in (OPEN, SCHEDULED):
            raise Conflict(
                f"this service request is {current.status}", code=f"service_request_{current.status}"
            )
        if current.slot_id == key.slot_id:
            return current
        if key.start <= clock.now():
            raise RuleBroken("this slot has already started", code="slot_in_past")
        version = current.version + 1
        day_pk, day_sk = _day_index(key.slot_id, request_id)
        ops = [take_place_op("new_slot", key.slot_id)]
        if current.slot_id:
            ops.append(release_place_op("old_slot", current.slot_id))
        at = clock.iso(clock.now())
        ops.append(
            txn.update(
                "request",
                ServiceRow(_pk(request_id), SERVICE_SK),
                actions=[
                    ServiceRow.status.set(SCHEDULED),
                    ServiceRow.slot_id.set(key.slot_id),
                    ServiceRow.version.set(version),
                    ServiceRow.updated_at.set(at),
                    ServiceRow.gsi2pk.set(day_pk),
                    ServiceRow.gsi2sk.set(day_sk),
                ],
                condition=(ServiceRow.status == current.status) & (ServiceRow.version == current.version),
            )
        )
        scheduled = replace(current, status=SCHEDULED, slot_id=key.slot_id, version=version, updated_at=at)
        ops.append(
            _message_op(
                scheduled,
                "service_scheduled",
                _scheduled_message_id(request_id, version),
                "维修已预约",
                supersedes=_stale_messages(current),
            )
        )
        try:
            txn.run(ops)
        except txn.Cancelled as cancelled:
            raise_for_place(cancelled, "new_slot")
            if cancelled.failed("request"):
                continue  # changed meanwhile: look again
            _raise_busy(cancelled)
        return get_request(request_id)
    raise Conflict("the service request is changing concurrently, try again", code="busy")


def complete(request_id: str) -> ServiceRequest:
    """The visit happened. Completing a done request again changes nothing."""
    for _ in range(MAX_VERSION_RETRIES):
        current = get_request(request_id)
        if current.status == DONE:
            return current
        if current.status != SCHEDULED:
            raise Conflict(
                "only a scheduled visit can be completed", code=f"service_request_{current.status}"
            )
        op = txn.update(
            "request",
            ServiceRow(_pk(request_id), SERVICE_SK),
            actions=[
                ServiceRow.status.set(DONE),
                ServiceRow.version.set(current.version + 1),
                ServiceRow.updated_at.set(clock.iso(clock.now())),
                ServiceRow.gsi2pk.remove(),
                ServiceRow.gsi2sk.remove(),
            ],
            condition=(ServiceRow.status == SCHEDULED) & (ServiceRow.version == current.version),
        )
        try:
            txn.run([op])
        except txn.Cancelled as cancelled:
            if cancelled.failed("request"):
                continue
            _raise_busy(cancelled)
        return get_request(request_id)
    raise Conflict("the service request is changing concurrently, try again", code="busy")


def cancel(request_id: str) -> ServiceRequest:
    """Cancel the request; a scheduled visit's place is released exactly once (the version
    condition lets one cancellation through). Cancelling a cancelled request changes nothing."""
    for _ in range(MAX_VERSION_RETRIES):
        current = get_request(request_id)
        if current.status == CANCELLED:
            return current
        if current.status == DONE:
            raise Conflict("this service request is done", code="service_request_done")
        ops = [
            txn.update(
                "request",
                ServiceRow(_pk(request_id), SERVICE_SK),
                actions=[
                    ServiceRow.status.set(CANCELLED),
                    ServiceRow.version.set(current.version + 1),
                    ServiceRow.updated_at.set(clock.iso(clock.now())),
                    ServiceRow.gsi2pk.remove(),
                    ServiceRow.gsi2sk.remove(),
                ],
                condition=(ServiceRow.status == current.status) & (ServiceRow.version == current.version),
            )
        ]
        if current.status == SCHEDULED and current.slot_id:
            ops.append(release_place_op("slot", current.slot_id))
            ops.append(
                _message_op(
                    current,
                    "service_cancelled",
                    f"service-{request_id}-cancelled",
                    "维修预约已取消",
                    supersedes=_stale_messages(current),
                )
            )
        try:
            txn.run(ops)
        except txn.Cancelled as cancelled:
            if cancelled.failed("request"):
                continue
            _raise_busy(cancelled)
        return get_request(request_id)
    raise Conflict("the service request is changing concurrently, try again", code="busy")


# -- messages ---------------------------------------------------------------------------


def template_fields(request: ServiceRequest, status_text: str, slot_id: str) -> dict[str, str]:
    """The booking template's named values (infra/templates.yaml shows them)."""
    key = parse_slot_id(slot_id)
    return {
        "status": status_text,
        "time": f"{key.date} {key.window[:5]}",
        "place": areas.place_and_time(areas.name_of(key.area), key.date, key.window),
        "reference": request.serial,
    }


def _scheduled_message_id(request_id: str, version: int) -> str:
    return f"service-{request_id}-scheduled-v{version}"


def reminder_message_id(request_id: str, day: str) -> str:
    """The day-before reminder of the visit on `day` (functions/warranty/visits.py)."""
    return f"service-{request_id}-reminder-{day}"


def _stale_messages(current: ServiceRequest) -> list[str]:
    """What a change to a scheduled visit makes stale if still unsent: the message announcing
    its slot and the reminder for its day (nothing for an open request)."""
    if current.status != SCHEDULED or not current.visit_date:
        return []
    return [
        _scheduled_message_id(current.request_id, current.version),
        reminder_message_id(current.request_id, current.visit_date),
    ]


def _message_op(
    request: ServiceRequest,
    kind: str,
    notification_id: str,
    status_text: str,
    supersedes: list[str] | None = None,
) -> txn.Op:
    """The customer's message about the visit of `request` (its slot), as an item of the
    transaction that changes it (the outbox): stored with the change or not at all."""
    return notify_op(
        request.openid,
        kind,
        template_fields(request, status_text, request.slot_id or ""),
        url=links.service(),
        notification_id=notification_id,
        supersedes=supersedes or (),
    )
