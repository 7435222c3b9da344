"""What the slot and booking routes accept (CONTRACT §3 and §6), declared once.

A route validates its request against these before the domain sees it (a shape error is
`400 invalid_<field>`), and the OpenAPI document is built from the same declarations.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Annotated

import msgspec
from msgspec import Meta

from functions.core.fields import IDENTIFIER, Area, DisplayName, OrderId, Serial, SlotId

MAX_WINDOWS = 48  # one transaction item each; DynamoDB allows 100
MAX_CAPACITY = 100_000

# Python's `$` also matches before a final "\n": `(?!\n)` keeps a trailing newline out.
WINDOW = r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$(?!\n)"
# Free text: no control characters, and something other than spaces.
TEXT = r"^[^\S\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$(?!\n)"

Window = Annotated[str, Meta(pattern=WINDOW, description='a business-time window "HH:MM-HH:MM"')]
Capacity = Annotated[int, Meta(ge=0, le=MAX_CAPACITY)]
Address = Annotated[str, Meta(min_length=1, max_length=200, pattern=TEXT)]
Phone = Annotated[str, Meta(max_length=20, pattern=r"^\+?[0-9][0-9 -]{5,19}$(?!\n)")]
BookingId = Annotated[str, Meta(pattern=IDENTIFIER, max_length=64, description="a booking id")]
IdempotencyKey = Annotated[
    str, Meta(pattern=r"^[\x21-\x7e]{1,128}$(?!\n)", description="1-128 printable ASCII characters")
]


class WindowCapacity(msgspec.Struct):
    window: Window
    capacity: Capacity


class SlotsDefinition(msgspec.Struct):
    """PUT /admin/slots: an area's windows on one day."""

    area: Area
    date: datetime.date
    windows: Annotated[list[WindowCapacity], Meta(min_length=1, max_length=MAX_WINDOWS)]


class SlotsQuery(msgspec.Struct):
    """GET /slots?area=&from=&to=: both dates included."""

    area: Area
    from_: datetime.date = msgspec.field(name="from")
    to: datetime.date


class BookingRequest(msgspec.Struct):
    """POST /bookings."""

    slot_id: SlotId
    order_id: OrderId
    address: Address
    phone: Phone

    def __post_init__(self) -> None:
        self.address = self.address.strip()

    def fingerprint(self) -> str:
        """Tells a retry (same request, same Idempotency-Key) from a reuse of the key."""
        canonical = json.dumps(msgspec.structs.asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


class RescheduleRequest(msgspec.Struct):
    """POST /bookings/{id}/reschedule."""

    slot_id: SlotId


class CompleteRequest(msgspec.Struct, forbid_unknown_fields=False):
    """POST /admin/bookings/{id}/complete: the serials of the units installed (either case)."""

    serials: Annotated[list[Serial], Meta(max_length=50)] = []


class AreaBody(msgspec.Struct, forbid_unknown_fields=False):
    """PUT /admin/areas/{area}: the name customers see, e.g. 静安区."""

    name: Annotated[DisplayName, Meta(pattern=TEXT)]
