"""Referrals: a customer's share page, the followers it brings, and the sharer's reward.

- The share page `/h5/r/<ref_code>` shows a temporary QR code (scene `ref/<ref_code>`), cached
  per code until shortly before WeChat lets it expire, and counts a view for the sharer.
- A *new* follower through it (one who never followed before, never the sharer) becomes the
  sharer's referral: the ReferralRow is put only if new, and the customer's follow item carries
  the condition that they never followed, both in the callback's transaction. First touch wins.
- The referral's first recorded order credits the sharer REFERRAL_POINTS (entry
  `referral:<follower>`), sets the referral's `first_order_id` (condition: not set yet) and
  queues the sharer's message, all in one transaction: once, however often the event comes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from functions.core import clock, links, txn
from functions.core.config import get_settings
from functions.core.errors import NotFound, WeChatRefused
from functions.customers import domain as customers
from functions.notifications.domain import notify_op
from functions.points import ledger
from functions.points.models import (
    QR,
    REFERRAL,
    REFERRER,
    REFERRERS,
    ReferralRow,
    ReferrerRow,
    ShareQrRow,
    referral_pk,
    referrer_pk,
    share_qr_pk,
)
from functions.stores.qrcodes import MAX_TEMPORARY_S, image_url

log = logging.getLogger(__name__)

SCENE_PREFIX = "ref/"
REFERRAL_LABEL = "referral"
RERUN_ON = ("customer", REFERRAL_LABEL)  # the callback reads again when either refused
SHARE_QR_TTL_S = MAX_TEMPORARY_S  # WeChat's longest temporary code: 30 days
SHARE_QR_MARGIN_S = 24 * 3600  # a cached code is replaced a day before it expires


def scene_of(ref_code: str) -> str:
    return f"{SCENE_PREFIX}{ref_code}"


# -- the share page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SharePage:
    sharer: str
    qr_url: str  # what the QR code holds: the page draws it (no image from WeChat's host)
    image_url: str  # WeChat's own picture of it (showqrcode)
    expires_ts: int


def share_page(ref_code: str) -> SharePage:
    """The share page's QR code (cached), and one more view for the sharer; 404 for a code
    nobody owns."""
    sharer = customers.owner_of_ref_code(ref_code)
    if sharer is None:
        raise NotFound("no such share link", code="share_not_found")
    ticket, url, expires_ts = _share_qrcode(ref_code)
    _count(sharer, views=1)
    return SharePage(sharer, url, image_url(ticket), expires_ts)


def _share_qrcode(ref_code: str) -> tuple[str, str, int]:
    """(ticket, url, expiry) of the code's temporary QR code: the cached one while it has more than
    SHARE_QR_MARGIN_S left, else a new one from WeChat (inline: the page needs its ticket)."""
    now = clock.now_ts()
    try:
        cached = ShareQrRow.get(share_qr_pk(ref_code), QR)
        if int(cached.expires_ts) - now > SHARE_QR_MARGIN_S:
            return cached.ticket, cached.url, int(cached.expires_ts)
    except DoesNotExist:
        pass
    from functions.core import wechat  # lazily: only the share page calls WeChat

    body = {
        "action_name": "QR_STR_SCENE",
        "expire_seconds": SHARE_QR_TTL_S,
        "action_info": {"scene": {"scene_str": scene_of(ref_code)}},
    }
    try:
        result = wechat.call("cgi-bin/qrcode/create", body)
    except (wechat.WeChatError, OSError) as error:  # OSError: requests' network errors
        raise WeChatRefused(f"WeChat refused the share code: {error}") from None
    expires_ts = now + int(result.get("expire_seconds") or SHARE_QR_TTL_S)
    ticket, url = str(result["ticket"]), str(result.get("url") or "")
    # Two first views at once each store a valid code; the later write wins, both work.
    ShareQrRow(
        share_qr_pk(ref_code), QR, ticket=ticket, url=url, expires_ts=expires_ts, expires_at=expires_ts
    ).save()
    return ticket, url, expires_ts


def _counter_actions(views: int = 0, follows: int = 0, first_orders: int = 0) -> list[Any]:
    actions: list[Any] = []
    for attribute, n in ((ReferrerRow.views, views), (ReferrerRow.follows, follows)):
        if n:
            actions.append(attribute.add(n))
    if first_orders:
        actions.append(ReferrerRow.first_orders.add(first_orders))
    return actions


def _counter_item(sharer: str) -> tuple[ReferrerRow, list[Any]]:
    row = ReferrerRow(referrer_pk(sharer), REFERRER)
    keys = [
        ReferrerRow.openid.set(sharer),
        ReferrerRow.gsi1pk.set(REFERRERS),
        ReferrerRow.gsi1sk.set(sharer),
    ]
    return row, keys


def _count(sharer: str, **counts: int) -> None:
    row, keys = _counter_item(sharer)
    row.update(actions=[*keys, *_counter_actions(**counts)])


def _counter_op(label: str, sharer: str, **counts: int) -> txn.Op:
    row, keys = _counter_item(sharer)
    return txn.update(label, row, [*keys, *_counter_actions(**counts)])


# -- a follow through a share code (the WeChat callback) --------------------------------------


@dataclass(frozen=True)
class Referral:
    sharer: str
    ops: tuple[txn.Op, ...]  # the referral and the sharer's follow counter


def referral_for(openid: str, ref_code: str) -> Referral | None:
    """The referral a subscribe through `ref_code` makes, or None: an unknown code, the sharer
    themselves, a customer who followed before, or one already referred. The caller adds
    `customers.follow_ops(..., first_follow=True)` to the same transaction."""
    sharer = customers.owner_of_ref_code(ref_code)
    if sharer is None or sharer == openid:
        return None
    customer = customers.get_customer(openid)
    if customer is not None and customer.followed_before:
        return None
    row = ReferralRow(referral_pk(openid), REFERRAL, referrer=sharer, at=clock.iso(clock.now()))
    return Referral(
        sharer,
        (
            txn.put(REFERRAL_LABEL, row, condition=ReferralRow.pk.does_not_exist()),
            _counter_op("referrer", sharer, follows=1),
        ),
    )


def referrer_of(openid: str) -> str | None:
    """Who referred this customer, or None."""
    try:
        return ReferralRow.get(referral_pk(openid), REFERRAL, consistent_read=True).referrer
    except DoesNotExist:
        return None


# -- the referral's first order (the order_recorded event) -------------------------------------


def reward_fields(points: int, balance: int) -> dict[str, str]:
    """The sharer's message: what for, points earned, balance."""
    return {"reason": "好友完成首单", "points": str(points), "balance": str(balance)}


