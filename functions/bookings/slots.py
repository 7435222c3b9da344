"""Delivery/installation slots: capacity per service area, date and time window.

A slot's id is deterministic - "<area>|<date>|<window>", e.g. "SH-PD|2025-03-01|09:00-12:00" -
so it names its own key (no lookup) and defining the same window twice updates it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from functions.bookings.models import SlotRow
from functions.core import clock, txn
from functions.core.config import get_settings
from functions.core.errors import Conflict, InvalidInput, NotFound, RuleBroken

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_FORBIDDEN_IN_AREA = re.compile(r"[|#\x00-\x1f\x7f]")
MAX_AREA = 64
MAX_WINDOWS = 48  # one transaction item each; DynamoDB allows 100
MAX_CAPACITY = 100_000
MAX_RANGE_DAYS = 62


@dataclass(frozen=True)
class SlotKey:
    area: str
    date: str  # YYYY-MM-DD (business date)
    window: str  # HH:MM-HH:MM (business time)

    @property
    def slot_id(self) -> str:
        return f"{self.area}|{self.date}|{self.window}"

    @property
    def pk(self) -> str:
        return f"SLOTS#{self.area}"

    @property
    def sk(self) -> str:
        return f"{self.date}#{self.window}"

    @property
    def start(self) -> datetime:
        return clock.business_datetime(date.fromisoformat(self.date), self.window[:5])

    def row(self) -> SlotRow:
        return SlotRow(self.pk, self.sk)


@dataclass(frozen=True)
class Slot:
    slot_id: str
    area: str
    date: str
    window: str
    capacity: int
    booked: int

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.booked)

    def to_view(self) -> dict[str, Any]:
        return {
            "slot_id": self.slot_id,
            "area": self.area,
            "date": self.date,
            "window": self.window,
            "capacity": self.capacity,
            "remaining": self.remaining,
        }


# -- parsing --------------------------------------------------------------------------------


def parse_area(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_AREA:
        raise InvalidInput(f"area must be a string of 1-{MAX_AREA} characters", code="invalid_area")
    area = value.strip()
    if _FORBIDDEN_IN_AREA.search(area):
        raise InvalidInput("area must not contain '|', '#' or control characters", code="invalid_area")
    return area


def parse_date(value: Any, field: str = "date") -> date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise InvalidInput(f"{field} must be a date YYYY-MM-DD", code="invalid_date")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} is not a calendar date: {value}", code="invalid_date") from None


def parse_window(value: Any) -> str:
    match = _WINDOW.match(value) if isinstance(value, str) else None
    if not match:
        raise InvalidInput('window must look like "09:00-12:00"', code="invalid_window")
    start, end = value.split("-")
    if end > "24:00" or start >= end:
        raise InvalidInput("a window must end after it starts, by 24:00", code="invalid_window")
    return value


def parse_capacity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CAPACITY:
        raise InvalidInput(f"capacity must be an integer 0-{MAX_CAPACITY}", code="invalid_capacity")
    return value


def parse_slot_id(slot_id: Any) -> SlotKey:
    """The key a slot id names; a malformed id names no slot (404)."""
    if isinstance(slot_id, str) and slot_id.count("|") == 2:
        area, day, window = slot_id.split("|")
        try:
            key = SlotKey(parse_area(area), parse_date(day).isoformat(), parse_window(window))
        except InvalidInput:
            pass
        else:
            if key.slot_id == slot_id:
                return key
    raise NotFound(f"no slot {slot_id!r}", code="slot_not_found")


# -- rules ----------------------------------------------------------------------------------


def check_bookable(key: SlotKey) -> None:
    """422 for a slot that has started, or after the cut-off (BOOKING_CUTOFF business time the
    day before the slot's date)."""
    now = clock.now()
    if key.start <= now:
        raise RuleBroken("this slot has already started", code="slot_in_past")
    day_before = date.fromisoformat(key.date) - timedelta(days=1)
    cutoff = clock.business_datetime(day_before, get_settings().booking_cutoff)
    if now >= cutoff:
        raise RuleBroken(
            f"bookings for {key.date} closed at {get_settings().booking_cutoff} the day before",
            code="booking_closed",
        )


# -- admin: define capacity ----------------------------------------------------------------


def parse_definition(body: dict[str, Any]) -> tuple[list[SlotKey], list[int]]:
    area = parse_area(body.get("area"))
    day = parse_date(body.get("date")).isoformat()
    windows = body.get("windows")
    if not isinstance(windows, list) or not 1 <= len(windows) <= MAX_WINDOWS:
        raise InvalidInput(f"windows must be a list of 1-{MAX_WINDOWS} entries", code="invalid_windows")
    keys: list[SlotKey] = []
    capacities: list[int] = []
    for entry in windows:
        if not isinstance(entry, dict):
            raise InvalidInput("each window must be an object {window, capacity}", code="invalid_windows")
        key = SlotKey(area, day, parse_window(entry.get("window")))
        if key in keys:
            raise InvalidInput(f"window {key.window} appears twice", code="duplicate_window")
        keys.append(key)
        capacities.append(parse_capacity(entry.get("capacity")))
    return keys, capacities


def define_slots(keys: list[SlotKey], capacities: list[int]) -> list[Slot]:
    """Create or update every window in ONE transaction. Each update carries the condition
    `booked <= new capacity`, so capacity is never set below what is booked, and one refused
    window leaves every window unchanged."""
    at = clock.iso(clock.now())
    ops = []
    for key, capacity in zip(keys, capacities, strict=True):
        ops.append(
            txn.update(
                key.slot_id,
                key.row(),
                actions=[
                    SlotRow.slot_id.set(key.slot_id),
                    SlotRow.area.set(key.area),
                    SlotRow.date.set(key.date),
                    SlotRow.window.set(key.window),
                    SlotRow.capacity.set(capacity),
                    SlotRow.booked.set(SlotRow.booked | 0),
                    SlotRow.updated_at.set(at),
                ],
                condition=SlotRow.booked.does_not_exist() | (SlotRow.booked <= capacity),
                old_on_fail=True,
            )
        )
    try:
        txn.run(ops)
    except txn.Cancelled as cancelled:
        refused = []
        for key in keys:
            if cancelled.failed(key.slot_id):
                old = cancelled.items.get(key.slot_id) or {}
                booked = (old.get("booked") or {}).get("N", "?")
                refused.append(f"{key.window} (booked {booked})")
        if refused:
            raise Conflict(
                "capacity cannot go below what is already booked: " + ", ".join(refused),
                code="capacity_below_booked",
            ) from None
        raise Conflict("slots are busy, try again", code="busy") from None
    return [get_slot(key) or _missing(key) for key in keys]


def _missing(key: SlotKey) -> Slot:
    raise NotFound(f"no slot {key.slot_id!r}", code="slot_not_found")


# -- reads ----------------------------------------------------------------------------------


def _to_domain(row: SlotRow) -> Slot:
    return Slot(
        slot_id=row.slot_id,
        area=row.area,
        date=row.date,
        window=row.window,
        capacity=int(row.capacity),
        booked=int(row.booked or 0),
    )


def get_slot(key: SlotKey) -> Slot | None:
    try:
        return _to_domain(SlotRow.get(key.pk, key.sk, consistent_read=True))
    except SlotRow.DoesNotExist:
        return None


def list_slots(area: str, start: date, end: date) -> list[Slot]:
    """One Query on the area's partition: sk between "<start>#" and "<end>#~" (no scan)."""
    if end < start:
        raise InvalidInput("to must not be before from", code="invalid_range")
    if (end - start).days > MAX_RANGE_DAYS:
        raise InvalidInput(f"at most {MAX_RANGE_DAYS} days per request", code="invalid_range")
    rows = SlotRow.query(f"SLOTS#{area}", SlotRow.sk.between(f"{start.isoformat()}#", f"{end.isoformat()}#~"))
    return [_to_domain(row) for row in rows]
