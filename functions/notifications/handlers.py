"""The notification worker (SQS `notifications`) and ops' read-only views of the records."""

from __future__ import annotations

from typing import Any

from functions.core.errors import InvalidInput, NotFound
from functions.core.http import Blueprint, query_params, require_admin
from functions.notifications import domain

blueprint = Blueprint(__name__)


@blueprint.on_sqs_message(queue="notifications", batch_size=10, name="notification_worker")
def notification_worker(event: Any) -> dict[str, list[dict[str, str]]]:
    # Imported here: the API function shares this module and never needs the WeChat client.
    from functions.notifications import worker

    return worker.handle_batch(event.to_dict()["Records"])


@blueprint.route("/admin/notifications/{notification_id}", methods=["GET"])
def get_notification(notification_id: str) -> dict[str, Any]:
    require_admin(blueprint.current_request)
    found = domain.get_notification(notification_id)
    if found is None:
        raise NotFound(f"no notification {notification_id}", code="notification_not_found")
    return found


@blueprint.route("/admin/customers/{openid}/notifications", methods=["GET"])
def customer_notifications(openid: str) -> dict[str, Any]:
    require_admin(blueprint.current_request)
    raw = query_params(blueprint.current_request).get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 200:
        raise InvalidInput("limit must be 1..200", code="invalid_limit")
    return {"openid": openid, "notifications": domain.customer_notifications(openid, int(raw))}
