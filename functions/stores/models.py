"""Storage rows of the stores table: per-store, per-business-day counters."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core.models import TableMeta, table_name


class StoreStatsRow(Model):
    """pk = "STATS#<store_id>", sk = business date YYYY-MM-DD."""

    class Meta(TableMeta):
        table_name = table_name("stores")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    scans = NumberAttribute(null=True)
    new_followers = NumberAttribute(null=True)
    unsubscribes = NumberAttribute(null=True)
    bookings = NumberAttribute(null=True)
    redemptions = NumberAttribute(null=True)


class StoreRow(Model):
    """pk = "STORE#<store_id>", sk = "STORE"."""

    class Meta(TableMeta):
        table_name = table_name("stores")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="STORE")
    store_id = UnicodeAttribute()
    name = UnicodeAttribute()
    welcome = UnicodeAttribute()
    pos_secret = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
