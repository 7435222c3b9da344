"""Bookings: take, move and release slot capacity without ever overbooking.

Every change is ONE DynamoDB transaction whose conditions carry the invariants:
- book:       slot `booked < capacity` (ADD booked 1) + booking put + order lock put
              (`attribute_not_exists`: one active booking per order) [+ Idempotency-Key record]
              [+ the store's `bookings` stat];
- reschedule: new slot `booked < capacity` (+1) + old slot (-1) + booking update on
              `status = confirmed AND version = <read>`: both slots move or neither does;
- cancel:     booking update on `status = confirmed AND version = <read>` + old slot (-1) +
              order lock delete: capacity is released exactly once however often it is sent;
- complete:   booking update on `status = confirmed AND version = <read>` (ops: delivered and
              installed) + the warranty capability's items registering the units' serials
              (and their messages).
Each of book, reschedule and cancel also carries the customer's message (`notify_op`): a change
that is stored always gets its message, and a replay or a no-op change (same slot, already
cancelled) adds none.
A repair visit takes and releases a place through the same items (`take_place_op`,
`release_place_op`), assembled into the warranty capability's own transactions.
Nothing is read-then-written in Python: the reads only choose which transaction to attempt.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from functions.bookings import areas
from functions.bookings.models import IDEM_SK, BookingRow, IdempotencyRow, OrderLockRow, SlotRow
from functions.bookings.requests import BookingRequest
from functions.bookings.slots import SlotKey, check_bookable, parse_slot_id
from functions.core import clock, links, txn
from functions.core.errors import Conflict, NotFound, RuleBroken
from functions.customers.domain import get_customer
from functions.notifications.domain import notify_op
from functions.orders.domain import get_order
from functions.stores import stats
from functions.warranty import serials as warranty_serials

CONFIRMED, CANCELLED, DONE = "confirmed", "cancelled", "done"
MAX_SERIALS = 49  # per completion: a unit item and its message each, + the booking: <= 100
IDEMPOTENCY_TTL_S = 24 * 3600
MAX_VERSION_RETRIES = 3


@dataclass(frozen=True)
class Booking:
    booking_id: str
    openid: str
    order_id: str
    store_id: str | None
    slot_id: str
    area: str
    date: str
    window: str
    address: str
    phone: str
    status: str
    version: int
    created_at: str
    updated_at: str
    completed_on: str | None = None  # business date ops marked it done (delivered, installed)

    def to_view(self) -> dict[str, Any]:
        return {
            "booking_id": self.booking_id,
            "order_id": self.order_id,
            "slot_id": self.slot_id,
            "area": self.area,
            "date": self.date,
            "window": self.window,
            "address": self.address,
            "phone": self.phone,
            "status": self.status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "completed_on": self.completed_on,
        }


# -- rows -----------------------------------------------------------------------------------


def _to_domain(row: BookingRow) -> Booking:
    return Booking(
        booking_id=row.booking_id,
        openid=row.openid,
        order_id=row.order_id,
        store_id=row.store_id,
        slot_id=row.slot_id,
        area=row.area,
        date=row.date,
        window=row.window,
        address=row.address,
        phone=row.phone,
        status=row.status,
        version=int(row.version),
        created_at=row.created_at,
        updated_at=row.updated_at,
        completed_on=row.completed_on,
    )


def _day_index(key: SlotKey, booking_id: str) -> tuple[str, str]:
    return f"DAY#{key.date}", f"{key.slot_id}#{booking_id}"


def _slot_take(label: str, key: SlotKey) -> txn.Op:
    # attribute_exists tells "no such slot" from "full" (the old item comes back on failure).
    return txn.update(
        label,
        key.row(),
        actions=[SlotRow.booked.add(1)],
        condition=SlotRow.pk.exists() & (SlotRow.booked < SlotRow.capacity),
        old_on_fail=True,
    )


def _slot_release(label: str, key: SlotKey) -> txn.Op:
    return txn.update(label, key.row(), actions=[SlotRow.booked.add(-1)], condition=SlotRow.booked > 0)


def _raise_for_slot(cancelled: txn.Cancelled, label: str) -> None:
    if cancelled.failed(label):
        if not cancelled.items.get(label):
            raise NotFound("no such slot", code="slot_not_found")
        raise Conflict("this slot is full", code="slot_full")


def take_place_op(label: str, slot_id: str) -> txn.Op:
    """An item taking one place in the slot (`booked < capacity`), for another capability's
    transaction (a repair visit). After a cancellation, `raise_for_place` names the refusal."""
    return _slot_take(label, parse_slot_id(slot_id))


def release_place_op(label: str, slot_id: str) -> txn.Op:
    """An item giving one place back; put it in the transaction that moves the holder off the
    slot under a version condition, so the place is released exactly once."""
    return _slot_release(label, parse_slot_id(slot_id))


def raise_for_place(cancelled: txn.Cancelled, label: str) -> None:
    """404 slot_not_found or 409 slot_full if the `take_place_op` labelled `label` was refused."""
    _raise_for_slot(cancelled, label)


def _raise_busy(cancelled: txn.Cancelled) -> None:
    if "TransactionConflict" in cancelled.reasons.values():
        raise Conflict("too many requests for this slot at once, try again", code="busy")
    raise cancelled


# -- book -----------------------------------------------------------------------------------


def book(
    openid: str, request: BookingRequest, idempotency_key: str | None = None
) -> tuple[dict[str, Any], bool]:
    """Take one place in the slot for the order. Returns (response, replayed): a retry with the
    same Idempotency-Key returns the first response without booking again."""
    idem_pk = f"IDEM#{openid}#{idempotency_key}" if idempotency_key else None
    if idem_pk:
        replay = _replay(idem_pk, request)
        if replay is not None:
            return replay, True
    key = parse_slot_id(request.slot_id)
    check_bookable(key)
    store_id = _order_store(openid, request.order_id)

    booking_id = uuid.uuid4().hex
    at = clock.iso(clock.now())
    response = {"booking_id": booking_id, "slot_id": key.slot_id, "status": CONFIRMED}
    day_pk, day_sk = _day_index(key, booking_id)
    booking = BookingRow(
        f"BOOKING#{booking_id}",
        booking_id=booking_id,
        openid=openid,
        order_id=request.order_id,
        store_id=store_id,
        slot_id=key.slot_id,
        area=key.area,
        date=key.date,
        window=key.window,
        address=request.address,
        phone=request.phone,
        status=CONFIRMED,
        version=1,
        created_at=at,
        updated_at=at,
        gsi1pk=f"CUSTOMER#{openid}",
        gsi1sk=f"{at}#{booking_id}",
        gsi2pk=day_pk,
        gsi2sk=day_sk,
    )
    ops = [
        _slot_take("slot", key),
        txn.put("booking", booking, condition=BookingRow.pk.does_not_exist()),
        txn.put(
            "lock",
            OrderLockRow(f"ORDERLOCK#{request.order_id}", booking_id=booking_id, openid=openid),
            condition=OrderLockRow.pk.does_not_exist(),
        ),
    ]
    if idem_pk:
        now_ts = clock.now_ts()
        record = IdempotencyRow(
            idem_pk,
            fingerprint=request.fingerprint(),
            response=response,
            expires_at=now_ts + IDEMPOTENCY_TTL_S,
        )
        ops.append(
            txn.put(
                "idempotency",
                record,
                condition=IdempotencyRow.pk.does_not_exist() | (IdempotencyRow.expires_at < now_ts),
            )
        )
    if store_id:
        ops.append(stats.counters_op(store_id, {"bookings": 1}))
    won_by = _won_by(openid)
    if won_by:  # the staff leaderboard: bookings by the followers each staff member won
        ops.append(stats.staff_counters_op(*won_by, {"bookings": 1}))
    ops.append(_message_op(_to_domain(booking), "booking_confirmed", "预约已确认"))
    try:
        txn.run(ops)
    except txn.Cancelled as cancelled:
        if idem_pk and cancelled.failed("idempotency"):
            # A concurrent retry with the same key won: answer what it answered.
            replay = _replay(idem_pk, request)
            if replay is not None:
                return replay, True
        _raise_for_slot(cancelled, "slot")
        if cancelled.failed("lock"):
            raise Conflict("this order already has an active booking", code="already_booked") from None
        _raise_busy(cancelled)
    return response, False


def _replay(idem_pk: str, request: BookingRequest) -> dict[str, Any] | None:
    try:
        record = IdempotencyRow.get(idem_pk, IDEM_SK, consistent_read=True)
    except IdempotencyRow.DoesNotExist:
        return None
    if record.expires_at < clock.now_ts():
        return None
    if record.fingerprint != request.fingerprint():
        raise RuleBroken(
            "this Idempotency-Key was used with a different request", code="idempotency_key_reused"
        )
    return dict(record.response)


def _won_by(openid: str) -> tuple[str, str] | None:
    """(store, staff) of the staff member whose QR code first brought the customer, if any."""
    customer = get_customer(openid)
    if customer is None or not customer.first_store_id or not customer.first_staff_id:
        return None
    return customer.first_store_id, customer.first_staff_id


def _order_store(openid: str, order_id: str) -> str | None:
    """The order must be recorded and be the caller's (404 otherwise, revealing nothing: booking
    ids not yet recorded would let anyone take slots for another customer's order); its store,
    if any, gets the booking counted. Orders are never deleted nor change hands, so the check
    needs no transaction."""
    order = get_order(order_id)
    if order is None or order.openid != openid:
        raise NotFound("no such order", code="order_not_found")
    return order.store_id


# -- read -----------------------------------------------------------------------------------


def _load(openid: str, booking_id: str) -> Booking:
    """The caller's booking, or 404 (also when it is someone else's)."""
    try:
        row = BookingRow.get(f"BOOKING#{booking_id}", "BOOKING", consistent_read=True)
    except BookingRow.DoesNotExist:
        row = None
    if row is None or row.openid != openid:
        raise NotFound("no such booking", code="booking_not_found")
    return _to_domain(row)


def get_booking(openid: str, booking_id: str) -> Booking:
    return _load(openid, booking_id)


def list_bookings(openid: str, limit: int = 50) -> list[Booking]:
    """The customer's bookings, newest first (gsi1)."""
    rows = BookingRow.by_customer.query(f"CUSTOMER#{openid}", scan_index_forward=False, limit=limit)
    return [_to_domain(row) for row in rows]


