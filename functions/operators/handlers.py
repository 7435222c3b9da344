"""PUT /admin/operators/{username} (X-Api-Key): create or reset a console account (CONTRACT §10)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from chalice import Response
from msgspec import Meta

from functions.core.fields import Name, StoreId
from functions.core.http import Blueprint
from functions.operators import domain
from functions.operators.domain import MAX_PASSWORD, MIN_PASSWORD

blueprint = Blueprint(__name__)


class OperatorBody(msgspec.Struct, forbid_unknown_fields=False):
    """A password of at least 12 characters; a `store` operator names their store."""

    password: Annotated[str, Meta(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)]
    role: Literal["admin", "store"]
    store_id: StoreId | None = None


@blueprint.route(
    "/admin/operators/{username}",
    methods=["PUT"],
    auth="admin",
    body=OperatorBody,
    path_types={"username": Name},
)
def put_operator(username: str, body: OperatorBody) -> Response:
    """Create an operator, or set a new password, role or store (ends their sessions, lifts a lock)."""
    operator, created = domain.put_operator(username, body.password, body.role, body.store_id)
    view = {"username": operator.username, "role": operator.role, "store_id": operator.store_id}
    return Response(body=view, status_code=201 if created else 200)
