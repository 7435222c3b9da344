"""Ops' read-only views of the notification records. The outbox relay and the worker that sends
are in background.py."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from functions.core.errors import NotFound
from functions.core.fields import OpenId
from functions.core.http import Blueprint
from functions.notifications import domain

blueprint = Blueprint(__name__)


class HistoryQuery(msgspec.Struct, frozen=True):
    """How many of a customer's notifications to list, newest first."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50


@blueprint.route("/admin/notifications/{notification_id}", methods=["GET"], auth="admin")
def get_notification(notification_id: str) -> dict[str, Any]:
    """One notification record: its status and history."""
    found = domain.get_notification(notification_id)
    if found is None:
        raise NotFound(f"no notification {notification_id}", code="notification_not_found")
    return found


@blueprint.route(
    "/admin/customers/{openid}/notifications",
    methods=["GET"],
    auth="admin",
    query=HistoryQuery,
    path_types={"openid": OpenId},
)
def customer_notifications(openid: str, query: HistoryQuery) -> dict[str, Any]:
    """A customer's notifications, newest first."""
    return {"openid": openid, "notifications": domain.customer_notifications(openid, query.limit)}
