"""Storage rows of the orders table.

- OrderRow: pk "ORDER#<order_id>", sk "ORDER"; gsi1 ("CUSTOMER#<openid>", purchased_at).
- PurchaseLineRow (one per distinct SKU): pk "ORDER#<order_id>", sk "LINE#<sku>"; gsi1 ("BOUGHT#<openid>#<sku>",
  "<purchased_at>#<order_id>") answers "has this customer bought this SKU since ...".
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core.models import Gsi1, TableMeta


class OrderRow(Model):
    class Meta(TableMeta):
        table = "orders"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="ORDER")
    order_id = UnicodeAttribute()
    openid = UnicodeAttribute()
    store_id = UnicodeAttribute(null=True)
    items = JSONAttribute()  # [{"sku", "qty", "price_cents"}]
    total_cents = NumberAttribute()
    purchased_at = UnicodeAttribute()  # ISO-8601 UTC
    reminder_consent = BooleanAttribute(null=True)
    shipment = JSONAttribute(null=True)  # {"carrier", "tracking_no"}
    area = UnicodeAttribute(null=True)  # the service area of its delivery slots
    recorded_at = UnicodeAttribute(null=True)
    # Set once the order_recorded event is on the queue; a retried POST re-publishes until then.
    event_published_at = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    by_customer = Gsi1()


class PurchaseLineRow(Model):
    class Meta(TableMeta):
        table = "orders"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    order_id = UnicodeAttribute()
    openid = UnicodeAttribute()
    sku = UnicodeAttribute()
    qty = NumberAttribute()
    purchased_at = UnicodeAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    by_customer_sku = Gsi1()
