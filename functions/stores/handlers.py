"""Ops routes for stores, QR codes and store stats. Every route checks X-Api-Key first."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from chalice import Response

from functions.core import clock
from functions.core.errors import InvalidInput, NotFound
from functions.core.http import Blueprint, json_body, query_params, require_admin
from functions.stores import domain, qrcodes, stats

blueprint = Blueprint(__name__)

MAX_STATS_DAYS = 366


def _text(body: dict[str, Any], field: str, limit: int) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidInput(
            f"{field} must be a non-empty string of at most {limit} chars", code=f"invalid_{field}"
        )
    return value.strip()


def _optional_id(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    return None if value in (None, "") else domain.check_id(value, field)


@blueprint.route("/admin/stores/{store_id}", methods=["PUT"])
def put_store(store_id: str) -> Response:
    request = blueprint.current_request
    require_admin(request)
    domain.check_id(store_id, "store_id")
    body = json_body(request)
    name = _text(body, "name", domain.NAME_MAX)
    welcome = _text(body, "welcome", domain.WELCOME_MAX)
    store, created = domain.put_store(store_id, name, welcome)
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


@blueprint.route("/admin/qrcodes", methods=["POST"])
def create_qrcode() -> Response:
    request = blueprint.current_request
    require_admin(request)
    body = json_body(request)
    store_id = domain.check_id(body.get("store_id"), "store_id")
    permanent = body.get("permanent", False)
    if not isinstance(permanent, bool):
        raise InvalidInput("permanent must be true or false", code="invalid_permanent")
    expire = body.get("expire_seconds")
    if expire is not None and (isinstance(expire, bool) or not isinstance(expire, int)):
        raise InvalidInput("expire_seconds must be an integer", code="invalid_expire_seconds")
    code = qrcodes.create_qrcode(
        store_id, _optional_id(body, "staff_id"), _optional_id(body, "campaign"), permanent, expire
    )
    return Response(
        body={
            "scene": code.scene,
            "ticket": code.ticket,
            "url": code.url,
            "image_url": code.image_url,
            "permanent": code.permanent,
            "expire_seconds": code.expire_seconds,
        },
        status_code=201,
    )


def _date(params: dict[str, str], name: str, default: date) -> date:
    if not params.get(name):
        return default
    try:
        return date.fromisoformat(params[name])
    except ValueError:
        raise InvalidInput(f"{name} must be YYYY-MM-DD", code=f"invalid_{name}") from None


@blueprint.route("/admin/stores/{store_id}/stats", methods=["GET"])
def store_stats(store_id: str) -> Response:
    request = blueprint.current_request
    require_admin(request)
    if store_id != domain.UNKNOWN_STORE:
        domain.check_id(store_id, "store_id")
    params = query_params(request)
    end = _date(params, "to", clock.business_date())
    start = _date(params, "from", end - timedelta(days=6))
    if start > end or (end - start).days >= MAX_STATS_DAYS:
        raise InvalidInput(f"need from <= to, at most {MAX_STATS_DAYS} days", code="invalid_range")
    if store_id != domain.UNKNOWN_STORE and domain.get_store(store_id) is None:
        raise NotFound(f"store {store_id} does not exist", code="store_not_found")
    return Response(
        body={
            "store_id": store_id,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "days": stats.daily_stats(store_id, start, end),
        }
    )
