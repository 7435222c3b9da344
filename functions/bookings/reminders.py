"""The day-before reminder: once per booking, however often the job runs.

The job reads only tomorrow's confirmed bookings (gsi2 "DAY#<date>": a Query whose cost grows
with that day's bookings, not with the table). Each booking is claimed with a conditional
write - `reminded_for` set to the slot date on `status = confirmed AND date = <date> AND
reminded_for <> <date>` - in ONE transaction with its message ("booking-<id>-reminder-<date>"),
so overlapping or repeated runs send nothing twice, a booking cancelled or moved meanwhile gets
no reminder, and a claimed booking always has its message.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from functions.bookings.domain import CONFIRMED, _to_domain, reminder_message_id, template_fields
from functions.bookings.models import BookingRow
from functions.core import clock, links, txn
from functions.notifications.domain import notify_op


def run_date(event: dict[str, Any] | None) -> date:
    """The business date the job runs for: event detail {"date"} (or top-level), else today."""
    event = event or {}
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    value = (detail or {}).get("date") or event.get("date")
    if value:
        return date.fromisoformat(str(value))
    return clock.business_date()


def send_day_before(today: date) -> dict[str, Any]:
    """Remind every confirmed booking of `today + 1`. Returns counts; a storage error raises,
    so the scheduler's retry picks up what is left (claims and messages commit together)."""
    target = (today + timedelta(days=1)).isoformat()
    counts = {"date": target, "reminded": 0, "already": 0}
    for row in BookingRow.by_day.query(f"DAY#{target}"):
        if row.status != CONFIRMED or row.date != target or row.reminded_for == target:
            counts["already"] += 1
        elif _claim_with_message(row, target):
            counts["reminded"] += 1
        else:
            counts["already"] += 1  # claimed by an overlapping run, or changed meanwhile
    return counts


def _claim_with_message(row: BookingRow, target: str) -> bool:
    """Claim the booking's reminder for `target` and record its message, atomically."""
    booking = _to_domain(row)
    claim = txn.update(
        "claim",
        BookingRow(row.pk),
        actions=[BookingRow.reminded_for.set(target)],
        condition=(BookingRow.status == CONFIRMED)
        & (BookingRow.date == target)
        & (BookingRow.reminded_for.does_not_exist() | (BookingRow.reminded_for != target)),
    )
    message = notify_op(
        booking.openid,
        "booking_reminder",
        template_fields(booking, "明天上门服务"),
        url=links.booking(booking.booking_id),
        notification_id=reminder_message_id(booking.booking_id, target),
    )
    try:
        txn.run([claim, message])
    except txn.Cancelled as cancelled:
        if cancelled.failed("claim"):
            return False
        raise
    return True
