"""Storage rows of the warranty table (generic keys pk/sk, gsi1, gsi2, TTL `expires_at`).

- SerialRow:      pk "SERIAL#<serial>", sk "SERIAL": one manufactured unit. `openid` is absent
                  until the unit is registered; the registration is one conditional write on this
                  item, so a unit belongs to at most one customer. The dates a warranty may start
                  from are kept apart (installed_on, purchased_on, ordered_on, registered_on):
                  the start is the first that exists, computed when read.
                  gsi1 ("CUSTOMER#<openid>", "UNIT#<registered_at>#<serial>") answers "my products".
- ServiceRow:     pk "SERVICE#<request_id>", sk "SERVICE": an after-sales request.
                  gsi1 ("CUSTOMER#<openid>", "SERVICE#<created_at>#<id>") answers "my requests";
                  gsi2 ("OPEN", created_at) while open (ops: open requests by age), then
                  ("DAY#<date>", "<slot_id>#<id>") while scheduled (the day-before reminder).
- IdempotencyRow: pk "IDEM#<openid>#<key>", sk "IDEM": the first answer to a POST /service-requests
                  with that Idempotency-Key, written in the request's own transaction.
- AccountQrRow:   pk "ACCOUNTQR", sk "<scene>": the account's permanent follow code the
                  warranty page shows to a customer who does not follow yet (created once).
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core.models import Gsi1, Gsi2, TableMeta

SERIAL_SK = "SERIAL"
SERVICE_SK = "SERVICE"
IDEM_SK = "IDEM"


class SerialRow(Model):
    class Meta(TableMeta):
        table = "warranty"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=SERIAL_SK)
    serial = UnicodeAttribute()
    sku = UnicodeAttribute()
    created_at = UnicodeAttribute(null=True)
    openid = UnicodeAttribute(null=True)
    registered_at = UnicodeAttribute(null=True)
    registered_on = UnicodeAttribute(null=True)  # business date of the registration
    purchased_on = UnicodeAttribute(null=True)  # given by the customer at registration
    ordered_on = UnicodeAttribute(null=True)  # the order's purchase date (serials on an order)
    order_id = UnicodeAttribute(null=True)
    installed_on = UnicodeAttribute(null=True)  # the delivery's completion date
    booking_id = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    by_customer = Gsi1()


class ServiceRow(Model):
    class Meta(TableMeta):
        table = "warranty"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=SERVICE_SK)
    request_id = UnicodeAttribute()
    openid = UnicodeAttribute()
    serial = UnicodeAttribute()
    sku = UnicodeAttribute()
    problem = UnicodeAttribute()
    in_warranty = BooleanAttribute()
    status = UnicodeAttribute()  # open | scheduled | done | cancelled
    slot_id = UnicodeAttribute(null=True)
    version = NumberAttribute(default=1)  # +1 on every change; conditions compare it
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    reminded_for = UnicodeAttribute(null=True)  # the visit date a reminder was claimed for
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    by_customer = Gsi1()
    by_state = Gsi2()


class IdempotencyRow(Model):
    class Meta(TableMeta):
        table = "warranty"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=IDEM_SK)
    fingerprint = UnicodeAttribute()
    response = JSONAttribute()
    expires_at = NumberAttribute()  # TTL (moto never expires: checked in code too)


class AccountQrRow(Model):
    class Meta(TableMeta):
        table = "warranty"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    ticket = UnicodeAttribute()
    url = UnicodeAttribute()
    created_at = UnicodeAttribute()
