"""Broadcasts' background function: sending what is due, a minute at a time.

Each function imports its work on its first call: a queue or schedule function's cold start
loads only what it runs, and `import app` (which declares these) loads none of it.
"""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Rate

blueprint = Blueprint(__name__)
log = logging.getLogger(__name__)


@blueprint.schedule(Rate(1, unit=Rate.MINUTES), name="broadcast_sender")
def broadcast_sender(event: Any) -> dict[str, str]:
    from functions.broadcasts import domain

    context = getattr(event, "context", None)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    done = domain.run_due(remaining_ms=remaining)
    if done:
        log.info("broadcasts: %s", done)
    return done
