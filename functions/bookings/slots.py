"""Delivery/installation slots: capacity per service area, date and time window.

A slot's id is deterministic - "<area>|<date>|<window>", e.g. "SH-PD|2025-03-01|09:00-12:00" -
so it names its own key (no lookup) and defining the same window twice updates it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import msgspec

from functions.bookings import areas
from functions.bookings.models import SlotRow
from functions.bookings.requests import WINDOW, SlotsDefinition
from functions.core import clock, txn
from functions.core.config import get_settings
from functions.core.errors import Conflict, InvalidInput, NotFound, RuleBroken
from functions.core.fields import SlotId

_WINDOW = re.compile(WINDOW)
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


# -- slot ids and windows -------------------------------------------------------------------


def window_ok(window: str) -> bool:
    """A window of the declared grammar that ends after it starts."""
    if not _WINDOW.match(window):
        return False
    start, end = window.split("-")
    return start < end


def parse_slot_id(slot_id: str) -> SlotKey:
    """The key a slot id names. An id outside the SlotId grammar, or whose date is not a
    calendar date or whose window is not a window, names no slot (404)."""
    try:
        area, day, window = msgspec.convert(slot_id, SlotId).split("|")
        date.fromisoformat(day)
    except (msgspec.ValidationError, ValueError):
        raise NotFound(f"no slot {slot_id!r}", code="slot_not_found") from None
    if not window_ok(window):
        raise NotFound(f"no slot {slot_id!r}", code="slot_not_found")
    return SlotKey(area, day, window)


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


def define(definition: SlotsDefinition) -> list[Slot]:
    """PUT /admin/slots: every window of the definition, or none."""
    day = definition.date.isoformat()
    keys: list[SlotKey] = []
    for entry in definition.windows:
        if not window_ok(entry.window):
            raise InvalidInput(f"window {entry.window} must end after it starts", code="invalid_window")
        key = SlotKey(definition.area, day, entry.window)
        if key in keys:
            raise InvalidInput(f"window {key.window} appears twice", code="invalid_windows")
        keys.append(key)
    return define_slots(keys, [entry.capacity for entry in definition.windows])


def define_slots(keys: list[SlotKey], capacities: list[int]) -> list[Slot]:
    """Create or update every window in ONE transaction. Each update carries the condition
    `booked <= new capacity`, so capacity is never set below what is booked, and one refused
    window leaves every window unchanged. The same transaction records that the area has slots
    on those days (areas.day_op)."""
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
    ops += [areas.day_op(area, day) for area, day in dict.fromkeys((k.area, k.date) for k in keys)]
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
        raise RuleBroken("to must not be before from", code="invalid_range")
    if (end - start).days > MAX_RANGE_DAYS:
        raise RuleBroken(f"at most {MAX_RANGE_DAYS} days per request", code="invalid_range")
    rows = SlotRow.query(f"SLOTS#{area}", SlotRow.sk.between(f"{start.isoformat()}#", f"{end.isoformat()}#~"))
    return [_to_domain(row) for row in rows]
