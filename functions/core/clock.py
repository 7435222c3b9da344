"""The one clock. Tests set it; business dates are in TZ_BUSINESS."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from functions.core.config import get_settings

MAX_TIMESTAMP_DIGITS = 12  # unix seconds until the year 33658
_lock = threading.Lock()
_fixed: datetime | None = None


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    if _fixed is not None:
        return _fixed
    return datetime.now(UTC)


def now_ts() -> int:
    return int(now().timestamp())


def unix_seconds(text: str | None) -> int | None:
    """`text` (a header, a query value, a WeChat CreateTime) as unix seconds if it is 1 to 12
    ASCII digits, else None: `"²".isdigit()` is true but `int("²")` raises, and `int()` of
    thousands of digits raises too."""
    if not text or len(text) > MAX_TIMESTAMP_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def set_now(moment: datetime | None) -> None:
    """Freeze the clock at `moment` (aware), or unfreeze it with None."""
    global _fixed
    with _lock:
        _fixed = moment.astimezone(UTC) if moment is not None else None


def business_tz() -> ZoneInfo:
    return ZoneInfo(get_settings().tz_business)


def business_now() -> datetime:
    return now().astimezone(business_tz())


def business_date(moment: datetime | None = None) -> date:
    return (moment or now()).astimezone(business_tz()).date()


def business_datetime(day: date, hhmm: str) -> datetime:
    """The aware moment of `HH:MM` on business date `day`."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=business_tz())


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 timestamp; a naive one is taken as business time."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=business_tz())
    return moment.astimezone(UTC)


ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso(moment: datetime) -> str:
    """Fixed-width UTC (`YYYY-MM-DDTHH:MM:SS.ffffffZ`), so that text order is time order:
    timestamps are compared and used as sort keys."""
    return moment.astimezone(UTC).strftime(ISO_FORMAT)
