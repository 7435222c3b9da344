"""Service areas: the name people see for an area id, and which areas have slots when.

An area is an identifier (`shanghai-jingan`) wherever slots and orders name it; customers see
its display name (`静安区`), set with PUT /admin/areas/{area}. An area without a name is shown
by its id. Which areas have slots on which days is recorded with the slots themselves
(`day_op`, an item of their transaction), so the booking page can offer the areas that have
slots without a scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from functions.bookings.models import AreaDayRow, AreaRow
from functions.core import clock, txn

AREAS_PK = "AREAS"
AREA_DAYS_PK = "AREADAYS"
WEEKDAYS = "一二三四五六日"
FIELD_LIMIT = 20  # a template message field


@dataclass(frozen=True)
class Area:
    area: str
    name: str  # the display name, or the id when it has none

    def to_view(self) -> dict[str, str]:
        return {"area": self.area, "name": self.name}


def put_area(area: str, name: str) -> Area:
    """Give the area its display name (create or rename)."""
    AreaRow(AREAS_PK, area, name=name.strip(), updated_at=clock.iso(clock.now())).save()
    return Area(area, name.strip())


def names(areas: set[str] | list[str]) -> dict[str, str]:
    """The display name of each area (its id when it has none): one batch read."""
    wanted = sorted(set(areas))
    found = {row.sk: row.name for row in AreaRow.batch_get([(AREAS_PK, a) for a in wanted])} if wanted else {}
    return {a: found.get(a, a) for a in wanted}


def name_of(area: str) -> str:
    """One area's display name (its id when it has none): one GetItem, eventually consistent."""
    try:
        return AreaRow.get(AREAS_PK, area).name
    except AreaRow.DoesNotExist:
        return area


def day_op(area: str, day: str) -> txn.Op:
    """ "The area has slots on `day`", as an item of the slots' transaction."""
    return txn.put(f"area-day#{day}", AreaDayRow(AREA_DAYS_PK, f"{day}#{area}", area=area, date=day))


def with_slots(start: date, end: date) -> list[Area]:
    """The areas that have slots on a day between `start` and `end` (both included), by name."""
    rows = AreaDayRow.query(
        AREA_DAYS_PK, AreaDayRow.sk.between(f"{start.isoformat()}#", f"{end.isoformat()}#~")
    )
    found = names({row.area for row in rows})
    return sorted((Area(a, n) for a, n in found.items()), key=lambda a: (a.name, a.area))


def day_text(day: str) -> str:
    """`2026-12-02` -> `12月2日 周三`."""
    d = date.fromisoformat(day)
    return f"{d.month}月{d.day}日 周{WEEKDAYS[d.weekday()]}"


def place_and_time(area_name: str, day: str, window: str) -> str:
    """The booking message's place-and-time field, e.g. `静安区 周三 09:00-12:00` (at most 20
    characters: a long area name is shortened, the time never)."""
    when = f" 周{WEEKDAYS[date.fromisoformat(day).weekday()]} {window}"
    room = FIELD_LIMIT - len(when)
    name = area_name if len(area_name) <= room else area_name[: room - 1] + "…"
    return name + when