def active_bookings_in_slot(slot_id: str) -> list[Booking]:
    """Confirmed bookings of one slot (gsi2 holds only confirmed ones), for checks and ops."""
    key = parse_slot_id(slot_id)
    rows = BookingRow.by_day.query(f"DAY#{key.date}", BookingRow.gsi2sk.startswith(f"{slot_id}#"))
    return [_to_domain(row) for row in rows if row.status == CONFIRMED]


# -- reschedule -----------------------------------------------------------------------------


def reschedule(openid: str, booking_id: str, slot_id: str) -> Booking:
    """Take the new slot and release the old one in one transaction, or change nothing."""
    new_key = parse_slot_id(slot_id)
    for _ in range(MAX_VERSION_RETRIES):
        current = _load(openid, booking_id)
        if current.status != CONFIRMED:
            raise Conflict("this booking is cancelled", code="booking_cancelled")
        if current.slot_id == new_key.slot_id:
            return current
        check_bookable(new_key)
        old_key = parse_slot_id(current.slot_id)
        version = current.version + 1
        at = clock.iso(clock.now())
        day_pk, day_sk = _day_index(new_key, booking_id)
        moved = replace(
            current,
            slot_id=new_key.slot_id,
            area=new_key.area,
            date=new_key.date,
            window=new_key.window,
            version=version,
            updated_at=at,
        )
        ops = [
            _slot_take("new_slot", new_key),
            _slot_release("old_slot", old_key),
            txn.update(
                "booking",
                BookingRow(f"BOOKING#{booking_id}"),
                actions=[
                    BookingRow.slot_id.set(new_key.slot_id),
                    BookingRow.area.set(new_key.area),
                    BookingRow.date.set(new_key.date),
                    BookingRow.window.set(new_key.window),
                    BookingRow.version.set(version),
                    BookingRow.updated_at.set(at),
                    BookingRow.gsi2pk.set(day_pk),
                    BookingRow.gsi2sk.set(day_sk),
                ],
                condition=(BookingRow.status == CONFIRMED) & (BookingRow.version == current.version),
            ),
            _message_op(moved, "booking_rescheduled", "预约已改期", supersedes=_stale_messages(current)),
        ]
        try:
            txn.run(ops)
        except txn.Cancelled as cancelled:
            _raise_for_slot(cancelled, "new_slot")
            if cancelled.failed("booking"):
                continue  # changed meanwhile (moved or cancelled): look again
            _raise_busy(cancelled)
        return _load(openid, booking_id)
    raise Conflict("the booking is changing concurrently, try again", code="busy")


