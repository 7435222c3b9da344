"""Points routes (CONTRACT §14): the balance and history, and exchanging points for a coupon."""

from __future__ import annotations

from chalice import Response

from functions.bookings.requests import IdempotencyKey
from functions.core.http import Blueprint, check, header
from functions.coupons.codes import display
from functions.points import exchange, ledger
from functions.points.requests import ExchangeRequest, PointsQuery

blueprint = Blueprint(__name__)


@blueprint.route("/points", methods=["GET"], auth="customer", query=PointsQuery)
def my_points(openid: str, query: PointsQuery) -> Response:
    """My balance and history, newest first (`cursor`: the next page)."""
    return Response(body=ledger.points_view(openid, query.cursor))


@blueprint.route("/points/exchange", methods=["POST"], auth="customer", body=ExchangeRequest)
def exchange_points(openid: str, body: ExchangeRequest) -> Response:
    """Buy a coupon of a campaign with `points_cost`: the points and the coupon in one step (an
    Idempotency-Key header makes a retry answer the same coupon and debit nothing)."""
    key = check(
        header(blueprint.current_request, "Idempotency-Key") or None, IdempotencyKey | None, "idempotency_key"
    )
    done = exchange.exchange(openid, body.campaign_id, key)
    headers = {"Idempotent-Replayed": "true"} if done.replayed else {}
    return Response(
        body={"code": display(done.coupon.code), "balance": done.balance}, status_code=201, headers=headers
    )
