"""The outbox relay (the notifications table's stream), the notification worker (SQS
`notifications`) and ops' read-only views of the records."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from functions.core import streams
from functions.core.errors import NotFound
from functions.core.fields import OpenId
from functions.core.http import Blueprint
from functions.notifications import domain

blueprint = Blueprint(__name__)


class HistoryQuery(msgspec.Struct, frozen=True):
    """How many of a customer's notifications to list, newest first."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50


@blueprint.on_dynamodb_record(
    stream_arn=streams.source("notifications"),
    batch_size=100,
    starting_position="TRIM_HORIZON",
    name="notification_outbox",
)
def notification_outbox(event: Any) -> None:
    """Each new notification record to the queue; raising makes the stream deliver it again."""
    from functions.notifications import outbox  # cold start: only the relay's function relays

    outbox.relay(event.to_dict()["Records"])


# Batches larger than the thread pool keep every thread busy (a batch of 10 on 8 threads waits
# for its last 2 sends); the window lets Lambda gather them. 40 sends of at most ~4 s each on 8
# threads fit the function's 30 s (docs/notifications.md).
@blueprint.on_sqs_message(
    queue="notifications", batch_size=40, maximum_batching_window_in_seconds=1, name="notification_worker"
)
def notification_worker(event: Any) -> dict[str, list[dict[str, str]]]:
    # Imported here: the API function shares this module and never needs the WeChat client.
    from functions.notifications import worker

    return worker.handle_batch(event.to_dict()["Records"])


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
