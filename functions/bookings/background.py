"""Bookings' background function: the day-before reminders (repair visits' too).

Each function imports its work on its first call: a queue or schedule function's cold start
loads only what it runs, and `import app` (which declares these) loads none of it.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Cron

blueprint = Blueprint(__name__)


# 10:00 business time (the expression is in TZ_BUSINESS): the day-before reminder for tomorrow's bookings.
@blueprint.schedule(Cron(0, 10, "*", "*", "?", "*"), name="booking_reminders")
def booking_reminders(event: Any) -> dict[str, Any]:
    # Cold start: only this schedule's function sends reminders.
    from functions.bookings import reminders
    from functions.warranty import visits

    raw = event.to_dict() if hasattr(event, "to_dict") else dict(event or {})
    day = reminders.run_date(raw)
    # Repair visits take places in the same slots: their reminder is the same job's.
    return {**reminders.send_day_before(day), "repair_visits": visits.send_day_before(day)}