# -- cancel ---------------------------------------------------------------------------------


def cancel(openid: str, booking_id: str) -> Booking:
    """Release the slot exactly once. Cancelling a cancelled booking is a no-op that answers
    the same (200 cancelled): a retried or raced DELETE never releases twice."""
    for _ in range(MAX_VERSION_RETRIES):
        current = _load(openid, booking_id)
        if current.status == CANCELLED:
            return current
        key = parse_slot_id(current.slot_id)
        at = clock.iso(clock.now())
        ops = [
            txn.update(
                "booking",
                BookingRow(f"BOOKING#{booking_id}"),
                actions=[
                    BookingRow.status.set(CANCELLED),
                    BookingRow.version.set(current.version + 1),
                    BookingRow.updated_at.set(at),
                    BookingRow.cancelled_at.set(at),
                    BookingRow.gsi2pk.remove(),
                    BookingRow.gsi2sk.remove(),
                ],
                condition=(BookingRow.status == CONFIRMED) & (BookingRow.version == current.version),
            ),
            _slot_release("slot", key),
            # The order may be booked again; never delete a lock another booking holds.
            txn.delete(
                "lock",
                OrderLockRow(f"ORDERLOCK#{current.order_id}"),
                condition=OrderLockRow.pk.does_not_exist() | (OrderLockRow.booking_id == booking_id),
            ),
            _message_op(
                replace(current, status=CANCELLED, version=current.version + 1, updated_at=at),
                "booking_cancelled",
                "预约已取消",
                supersedes=_stale_messages(current),
            ),
        ]
        try:
            txn.run(ops)
        except txn.Cancelled as cancelled:
            if cancelled.failed("booking"):
                continue  # cancelled or moved meanwhile: look again
            _raise_busy(cancelled)
        return _load(openid, booking_id)
    raise Conflict("the booking is changing concurrently, try again", code="busy")


