"""The day-before reminder of repair visits, run by the daily `booking_reminders` job beside
the deliveries' (functions/bookings/reminders.py), with the same guarantees: it reads only the
visits of `today + 1` (gsi2 "DAY#<date>", scheduled requests only) and claims each with a
conditional write (`reminded_for` on `status = scheduled AND slot_id = <read> AND reminded_for
<> <date>`) in ONE transaction with its message ("service-<id>-reminder-<date>", the outbox),
so overlapping or repeated runs send nothing twice, a visit moved or cancelled meanwhile gets
no reminder, and a claimed visit always has its message."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from functions.core import links, txn
from functions.notifications.domain import notify_op
from functions.warranty.models import SERVICE_SK, ServiceRow
from functions.warranty.service import SCHEDULED, _to_domain, reminder_message_id, template_fields


def send_day_before(today: date) -> dict[str, Any]:
    """Remind every repair visit of `today + 1`. Returns counts; a storage error raises, so the
    scheduler's retry picks up what is left (claims and messages commit together)."""
    target = (today + timedelta(days=1)).isoformat()
    counts = {"date": target, "reminded": 0, "already": 0}
    for row in ServiceRow.by_state.query(f"DAY#{target}"):
        if (
            row.status != SCHEDULED
            or not row.slot_id
            or row.slot_id.split("|")[1] != target
            or row.reminded_for == target
        ):
            counts["already"] += 1
        elif _claim_with_message(row, target):
            counts["reminded"] += 1
        else:
            counts["already"] += 1  # claimed by an overlapping run, or changed meanwhile
    return counts


def _claim_with_message(row: ServiceRow, target: str) -> bool:
    """Claim the visit's reminder for `target` and record its message, atomically."""
    request = _to_domain(row)
    claim = txn.update(
        "claim",
        ServiceRow(row.pk, SERVICE_SK),
        actions=[ServiceRow.reminded_for.set(target)],
        condition=(ServiceRow.status == SCHEDULED)
        & (ServiceRow.slot_id == row.slot_id)
        & (ServiceRow.reminded_for.does_not_exist() | (ServiceRow.reminded_for != target)),
    )
    message = notify_op(
        request.openid,
        "service_reminder",
        template_fields(request, "明天上门维修", row.slot_id or ""),
        url=links.service(),
        notification_id=reminder_message_id(request.request_id, target),
    )
    try:
        txn.run([claim, message])
    except txn.Cancelled as cancelled:
        if cancelled.failed("claim"):
            return False
        raise
    return True
