"""Storage rows of the stores table: stores, QR scenes and per-store, per-business-day counters."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core.models import TableMeta

STORE = "STORE"
SCENE = "SCENE"


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
    created_at = UnicodeAttribute()
    # The last code WeChat issued for this scene (informational). Deliberately no `expires_at`:
    # the table's TTL would delete a scene a permanent code of the same scene still uses.
    ticket = UnicodeAttribute(null=True)
    url = UnicodeAttribute(null=True)
    qr_expire_seconds = NumberAttribute(null=True)
