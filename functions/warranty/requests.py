"""What the warranty and after-sales routes accept (CONTRACT §13), declared once.

A serial on a JSON route is an identifier of CONTRACT §1 (either case; stored in upper case).
The pages take it as people type or scan it (`RawSerial`: full-width characters, spaces), and
the domain normalises it (functions.warranty.serials.normalise) before checking the grammar.
"""

from __future__ import annotations

import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from functions.bookings.requests import TEXT
from functions.core.fields import IDENTIFIER, Serial, Sku, SlotId
from functions.warranty.serials import MAX_RAW_SERIAL, MAX_SERIALS
from functions.warranty.service import MAX_PROBLEM

RawSerial = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_RAW_SERIAL,
        description="a unit's serial as printed or typed; normalised (full-width, spaces, case)",
    ),
]
Problem = Annotated[str, Meta(min_length=1, max_length=MAX_PROBLEM, pattern=TEXT)]
RequestId = Annotated[str, Meta(pattern=IDENTIFIER, max_length=64, description="a service request id")]


class SerialsBody(msgspec.Struct, forbid_unknown_fields=False):
    """POST /admin/serials: manufactured units of one SKU."""

    sku: Sku
    serials: Annotated[list[Serial], Meta(min_length=1, max_length=MAX_SERIALS)]


class RegistrationBody(msgspec.Struct, forbid_unknown_fields=False):
    """POST /warranty/registrations."""

    serial: Serial
    purchased_on: datetime.date | None = None


class ServiceRequestBody(msgspec.Struct, forbid_unknown_fields=False):
    """POST /service-requests."""

    serial: Serial
    problem: Problem


class ScheduleBody(msgspec.Struct, forbid_unknown_fields=False):
    """POST /admin/service-requests/{id}/schedule."""

    slot_id: SlotId
