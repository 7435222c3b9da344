"""The day-before reminder: once per booking, however often the job runs.

The job reads only tomorrow's confirmed bookings (gsi2 "DAY#<date>": a Query whose cost grows
with that day's bookings, not with the table). Each booking is claimed with a conditional
write - `reminded_for` set to the slot date on `status = confirmed AND date = <date> AND
reminded_for <> <date>` - before its message is queued, so overlapping or repeated runs send
nothing twice, and a booking cancelled or moved meanwhile gets no reminder. The message id is
deterministic too ("booking-<id>-reminder-<date>"), so a repeated notify is harmless: a re-run
repeats it for claimed bookings, which heals a run that died between its claim and its notify.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from functions.bookings.domain import CONFIRMED, _to_domain, template_fields
from functions.bookings.models import BookingRow
from functions.core import clock, links
from functions.core.models import condition_failed
from functions.notifications.domain import notify

log = logging.getLogger(__name__)


def run_date(event: dict[str, Any] | None) -> date:
    """The business date the job runs for: event detail {"date"} (or top-level), else today."""
    event = event or {}
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    value = (detail or {}).get("date") or event.get("date")
    if value:
        return date.fromisoformat(str(value))
    return clock.business_date()


def send_day_before(today: date) -> dict[str, Any]:
    """Remind every confirmed booking of `today + 1`. Returns counts; raises at the end if some
    failed (after releasing their claims), so the scheduler's retry picks them up."""
    target = (today + timedelta(days=1)).isoformat()
    counts = {"date": target, "reminded": 0, "already": 0, "failed": 0}
    for row in BookingRow.by_day.query(f"DAY#{target}"):
        if row.status != CONFIRMED or row.date != target:
            counts["already"] += 1
            continue
        if row.reminded_for == target or not _claim(row, target):
            # Claimed by an earlier or overlapping run. notify() is idempotent by its id, so
            # repeating it sends nothing twice and heals a run that died between claim and notify.
            _send(row, target)
            counts["already"] += 1
            continue
        if _send(row, target):
            counts["reminded"] += 1
        else:
            counts["failed"] += 1
            _release(row, target)
    if counts["failed"]:
        raise RuntimeError(f"booking reminders: {counts['failed']} could not be queued; {counts}")
    return counts


def _claim(row: BookingRow, target: str) -> bool:
    try:
        BookingRow(row.pk).update(
            actions=[BookingRow.reminded_for.set(target)],
            condition=(BookingRow.status == CONFIRMED)
            & (BookingRow.date == target)
            & (BookingRow.reminded_for.does_not_exist() | (BookingRow.reminded_for != target)),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _release(row: BookingRow, target: str) -> None:
    try:
        BookingRow(row.pk).update(
            actions=[BookingRow.reminded_for.remove()], condition=BookingRow.reminded_for == target
        )
    except UpdateError:
        log.exception("could not release the reminder claim of %s", row.booking_id)


def _send(row: BookingRow, target: str) -> bool:
    booking = _to_domain(row)
    try:
        notify(
            booking.openid,
            "booking_reminder",
            template_fields(booking, "明天上门服务"),
            url=links.booking(booking.booking_id),
            notification_id=f"booking-{booking.booking_id}-reminder-{target}",
        )
    except Exception:
        log.exception("could not queue the reminder of booking %s", booking.booking_id)
        return False
    return True
