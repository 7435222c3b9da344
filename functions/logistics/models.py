"""Storage rows of shipments, kept in the orders table next to the orders they belong to.

- ShipmentRow: pk "SHIP#<carrier>#<tracking_no>", sk "SHIPMENT". Holds the current status, its
  `position` (the rank the status machine compares), a `version` every status change and every
  order link bumps (the optimistic-concurrency guard), the linked order/openid and
  `announced_position` (the highest position whose customer message is on the queue).
  gsi1 ("SHIPMENTS#<openid>", "<created_at>#<key>") lists a customer's shipments.
- ShipmentEventRow: pk as the shipment, sk "EVENT#<occurred_at UTC ISO>#<digest>": one history
  entry, written once with a conditional put (the digest is of time + context + status, or of
  the native event_id). Sorting by sk gives the history in time order.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core.models import Gsi1, TableMeta

SHIPMENT = "SHIPMENT"
EVENT_PREFIX = "EVENT#"


class ShipmentRow(Model):
    class Meta(TableMeta):
        table = "orders"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=SHIPMENT)
    carrier = UnicodeAttribute(null=True)
    tracking_no = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    position = NumberAttribute(null=True)
    status_at = UnicodeAttribute(null=True)  # occurred_at of the event that set the status
    status_context = UnicodeAttribute(null=True)
    status_changed_at = UnicodeAttribute(null=True)  # when we recorded the change
    version = NumberAttribute(null=True)
    writer = UnicodeAttribute(null=True)  # token of the last status write (recognises SDK retries)
    announced_position = NumberAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    openid = UnicodeAttribute(null=True)
    monitor_status = UnicodeAttribute(null=True)  # Kuaidi100's polling | shutdown | abort | updateall
    monitor_message = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    by_customer = Gsi1()


class ShipmentEventRow(Model):
    class Meta(TableMeta):
        table = "orders"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    occurred_at = UnicodeAttribute()
    context = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)  # our status, when the event carries one we map
    raw_status = UnicodeAttribute(null=True)  # the carrier's own status text / code
    location = UnicodeAttribute(null=True)
    source = UnicodeAttribute()  # kuaidi100 | native
    recorded_at = UnicodeAttribute()
