"""Storage rows of the bookings table (generic keys pk/sk, gsi1, gsi2).

- SlotRow:        pk "SLOTS#<area>", sk "<date>#<window>"; `capacity` and `booked` live on the
                  same item, so "booked <= capacity" is one item's condition.
- BookingRow:     pk "BOOKING#<booking_id>", sk "BOOKING";
                  gsi1 ("CUSTOMER#<openid>", "<created_at>#<booking_id>") for "my bookings",
                  gsi2 ("DAY#<date>", "<slot_id>#<booking_id>") only while confirmed: the
                  day-before reminder and the per-slot count read it.
- OrderLockRow:   pk "ORDERLOCK#<order_id>", sk "LOCK": exists while the order has an active
                  booking (one active booking per order).
- IdempotencyRow: pk "IDEM#<openid>#<key>", sk "IDEM": the first response to a POST /bookings
                  with that Idempotency-Key, written in the booking's transaction.
- AreaRow:        pk "AREAS", sk "<area>": the area's display name (PUT /admin/areas/{area}).
- AreaDayRow:     pk "AREADAYS", sk "<date>#<area>": the area has slots that day.
"""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core.models import Gsi1, Gsi2, TableMeta

BOOKING_SK = "BOOKING"
LOCK_SK = "LOCK"
IDEM_SK = "IDEM"


class SlotRow(Model):
    class Meta(TableMeta):
        table = "bookings"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    slot_id = UnicodeAttribute()
    area = UnicodeAttribute()
    date = UnicodeAttribute()
    window = UnicodeAttribute()
    capacity = NumberAttribute()
    booked = NumberAttribute(default=0)
    updated_at = UnicodeAttribute(null=True)


class BookingRow(Model):
    class Meta(TableMeta):
        table = "bookings"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=BOOKING_SK)
    booking_id = UnicodeAttribute()
    openid = UnicodeAttribute()
    order_id = UnicodeAttribute()
    store_id = UnicodeAttribute(null=True)
    slot_id = UnicodeAttribute()
    area = UnicodeAttribute()
    date = UnicodeAttribute()
    window = UnicodeAttribute()
    address = UnicodeAttribute()
    phone = UnicodeAttribute()
    status = UnicodeAttribute()  # confirmed | cancelled | done
    version = NumberAttribute(default=1)  # +1 on every change; conditions compare it
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    cancelled_at = UnicodeAttribute(null=True)
    completed_on = UnicodeAttribute(null=True)  # business date: delivered and installed (status done)
    reminded_for = UnicodeAttribute(null=True)  # the slot date a reminder was claimed for
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    by_customer = Gsi1()
    by_day = Gsi2()


class OrderLockRow(Model):
    class Meta(TableMeta):
        table = "bookings"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=LOCK_SK)
    booking_id = UnicodeAttribute()
    openid = UnicodeAttribute()


class IdempotencyRow(Model):
    class Meta(TableMeta):
        table = "bookings"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=IDEM_SK)
    fingerprint = UnicodeAttribute()
    response = JSONAttribute()
    expires_at = NumberAttribute()  # TTL (moto never expires: checked in code too)


class AreaRow(Model):
    """A service area's display name: pk "AREAS", sk "<area>" (one partition: areas are few,
    and a page names every area it lists in one read)."""

    class Meta(TableMeta):
        table = "bookings"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class AreaDayRow(Model):
    """An area has slots on a day: pk "AREADAYS", sk "<date>#<area>", written with the day's
    slots. "Which areas have slots in the next 14 days" is one Query, never a scan."""

    class Meta(TableMeta):
        table = "bookings"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    area = UnicodeAttribute()
    date = UnicodeAttribute()
