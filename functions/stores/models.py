"""Storage rows of the stores table: stores, QR scenes, staff, and per-store and per-staff,
per-business-day counters.

| row | pk | sk | gsi1 |
|---|---|---|---|
| StoreRow | STORE#<store> | STORE | (STORES, <store>): every store, by key |
| StaffRow | STORE#<store> | STAFF#<staff> | |
| SceneRow | SCENE#<scene> | SCENE | (SCENES#<store>, <created_at>#<scene>): a store's QR codes |
| StoreStatsRow | STATS#<store> | <date> | |
| StaffStatsRow | STAFFSTATS#<store> | <date>#<staff> | |
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core.models import Gsi1, TableMeta

STORE = "STORE"
SCENE = "SCENE"
STORES = "STORES"
STAFF_PREFIX = "STAFF#"


def staff_sk(staff_id: str) -> str:
    return f"{STAFF_PREFIX}{staff_id}"


def scenes_gsi(store_id: str) -> str:
    return f"SCENES#{store_id}"


def store_pk(store_id: str) -> str:
    return f"STORE#{store_id}"


def scene_pk(scene: str) -> str:
    return f"SCENE#{scene}"


class StoreStatsRow(Model):
    """pk = "STATS#<store_id>", sk = business date YYYY-MM-DD."""

    class Meta(TableMeta):
        table = "stores"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    scans = NumberAttribute(null=True)
    new_followers = NumberAttribute(null=True)
    unsubscribes = NumberAttribute(null=True)
    bookings = NumberAttribute(null=True)
    redemptions = NumberAttribute(null=True)


class StaffStatsRow(Model):
    """pk = "STAFFSTATS#<store_id>", sk = "<YYYY-MM-DD>#<staff_id>": one store's staff members'
    counters of one business day, so a date range of a whole store is one Query."""

    class Meta(TableMeta):
        table = "stores"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    scans = NumberAttribute(null=True)
    new_followers = NumberAttribute(null=True)
    bookings = NumberAttribute(null=True)  # bookings by the customers the staff member won


class StaffRow(Model):
    """A staff member's display name: pk = "STORE#<store_id>", sk = "STAFF#<staff_id>"."""

    class Meta(TableMeta):
        table = "stores"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    staff_id = UnicodeAttribute()
    name = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class StoreRow(Model):
    """pk = "STORE#<store_id>", sk = "STORE"."""

    class Meta(TableMeta):
        table = "stores"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=STORE)
    store_id = UnicodeAttribute()
    name = UnicodeAttribute()
    welcome = UnicodeAttribute()
    pos_secret = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    gsi1pk = UnicodeAttribute(null=True)  # STORES: the list of stores is one Query
    gsi1sk = UnicodeAttribute(null=True)
    every_store = Gsi1()


class SceneRow(Model):
    """A registered QR scene: pk = "SCENE#<scene>", sk = "SCENE". The callback attributes a scan
    to the scene's store and staff member only if this row exists."""

    class Meta(TableMeta):
        table = "stores"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=SCENE)
    scene = UnicodeAttribute()
    store_id = UnicodeAttribute()
    staff_id = UnicodeAttribute(null=True)
    campaign = UnicodeAttribute(null=True)
    permanent = BooleanAttribute(default=False)
    points = NumberAttribute(null=True)  # a table card's points per scan (CONTRACT §14)
    created_at = UnicodeAttribute()
    # The last code WeChat issued for this scene (informational). Deliberately no `expires_at`:
    # the table's TTL would delete a scene a permanent code of the same scene still uses.
    ticket = UnicodeAttribute(null=True)
    url = UnicodeAttribute(null=True)
    qr_expire_seconds = NumberAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)  # SCENES#<store>: a store's codes are one Query
    gsi1sk = UnicodeAttribute(null=True)
    by_store = Gsi1()
