"""POS redemption: a signed request, then one conditional write that redeems exactly once.

The coupon carries its own terms (validity, minimum spend), so "status = issued AND
valid_from <= now <= valid_to AND min_spend <= amount" is one condition on one item, in the
same transaction as the redemption record and the store's `redemptions` counter. Only when
it is cancelled do we read the coupon, to say precisely why - or, when the very same
(store, order, code) redeemed it, to answer the same 200 again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from functions.core import clock, signing, txn
from functions.core.errors import Conflict, NotFound, RuleBroken, Unauthenticated
from functions.core.fields import IDENTIFIER
from functions.coupons import codes
from functions.coupons.issuing import Coupon, get_coupon, to_domain
from functions.coupons.models import CouponRow, RedemptionRow
from functions.stores import stats
from functions.stores.domain import get_store

MAX_SKEW_S = 300


@dataclass(frozen=True)
class Redemption:
    code: str
    discount_cents: int

    def to_view(self) -> dict[str, Any]:
        return {"status": "redeemed", "code": codes.display(self.code), "discount_cents": self.discount_cents}


def verify_pos_request(
    store_id: str | None, timestamp: str | None, signature: str | None, body: bytes
) -> str:
    """The authenticated store id, or Unauthenticated. Checked before the body is even parsed."""
    if not store_id or not timestamp or not signature:
        raise Unauthenticated("X-Store-Id, X-Timestamp and X-Signature are required", code="unauthorized")
    sent_at = clock.unix_seconds(timestamp)
    if sent_at is None or abs(clock.now_ts() - sent_at) > MAX_SKEW_S:
        raise Unauthenticated(f"X-Timestamp must be within {MAX_SKEW_S} s of now", code="stale_timestamp")
    # A store id is an identifier (CONTRACT §1); any other text names no store and is not looked up.
    store = get_store(store_id) if re.fullmatch(IDENTIFIER, store_id) else None
    # The same work whether or not the store exists, so a probe learns nothing from timing.
    secret = store.pos_secret.encode() if store else b"\0" * 32
    expected = hmac.new(secret, timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()
    if not signing.matches(expected, signature.strip().lower()) or store is None:
        raise Unauthenticated("bad signature", code="bad_signature")
    return store.store_id


def discount_for(coupon: Coupon, amount_cents: int) -> int:
    """A fixed amount capped at the amount, or the percentage of it (rounded half up)."""
    if coupon.discount_cents is not None:
        return min(coupon.discount_cents, amount_cents)
    return min(amount_cents, (amount_cents * (coupon.percent_off or 0) + 50) // 100)


def redemption_pk(code: str, store_id: str, order_id: str) -> str:
    return f"REDEMPTION#{code}#{store_id}#{order_id}"


def redeem(store_id: str, code: str, order_id: str, amount_cents: int) -> Redemption:
    """Redeem the coupon `code` (as typed or scanned) for the store's order, exactly once."""
    canonical = codes.normalize(code)
    if canonical is None:
        raise NotFound("no such coupon", code="coupon_not_found")
    code = canonical
    now_ts = clock.now_ts()
    at = clock.iso(clock.now())
    # The discount depends on the coupon's terms; read them (eventually consistent is fine:
    # terms never change after issue, and the status is checked by the condition below).
    try:
        row = CouponRow.get(f"COUPON#{code}", "COUPON")
    except DoesNotExist:
        row = None
    if row is None:
        # Maybe just issued and not yet visible to an eventually consistent read.
        coupon = get_coupon(code)
        if coupon is None:
            raise NotFound("no such coupon", code="coupon_not_found")
    else:
        coupon = to_domain(row)
    discount = discount_for(coupon, amount_cents)
    record = RedemptionRow(
        redemption_pk(code, store_id, order_id),
        "REDEMPTION",
        code=code,
        campaign_id=coupon.campaign_id,
        store_id=store_id,
        order_id=order_id,
        amount_cents=amount_cents,
        discount_cents=discount,
        redeemed_at=at,
        gsi1pk=f"STORE#{store_id}",
        gsi1sk=f"{at}#{code}",
    )
    ops = [
        txn.put("redemption", record, condition=RedemptionRow.pk.does_not_exist()),
        txn.update(
            "coupon",
            CouponRow(f"COUPON#{code}", "COUPON"),
            actions=[
                CouponRow.status.set("redeemed"),
                CouponRow.redeemed_at.set(at),
                CouponRow.redeemed_store.set(store_id),
                CouponRow.redeemed_order.set(order_id),
                CouponRow.redeemed_discount_cents.set(discount),
            ],
            condition=(
                (CouponRow.status == "issued")
                & (CouponRow.valid_from_ts <= now_ts)
                & (CouponRow.valid_to_ts >= now_ts)
                & (CouponRow.min_spend_cents <= amount_cents)
            ),
        ),
        stats.counters_op(store_id, {"redemptions": 1}),
    ]
    try:
        txn.run(ops)
    except txn.Cancelled as cancelled:
        if set(cancelled.reasons.values()) == {txn.CONFLICT}:  # still contended after retries
            raise Conflict("the coupon is busy; try again", code="busy") from None
        return _explain_refusal(store_id, code, order_id, amount_cents, now_ts)
    return Redemption(code, discount)


def _explain_refusal(store_id: str, code: str, order_id: str, amount_cents: int, now_ts: int) -> Redemption:
    """Read the coupon to say why it was refused; a retry of the same redemption gets its 200."""
    coupon = get_coupon(code)
    if coupon is None:
        raise NotFound("no such coupon", code="coupon_not_found")
    if coupon.status == "redeemed":
        try:
            record = RedemptionRow.get(
                redemption_pk(code, store_id, order_id), "REDEMPTION", consistent_read=True
            )
        except DoesNotExist:
            raise Conflict("the coupon was already redeemed", code="already_redeemed") from None
        return Redemption(record.code, int(record.discount_cents))
    if now_ts > coupon.valid_to_ts:
        raise RuleBroken("the coupon has expired", code="coupon_expired")
    if now_ts < coupon.valid_from_ts:
        raise RuleBroken("the coupon is not valid yet", code="coupon_not_started")
    if amount_cents < coupon.min_spend_cents:
        raise RuleBroken(
            f"the order must be at least {coupon.min_spend_cents} cents", code="min_spend_not_met"
        )
    raise Conflict("the coupon changed during redemption; try again", code="busy")
