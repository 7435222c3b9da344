"""The day-before reminder of repair visits, run by the daily `booking_reminders` job beside
the deliveries' (functions/bookings/reminders.py), with the same guarantees: it reads only the
visits of `today + 1` (gsi2 "DAY#<date>", scheduled requests only), claims each with a
conditional write (`reminded_for` on `status = scheduled AND slot_id = <read> AND reminded_for
<> <date>`) before queueing its message under a deterministic id, so re-runs send nothing twice
and a visit moved or cancelled meanwhile gets no reminder."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from functions.core import links
from functions.core.models import condition_failed
from functions.notifications.domain import notify
from functions.warranty.models import SERVICE_SK, ServiceRow
from functions.warranty.service import SCHEDULED, _to_domain, template_fields

log = logging.getLogger(__name__)


def send_day_before(today: date) -> dict[str, Any]:
    """Remind every repair visit of `today + 1`; raises at the end if some could not be queued
    (their claims released), so the scheduler's retry picks them up."""
    target = (today + timedelta(days=1)).isoformat()
    counts = {"date": target, "reminded": 0, "already": 0, "failed": 0}
    for row in ServiceRow.by_state.query(f"DAY#{target}"):
        if row.status != SCHEDULED or not row.slot_id or row.slot_id.split("|")[1] != target:
            counts["already"] += 1
            continue
        if row.reminded_for == target or not _claim(row, target):
            _send(row, target)  # idempotent by id: heals a run that died between claim and send
            counts["already"] += 1
            continue
        if _send(row, target):
            counts["reminded"] += 1
        else:
            counts["failed"] += 1
            _release(row, target)
    if counts["failed"]:
        raise RuntimeError(f"repair visit reminders: {counts['failed']} could not be queued; {counts}")
    return counts


def _claim(row: ServiceRow, target: str) -> bool:
    try:
        ServiceRow(row.pk, SERVICE_SK).update(
            actions=[ServiceRow.reminded_for.set(target)],
            condition=(ServiceRow.status == SCHEDULED)
            & (ServiceRow.slot_id == row.slot_id)
            & (ServiceRow.reminded_for.does_not_exist() | (ServiceRow.reminded_for != target)),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _release(row: ServiceRow, target: str) -> None:
    try:
        ServiceRow(row.pk, SERVICE_SK).update(
            actions=[ServiceRow.reminded_for.remove()], condition=ServiceRow.reminded_for == target
        )
    except UpdateError:
        log.exception("could not release the reminder claim of %s", row.request_id)


def _send(row: ServiceRow, target: str) -> bool:
    request = _to_domain(row)
    try:
        notify(
            request.openid,
            "service_reminder",
            template_fields(request, "明天上门维修", row.slot_id or ""),
            url=links.service(),
            notification_id=f"service-{request.request_id}-reminder-{target}",
        )
    except Exception:
        log.exception("could not queue the reminder of service request %s", request.request_id)
        return False
    return True
