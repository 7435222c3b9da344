"""Customer sign-in inside WeChat (OAuth code -> session token) and `GET /me`."""

from __future__ import annotations

from typing import Any

from functions.auth import domain
from functions.core.http import Blueprint, customer_openid, query_params

blueprint = Blueprint(__name__)


@blueprint.route("/auth/wechat", methods=["GET"])
def sign_in() -> dict[str, str]:
    return domain.sign_in(query_params(blueprint.current_request).get("code", ""))


@blueprint.route("/me", methods=["GET"])
def me() -> dict[str, Any]:
    return domain.me(customer_openid(blueprint.current_request))
