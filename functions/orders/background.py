"""Orders' background function: handing each `order_recorded` event to its subscribers.

Each function imports its work on its first call: a queue or schedule function's cold start
loads only what it runs, and `import app` (which declares these) loads none of it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from chalice import Blueprint

blueprint = Blueprint(__name__)
log = logging.getLogger(__name__)


@blueprint.on_sqs_message(queue="order-events", batch_size=10, name="order_events")
def order_events(event: Any) -> dict[str, Any]:
    """Hand each `order_recorded` event to every subscriber; a record whose subscriber raised
    is retried (subscribers are idempotent)."""
    from functions.orders import subscribers  # cold start: the API function never dispatches

    failures = []
    for record in event:
        message_id = record.to_dict()["messageId"]
        try:
            subscribers.dispatch(json.loads(record.body))
        except Exception:
            log.exception("order event %s failed", message_id)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
