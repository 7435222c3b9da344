"""The notifications' background functions: the outbox relay (the notifications table's stream) and the
worker that sends (SQS `notifications`).

Each function imports its work on its first call: a queue or schedule function's cold start
loads only what it runs, and `import app` (which declares these) loads none of it.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from functions.core import streams

blueprint = Blueprint(__name__)


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
