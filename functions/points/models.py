"""Storage rows of the points table (generic keys pk, sk, gsi1).

| row | pk | sk | gsi1 |
|---|---|---|---|
| BalanceRow (the customer's balance) | POINTS#<openid> | BALANCE | |
| EntryRow (one ledger entry, deterministic id) | POINTS#<openid> | ENTRY#<entry_id> | (HISTORY#<openid>, <at>#<entry_id>): history, newest first |
| ReferralRow (who brought this follower) | REFERRAL#<openid> | REFERRAL | |
| ReferrerRow (a sharer's counters) | REFERRER#<openid> | REFERRER | (REFERRERS, <openid>): every sharer |
| ShareQrRow (a share page's cached temporary QR code) | SHAREQR#<ref_code> | QR | |

An entry and the balance are written in one transaction: the entry only if its id is new, the
balance only if it stays at or above zero.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core.models import Gsi1, TableMeta

BALANCE = "BALANCE"
ENTRY_PREFIX = "ENTRY#"
REFERRAL = "REFERRAL"
REFERRER = "REFERRER"
REFERRERS = "REFERRERS"
QR = "QR"


def ledger_pk(openid: str) -> str:
    return f"POINTS#{openid}"


def history_pk(openid: str) -> str:
    return f"HISTORY#{openid}"


def entry_sk(entry_id: str) -> str:
    return f"{ENTRY_PREFIX}{entry_id}"


def referral_pk(openid: str) -> str:
    return f"REFERRAL#{openid}"


def referrer_pk(openid: str) -> str:
    return f"REFERRER#{openid}"


def share_qr_pk(ref_code: str) -> str:
    return f"SHAREQR#{ref_code}"


class BalanceRow(Model):
    class Meta(TableMeta):
        table = "points"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=BALANCE)
    balance = NumberAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)


class EntryRow(Model):
    class Meta(TableMeta):
        table = "points"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    entry_id = UnicodeAttribute()
    delta = NumberAttribute()
    reason = UnicodeAttribute()  # scan | order | exchange | referral
    at = UnicodeAttribute()
    detail = UnicodeAttribute(null=True)  # the store, order, coupon code or referred follower
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    history = Gsi1()


class ReferralRow(Model):
    """Written once, when the follower first follows through a share code: never re-attributed."""

    class Meta(TableMeta):
        table = "points"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=REFERRAL)
    referrer = UnicodeAttribute()
    at = UnicodeAttribute()
    first_order_id = UnicodeAttribute(null=True)  # set once, by the follower's first order


class ReferrerRow(Model):
    class Meta(TableMeta):
        table = "points"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=REFERRER)
    openid = UnicodeAttribute(null=True)
    views = NumberAttribute(null=True)  # share page views
    follows = NumberAttribute(null=True)
    first_orders = NumberAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    every_referrer = Gsi1()


class ShareQrRow(Model):
    class Meta(TableMeta):
        table = "points"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=QR)
    ticket = UnicodeAttribute()
    url = UnicodeAttribute()
    expires_ts = NumberAttribute()  # when WeChat stops honouring the code
    expires_at = NumberAttribute(null=True)  # the table's TTL (informational: code checks expires_ts)
