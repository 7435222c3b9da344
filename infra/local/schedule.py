"""EventBridge Scheduler expressions (`rate(...)`, `cron(...)`) evaluated locally.

A cron's fields are wall-clock time in the schedule's zone (`ScheduleExpressionTimezone` in
AWS; the runtime passes TZ_BUSINESS), as EventBridge Scheduler reads them across daylight
saving time: a firing time that does not exist (clocks jump forward) is skipped, and one that
occurs twice (clocks fall back) fires once, at its first occurrence. rate() ignores the zone.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


def _expand(field: str, low: int, high: int, names: list[str], name_base: int) -> set[int] | None:
    """Values a cron field allows, or None for any (`*`, `?`)."""
    if field in ("*", "?"):
        return None
    values: set[int] = set()
    for part in field.upper().split(","):
        for i, name in enumerate(names):
            part = part.replace(name, str(i + name_base))
        step = 1
        if "/" in part:
            part, step_text = part.split("/")
            step = int(step_text)
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            start, end = (int(x) for x in part.split("-"))
        else:
            start = int(part)
            end = high if step > 1 else start
        values.update(range(start, end + 1, step))
    return values


class Schedule:
    """Computes the next firing time of one expression, its cron fields read in `tz`."""

    def __init__(self, expression: str, tz: str = "UTC"):
        self.expression = expression.strip()
        self.zone = ZoneInfo(tz)
        rate = _RATE.match(self.expression)
        cron = _CRON.match(self.expression)
        if rate:
            unit = rate.group(2).rstrip("s")
            self.period = timedelta(seconds=int(rate.group(1)) * _UNIT_S[unit])
            self.fields = None
        elif cron:
            parts = cron.group(1).split()
            if len(parts) != 6:
                raise ValueError(f"cron needs 6 fields: {expression}")
            minute, hour, dom, month, dow, year = parts
            self.period = None
            self.fields = (
                _expand(minute, 0, 59, [], 0),
                _expand(hour, 0, 23, [], 0),
                _expand(dom, 1, 31, [], 1),
                _expand(month, 1, 12, _MONTHS, 1),
                _expand(dow, 1, 7, _DAYS, 1),
                _expand(year, 1970, 2199, [], 0),
            )
        else:
            raise ValueError(f"unsupported schedule expression: {expression}")

    def matches(self, moment: datetime) -> bool:
        """Whether the cron fields allow `moment`'s wall-clock time (in the schedule's zone
        if `moment` is aware)."""
        assert self.fields is not None
        if moment.tzinfo is not None:
            moment = moment.astimezone(self.zone)
        minute, hour, dom, month, dow, year = self.fields
        aws_dow = (moment.isoweekday() % 7) + 1  # SUN=1 .. SAT=7
        checks = (
            (minute, moment.minute),
            (hour, moment.hour),
            (dom, moment.day),
            (month, moment.month),
            (dow, aws_dow),
            (year, moment.year),
        )
        return all(allowed is None or value in allowed for allowed, value in checks)

    def next_after(self, moment: datetime) -> datetime:
        """The first firing strictly after `moment`, in UTC."""
        moment = moment.astimezone(UTC)
        if self.period is not None:
            return moment + self.period
        # Walk the zone's wall clock (naive) minute by minute from just after `moment`.
        wall = moment.astimezone(self.zone).replace(tzinfo=None, second=0, microsecond=0)
        candidate = wall + timedelta(minutes=1)
        for _ in range(60 * 24 * 366 * 2):
            if self.matches(candidate):
                instant = self._instant(candidate)
                if instant is not None and instant > moment:
                    return instant
            candidate += timedelta(minutes=1)
        raise ValueError(f"schedule never fires: {self.expression}")

    def _instant(self, wall: datetime) -> datetime | None:
        """The UTC instant of a naive wall-clock time in the zone: its first occurrence if the
        clocks fall back over it (so it fires once), None if they jump over it (skipped)."""
        instant = wall.replace(tzinfo=self.zone, fold=0).astimezone(UTC)
        if instant.astimezone(self.zone).replace(tzinfo=None) != wall:
            return None
        return instant
