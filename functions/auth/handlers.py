"""Customer sign-in inside WeChat (OAuth code -> session token) and `GET /me`."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from functions.auth import domain
from functions.core.http import Blueprint

blueprint = Blueprint(__name__)


class SignInQuery(msgspec.Struct, frozen=True):
    """The code WeChat's OAuth redirect brought (valid once, for 5 minutes)."""

    code: Annotated[str, msgspec.Meta(pattern=r"^\S+$", max_length=512, description="WeChat's OAuth code")]


@blueprint.route("/auth/wechat", methods=["GET"], query=SignInQuery)
def sign_in(query: SignInQuery) -> dict[str, str]:
    """Exchange WeChat's OAuth code for a session token."""
    return domain.sign_in(query.code)


@blueprint.route("/me", methods=["GET"], auth="customer")
def me(openid: str) -> dict[str, Any]:
    """The signed-in customer: subscription and reminder consent."""
    return domain.me(openid)
