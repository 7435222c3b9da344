"""Warranty dates: when a warranty starts and when it ends (CONTRACT §13).

- The start is the first date that exists of: the installation date, the `purchased_on` the
  customer gave, the order's purchase date, the registration date.
- The end is `warranty_months` calendar months after the start, clamped to the month's end:
  2024-01-31 + 1 month = 2024-02-29, 2023-08-31 + 6 months = 2024-02-29.
"""

from __future__ import annotations

import calendar
from datetime import date


def add_months(start: date, months: int) -> date:
    """`start` moved `months` calendar months on; a day the month lacks becomes its last day."""
    if months < 0:
        raise ValueError("months must not be negative")
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    if year > date.max.year:
        return date.max
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last))


def start_date(
    installed_on: date | None, purchased_on: date | None, ordered_on: date | None, registered_on: date | None
) -> date | None:
    """The first of the dates a warranty may start from that exists, in the contract's order."""
    for day in (installed_on, purchased_on, ordered_on, registered_on):
        if day is not None:
            return day
    return None


def warranty_until(start: date | None, months: int | None) -> date | None:
    """The warranty's last day, or None when the product has no warranty or nothing started it."""
    if start is None or months is None:
        return None
    return add_months(start, months)
