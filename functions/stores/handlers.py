"""Ops routes for stores, QR codes and store stats. Every route needs X-Api-Key (auth="admin")."""

from __future__ import annotations

from chalice import Response

from functions.core.errors import RuleBroken
from functions.core.fields import StoreId
from functions.core.http import Blueprint
from functions.stores import domain, qrcodes, stats
from functions.stores.requests import QrCodeBody, StatsQuery, StoreBody

blueprint = Blueprint(__name__)

STORE_ID = {"store_id": StoreId}


@blueprint.route(
    "/admin/stores/{store_id}", methods=["PUT"], auth="admin", body=StoreBody, path_types=STORE_ID
)
def put_store(store_id: str, body: StoreBody) -> Response:
    """Create a store (the answer carries its pos_secret, once) or update its name and welcome."""
    store, created = domain.put_store(store_id, body.name, body.welcome)
    view = {
        "store_id": store.store_id,
        "name": store.name,
        "welcome": store.welcome,
        "created_at": store.created_at or None,
        "updated_at": store.updated_at or None,
    }
    if created:  # the only time the secret leaves the server
        view["pos_secret"] = store.pos_secret
    return Response(body=view, status_code=201 if created else 200)


@blueprint.route("/admin/qrcodes", methods=["POST"], auth="admin", body=QrCodeBody)
def create_qrcode(body: QrCodeBody) -> Response:
    """Create a parametric QR code for a store, a staff member or a campaign, or a table card
    that credits points (`purpose: "points"` with `points`)."""
    if (body.purpose == "points") != (body.points is not None):
        raise RuleBroken(
            "a points card needs `points`, and only a points card takes them", code="invalid_points"
        )
    code = qrcodes.create_qrcode(
        body.store_id, body.staff_id, body.campaign, body.permanent, body.expire_seconds, body.points
    )
    return Response(
        body={
            "scene": code.scene,
            "ticket": code.ticket,
            "url": code.url,
            "image_url": code.image_url,
            "permanent": code.permanent,
            "expire_seconds": code.expire_seconds,
            **({"purpose": "points", "points": code.points} if code.points is not None else {}),
        },
        status_code=201,
    )


@blueprint.route(
    "/admin/stores/{store_id}/stats", methods=["GET"], auth="admin", query=StatsQuery, path_types=STORE_ID
)
def store_stats(store_id: str, query: StatsQuery) -> Response:
    """A store's daily counters (`_unknown`: scans of scenes that are not ours)."""
    return Response(body=stats.store_report(store_id, query.from_, query.to))
