"""The inbox's background function: escalating conversations no one answered in time.

Each function imports its work on its first call: a queue or schedule function's cold start
loads only what it runs, and `import app` (which declares these) loads none of it.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

blueprint = Blueprint(__name__)


# Every 2 minutes: a conversation escalates at most 2 minutes after INBOX_ESCALATE_MIN.
@blueprint.schedule(Rate(2, unit=Rate.MINUTES), name="inbox_escalation")
def inbox_escalation(event: Any) -> dict[str, Any]:
    from functions.inbox import domain

    return {"escalated": domain.escalate_overdue()}