# -- complete (ops: delivered and installed) ----------------------------------------------------


def complete(booking_id: str, raw_serials: list[str]) -> Booking:
    """Mark a confirmed delivery done; its units' `serials` register to the customer with
    today (business date) as the installation date, in the same transaction. Completing a done
    booking again changes nothing but registers the serials it brings with its first date."""
    serials = list(dict.fromkeys(warranty_serials.parse_serial(raw) for raw in raw_serials))
    if len(serials) > MAX_SERIALS:
        raise RuleBroken(f"at most {MAX_SERIALS} serials per delivery", code="too_many_serials")
    for _ in range(MAX_VERSION_RETRIES):
        current = _load_any(booking_id)
        if current.status == CANCELLED:
            raise Conflict("this booking is cancelled", code="booking_cancelled")
        row_done_on = current.completed_on
        installed_on = date.fromisoformat(row_done_on) if row_done_on else clock.business_date()
        ops = warranty_serials.installation_ops(current.openid, serials, installed_on, booking_id)
        # Each unit's e-warranty message commits with its registration (the outbox).
        ops += warranty_serials.announcement_ops(current.openid, [(None, serials)], installed_on=installed_on)
        if current.status == CONFIRMED:
            at = clock.iso(clock.now())
            ops.append(
                txn.update(
                    "booking",
                    BookingRow(f"BOOKING#{booking_id}"),
                    actions=[
                        BookingRow.status.set(DONE),
                        BookingRow.completed_on.set(installed_on.isoformat()),
                        BookingRow.version.set(current.version + 1),
                        BookingRow.updated_at.set(at),
                    ],
                    condition=(BookingRow.status == CONFIRMED) & (BookingRow.version == current.version),
                )
            )
        if not ops:
            return current
        try:
            txn.run(ops)
        except txn.Cancelled as cancelled:
            warranty_serials.raise_if_refused(cancelled, current.openid)
            if cancelled.failed("booking"):
                continue  # changed meanwhile: look again
            _raise_busy(cancelled)
        return _load_any(booking_id)
    raise Conflict("the booking is changing concurrently, try again", code="busy")


def _load_any(booking_id: str) -> Booking:
    """A booking whoever's it is (ops), or 404."""
    try:
        row = BookingRow.get(f"BOOKING#{booking_id}", "BOOKING", consistent_read=True)
    except BookingRow.DoesNotExist:
        raise NotFound("no such booking", code="booking_not_found") from None
    return _to_domain(row)


# -- messages -------------------------------------------------------------------------------


def template_fields(booking: Booking, status_text: str) -> dict[str, str]:
    """The message's named values (infra/templates.yaml shows them within WeChat's rules)."""
    return {
        "status": status_text,
        "time": f"{booking.date} {booking.window[:5]}",
        "place": areas.place_and_time(areas.name_of(booking.area), booking.date, booking.window),
        "reference": booking.order_id,
    }


def message_id(booking: Booking) -> str:
    """The id of the message announcing the booking's state (deterministic: a repeated
    transaction records it once). Version 1 is the booking itself; each reschedule and the
    cancel add one."""
    if booking.status == CANCELLED:
        return f"booking-{booking.booking_id}-cancelled"
    if booking.version == 1:
        return f"booking-{booking.booking_id}-confirmed"
    return f"booking-{booking.booking_id}-rescheduled-v{booking.version}"


def reminder_message_id(booking_id: str, day: str) -> str:
    """The day-before reminder of the booking's slot on `day` (functions/bookings/reminders.py)."""
    return f"booking-{booking_id}-reminder-{day}"


def _stale_messages(current: Booking) -> list[str]:
    """What a change to `current` makes stale if still unsent: its state's message and the
    reminder for its day."""
    return [message_id(current), reminder_message_id(current.booking_id, current.date)]


def _message_op(booking: Booking, kind: str, status_text: str, supersedes: list[str] | None = None) -> txn.Op:
    """The customer's message about `booking` as it will be once the transaction commits."""
    return notify_op(
        booking.openid,
        kind,
        template_fields(booking, status_text),
        url=links.booking(booking.booking_id),
        notification_id=message_id(booking),
        supersedes=supersedes or (),
    )
