"""Quiet hours (QUIET_HOURS, business time): reminders wait until the window ends."""

from __future__ import annotations

from datetime import datetime, timedelta

from functions.core import clock
from functions.core.config import get_settings


def quiet_until(moment: datetime) -> datetime | None:
    """The end of the quiet window containing `moment`, or None if `moment` is not quiet."""
    window = get_settings().quiet_hours_window
    if window is None:
        return None
    start, end = window
    if start == end:
        return None
    local = moment.astimezone(clock.business_tz())
    today = local.date()
    hhmm = local.strftime("%H:%M")
    if start < end:  # e.g. 12:00-14:00, within one day
        return clock.business_datetime(today, end) if start <= hhmm < end else None
    # Overnight, e.g. 21:00-09:00.
    if hhmm >= start:
        return clock.business_datetime(today + timedelta(days=1), end)
    if hhmm < end:
        return clock.business_datetime(today, end)
    return None
