"""The points pages (CONTRACT §14), over the points capability's domain functions as its JSON
routes are (functions.points):

- `/h5/points`: my balance and history (paged, newest first), the campaigns on sale for points,
  each with an exchange button (a form posting back to the page, CSRF-checked like every form),
  and my share link.
- `/h5/r/<ref_code>`: a share page. Anyone may open it (the friend it was sent to is not signed
  in): it shows the sharer's temporary QR code, drawn here from the code's URL, that follows the
  account with scene `ref/<ref_code>`. Each view counts for the sharer.

These routes join the h5 Blueprint; app.py imports this module before registering it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

import msgspec
from chalice import Response

from functions.core import clock, links
from functions.core.fields import CampaignId, Cursor, RefCode
from functions.coupons.campaigns import Campaign, for_points
from functions.coupons.issuing import benefit_text
from functions.customers.domain import ref_code_of
from functions.h5.handlers import CsrfToken, blueprint, customer_page, errors
from functions.h5.warranty import RequestKey
from functions.points import exchange, ledger, referrals
from functions.points.ledger import Entry
from functions.web import qr
from functions.web.pages import page, redirect
from functions.web.session import Session

REASON_TEXT = {"scan": "到店扫码", "order": "购物", "exchange": "兑换优惠券", "referral": "好友首单奖励"}


class PointsQuery(msgspec.Struct, forbid_unknown_fields=False):
    cursor: Cursor | None = None
    done: Literal["exchanged"] | None = None


class ExchangeForm(msgspec.Struct, forbid_unknown_fields=False):
    csrf_token: CsrfToken
    campaign_id: CampaignId
    request_key: RequestKey  # drawn with the page: a form sent twice exchanges once


@dataclass(frozen=True)
class EntryView:
    when: str
    what: str
    delta: str
    gain: bool


@dataclass(frozen=True)
class ForSale:
    campaign: Campaign
    benefit: str
    affordable: bool


def entry_view(entry: Entry) -> EntryView:
    moment = clock.parse_iso(entry.at).astimezone(clock.business_tz())
    return EntryView(
        f"{moment:%Y-%m-%d %H:%M}",
        REASON_TEXT.get(entry.reason, entry.reason),
        f"{entry.delta:+d}",
        entry.delta >= 0,
    )


@customer_page(links.POINTS, query=PointsQuery)
def my_points(caller: Session, query: PointsQuery) -> Response:
    """My balance, history and what my points buy."""
    balance = ledger.balance_of(caller.openid)
    entries, next_cursor = ledger.history(caller.openid, query.cursor)
    on_sale = [
        ForSale(
            c,
            benefit_text(c.discount_cents, c.percent_off, c.min_spend_cents),
            balance >= (c.points_cost or 0),
        )
        for c in sorted(for_points(), key=lambda c: (c.points_cost or 0, c.campaign_id))
    ]
    return page(
        "points.html",
        caller,
        title="我的积分",
        tab=links.ME,
        balance=balance,
        history=[entry_view(e) for e in entries],
        more=f"{links.POINTS}?cursor={next_cursor}" if next_cursor else None,
        first_page=query.cursor is None,
        on_sale=on_sale,
        done=query.done,
        share=links.share_path(ref_code_of(caller.openid)),
        request_key=uuid.uuid4().hex,
    )


@customer_page(links.POINTS, methods=("POST",), form=ExchangeForm)
def exchange_points(caller: Session, form: ExchangeForm) -> Response:
    """Exchange points for a coupon: the points and the coupon in one step, or nothing."""
    exchange.exchange(caller.openid, form.campaign_id, form.request_key)
    return redirect(f"{links.POINTS}?done=exchanged")


@blueprint.route(
    f"{links.SHARE}/{{ref_code}}", methods=["GET"], path_types={"ref_code": RefCode}, errors=errors
)
def share(ref_code: str) -> Response:
    """A share page: the QR code that makes its viewer, following through it, the sharer's referral."""
    shared = referrals.share_page(ref_code)
    return page(
        "share.html",
        None,
        title="邀请你关注",
        qr_code=qr.svg(shared.qr_url, "长按识别二维码关注公众号"),
    )