def on_order_recorded(event: dict[str, Any]) -> None:
    """Subscriber of order_recorded: a referral's first order rewards the sharer, once."""
    openid, order_id = event.get("openid"), event.get("order_id")
    if not openid or not order_id:
        return
    try:
        referral = ReferralRow.get(referral_pk(openid), REFERRAL, consistent_read=True)
    except DoesNotExist:
        return
    if referral.first_order_id is not None:
        return  # rewarded already (by this order, or an earlier one)
    sharer, points = referral.referrer, get_settings().referral_points

    def reward(balance: int) -> list[txn.Op]:
        return [
            txn.update(
                REFERRAL_LABEL,
                ReferralRow(referral_pk(openid), REFERRAL),
                [ReferralRow.first_order_id.set(order_id)],
                condition=ReferralRow.first_order_id.does_not_exist(),
            ),
            _counter_op("referrer", sharer, first_orders=1),
            notify_op(
                sharer,
                "referral_rewarded",
                reward_fields(points, balance),
                url=links.points(),
                notification_id=f"referral-{openid}",
            ),
        ]

    ledger.credit(
        sharer,
        f"referral:{openid}",
        points,
        "referral",
        openid,
        with_ops=reward,
        on_refused=lambda cancelled: cancelled.failed(REFERRAL_LABEL),
    )


# -- the console ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Referrer:
    openid: str
    views: int
    follows: int
    first_orders: int


def referrers(limit: int = 50) -> list[Referrer]:
    """The sharers with the most first orders, then follows, then views (one Query)."""
    found = [
        Referrer(r.openid or "", int(r.views or 0), int(r.follows or 0), int(r.first_orders or 0))
        for r in ReferrerRow.every_referrer.query(REFERRERS)
    ]
    found.sort(key=lambda r: (-r.first_orders, -r.follows, -r.views, r.openid))
    return found[:limit]
