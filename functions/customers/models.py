"""Storage rows of the customers table (pk = openid, sk = "PROFILE")."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core.models import TableMeta

PROFILE = "PROFILE"


class CustomerRow(Model):
    class Meta(TableMeta):
        table = "customers"

    pk = UnicodeAttribute(hash_key=True)  # openid
    sk = UnicodeAttribute(range_key=True, default=PROFILE)
    subscribed = BooleanAttribute(default=False)
    reminder_consent = BooleanAttribute(default=False)
    # Present (always False) from the customer's own withdrawal until their own opt-in: the value
    # an order's consent resolves to (`if_not_exists`), so no order overrides a withdrawal.
    withdrawn_consent = BooleanAttribute(null=True)
    subscribed_at = UnicodeAttribute(null=True)
    unsubscribed_at = UnicodeAttribute(null=True)
    # First-touch attribution: set once, never overwritten.
    first_store_id = UnicodeAttribute(null=True)
    first_staff_id = UnicodeAttribute(null=True)
    first_scene = UnicodeAttribute(null=True)
    first_touch_at = UnicodeAttribute(null=True)
    touches = NumberAttribute(default=0)
    # The customer's share code (`/h5/r/<ref_code>`): random, set once (RefCodeRow maps it back).
    ref_code = UnicodeAttribute(null=True)


class TouchRow(Model):
    """One QR touch after (or including) the first: pk = openid, sk = "TOUCH#<time>#<dedupe>"."""

    class Meta(TableMeta):
        table = "customers"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # subscribe | scan
    scene = UnicodeAttribute()
    store_id = UnicodeAttribute()
    staff_id = UnicodeAttribute(null=True)
    campaign = UnicodeAttribute(null=True)
    at = UnicodeAttribute()


class RefCodeRow(Model):
    """A share code's owner: pk = "REFCODE#<ref_code>", sk = "REFCODE" (an openid never holds "#")."""

    class Meta(TableMeta):
        table = "customers"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="REFCODE")
    openid = UnicodeAttribute()
