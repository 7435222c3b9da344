"""Shipments: ingesting pushes, linking orders, announcing status changes, reading them back.

Write path of a push (`ingest`):
1. One consistent Query returns the shipment row and the stored history keys within the push's own
   time span, newest first, at most one bounded page (`_stored`): never the whole partition.
   A push with nothing new stops here: reads only.
2. Each new history event is put once, with attribute_not_exists (racing pushes cannot duplicate),
   within a time budget (HISTORY_BUDGET_S); past it the push is refused as unavailable, so the
   carrier pushes again and the retry finds what was stored.
3. The status machine (functions.logistics.status) computes the new status; it is written with a
   condition on the row's `version`, so of two racing pushes exactly one moves the status and the
   other re-reads and finds nothing left to do. For a shipment linked to a customer the same
   transaction records the customer's message (`notify_op`, the outbox) and `announced_position`:
   a stored status change always gets its message, and a stale one is superseded.
4. A status the customer was not told yet (it changed before the order linked the shipment) is
   announced, message and `announced_position` again in one transaction, when the order links
   it, and by a later push that finds it unannounced for longer than ANNOUNCE_GRACE_S.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from functions.core import clock, links, txn
from functions.core.errors import Unavailable
from functions.core.models import condition_failed
from functions.logistics import status as machine
from functions.logistics.models import EVENT_PREFIX, SHIPMENT, ShipmentEventRow, ShipmentRow
from functions.notifications.domain import notify_op

log = logging.getLogger(__name__)

MAX_STATUS_ATTEMPTS = 50  # each lost race means another writer moved on; positions are finite
ANNOUNCE_GRACE_S = 30
CUSTOMER_PREFIX = "SHIPMENTS#"
# Bounded work (docs/logistics.md). The API function has 10 s: the history gets 6, the status
# write and its announcement the rest.
HISTORY_BUDGET_S = 6.0
READ_SLACK = 20  # stored events a push's read tolerates beyond its own (native, corrected texts)
HISTORY_VIEW_LIMIT = 100  # newest events a reader gets


def shipment_pk(carrier: str, tracking_no: str) -> str:
    return f"SHIP#{carrier}#{tracking_no}"


def normalize_carrier(carrier: str) -> str:
    return carrier.strip().lower()


@dataclass(frozen=True)
class TrackingEvent:
    occurred_at: str  # UTC ISO
    context: str | None
    status: str | None
    raw_status: str | None
    location: str | None
    source: str
    digest: str  # identity of the event: time + context + status, or the native event_id

    @property
    def sk(self) -> str:
        return f"{EVENT_PREFIX}{self.occurred_at}#{self.digest}"


def digest_of(*parts: object) -> str:
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Push:
    carrier: str
    tracking_no: str
    events: list[TrackingEvent]
    status: str | None = None  # the status this push reports, with the time it took effect
    status_at: str | None = None
    status_context: str | None = None
    moves_status: bool = True  # False for Kuaidi100 `abort`: recorded, never messaged
    monitor_status: str | None = None
    monitor_message: str | None = None


@dataclass
class IngestResult:
    new_events: int = 0
    changed_to: str | None = None
    announced: bool = False
    writes: list[str] = field(default_factory=list)


def _state(row: ShipmentRow | None) -> machine.State:
    if row is None or row.status is None:
        return machine.State()
    return machine.State(row.status, int(row.position or 0), row.status_at)


def ingest(push: Push) -> IngestResult:
    """Store a push (history first, then status) and announce a status change once."""
    result = IngestResult()
    deadline = time.monotonic() + HISTORY_BUDGET_S
    pk = shipment_pk(push.carrier, push.tracking_no)
    row, stored = _stored(pk, push.events)
    now = clock.iso(clock.now())
    result.new_events = _store_history(pk, push.events, stored, now, deadline)

    for _ in range(MAX_STATUS_ATTEMPTS):
        target = None
        if push.moves_status and push.status and push.status_at:
            target = machine.advance(_state(row), push.status, push.status_at)
        monitor_changed = push.monitor_status is not None and (
            row is None
            or row.monitor_status != push.monitor_status
            or (push.monitor_message or None) != (row.monitor_message or None)
        )
        if row is not None and target is None and not monitor_changed:
            break
        row, won = _write_status(pk, push, row, target, now)
        if won:
            if target is not None:
                result.changed_to = target.status
            break
        # lost a race: decide again on the row as it is now
    else:
        raise RuntimeError(f"shipment {pk} kept changing under {MAX_STATUS_ATTEMPTS} attempts")

    if row is not None:
        grace = None if result.changed_to else timedelta(seconds=ANNOUNCE_GRACE_S)
        # A change to a linked shipment carried its message; otherwise announce what is owed.
        result.announced = bool(result.changed_to and row.openid) or announce(row, grace=grace)
    return result


def _stored(pk: str, events: list[TrackingEvent]) -> tuple[ShipmentRow | None, set[str]]:
    """The shipment row and the stored keys among `events`, in one consistent Query of at most
    len(events) + 1 + READ_SLACK items: from the row down to the push's oldest event, newest
    first. An event the bound leaves unread is put conditionally all the same, so the bound may
    cost a refused put, never a duplicate."""
    low = min((e.sk for e in events), default=SHIPMENT)
    row: ShipmentRow | None = None
    stored: set[str] = set()
    for item in ShipmentRow.query(
        pk,
        ShipmentRow.sk.between(low, SHIPMENT),
        scan_index_forward=False,
        consistent_read=True,
        limit=len(events) + 1 + READ_SLACK,
    ):
        if item.sk == SHIPMENT:
            row = item
        elif item.sk.startswith(EVENT_PREFIX):
            stored.add(item.sk)
    return row, stored


def _store_history(pk: str, events: list[TrackingEvent], stored: set[str], now: str, deadline: float) -> int:
    """Put each event not yet stored; the number this call stored."""
    new = 0
    for event in {e.sk: e for e in events if e.sk not in stored}.values():
        if time.monotonic() > deadline:
            raise Unavailable(
                f"stored {new} new history entries in {HISTORY_BUDGET_S:g} s; push again for the rest",
                code="push_incomplete",
            )
        if _put_event(pk, event, now):
            new += 1
    return new


def _put_event(pk: str, event: TrackingEvent, now: str) -> bool:
    entry = ShipmentEventRow(
        pk,
        event.sk,
        occurred_at=event.occurred_at,
        context=event.context,
        status=event.status,
        raw_status=event.raw_status,
        location=event.location,
        source=event.source,
        recorded_at=now,
    )
    try:
        entry.save(condition=ShipmentEventRow.pk.does_not_exist())
        return True
    except PutError as error:
        if condition_failed(error):
            return False  # a racing push stored it first
        raise


def _write_status(
    pk: str, push: Push, row: ShipmentRow | None, target: machine.State | None, now: str
) -> tuple[ShipmentRow | None, bool]:
    """One conditional update on the row's version: (the updated row, True), or (the row as
    another writer left it, False)."""
    token = uuid.uuid4().hex
    actions: list[Any] = [
        ShipmentRow.writer.set(token),
        ShipmentRow.carrier.set(push.carrier),
        ShipmentRow.tracking_no.set(push.tracking_no),
        ShipmentRow.created_at.set(ShipmentRow.created_at | now),
        ShipmentRow.updated_at.set(now),
        ShipmentRow.version.add(1),
    ]
    if target is not None:
        actions += [
            ShipmentRow.status.set(target.status),
            ShipmentRow.position.set(target.position),
            ShipmentRow.status_at.set(target.at),
            ShipmentRow.status_changed_at.set(now),
        ]
        if push.status_context:
            actions.append(ShipmentRow.status_context.set(push.status_context[:200]))
        else:
            actions.append(ShipmentRow.status_context.remove())  # never the previous status's text
    if push.monitor_status is not None:
        actions.append(ShipmentRow.monitor_status.set(push.monitor_status))
        if push.monitor_message:
            actions.append(ShipmentRow.monitor_message.set(push.monitor_message[:200]))
        else:
            actions.append(ShipmentRow.monitor_message.remove())
    if row is None or row.version is None:
        condition = ShipmentRow.version.does_not_exist()
    else:
        condition = ShipmentRow.version == int(row.version)
    if target is not None and row is not None and row.openid:
        # Linked: the customer's message commits with the change (one transaction).
        actions.append(ShipmentRow.announced_position.set(target.position))
        message = _message_op(_as_changed(row, target, push.status_context), row.announced_position)
        try:
            txn.run([txn.update("shipment", ShipmentRow(pk, SHIPMENT), actions, condition), message])
        except txn.Cancelled as cancelled:
            if not cancelled.failed("shipment"):
                raise
            return _get(pk), False
        return _get(pk), True
    updated = ShipmentRow(pk, SHIPMENT)
    try:
        updated.update(actions=actions, condition=condition)
    except UpdateError as error:
        if not condition_failed(error):
            raise
        # The SDK retries a timed-out call; if the first attempt committed, the retry fails
        # its condition although the write is ours.
        current = _get(pk)
        return current, current is not None and current.writer == token
    return updated, True


def _get(pk: str) -> ShipmentRow | None:
    try:
        return ShipmentRow.get(pk, SHIPMENT, consistent_read=True)
    except ShipmentRow.DoesNotExist:
        return None


# -- linking an order ------------------------------------------------------------------


def announce_current(carrier: str, tracking_no: str) -> bool:
    """After linking an order: tell the customer the status the shipment already has, once."""
    row = _get(shipment_pk(carrier, tracking_no))
    return announce(row) if row is not None else False


def link_op(carrier: str, tracking_no: str, order_id: str, openid: str, purchased_at: str) -> txn.Op:
    """The shipment registration, as an item of the order's transaction (label "shipment").

    Creates the shipment if no push has arrived yet, or attaches the order to one that did.
    A tracking number already linked to another order fails the item's condition.
    """
    pk = shipment_pk(carrier, tracking_no)
    now = clock.iso(clock.now())
    return txn.update(
        "shipment",
        ShipmentRow(pk, SHIPMENT),
        [
            ShipmentRow.carrier.set(carrier),
            ShipmentRow.tracking_no.set(tracking_no),
            ShipmentRow.order_id.set(order_id),
            ShipmentRow.openid.set(openid),
            ShipmentRow.gsi1pk.set(f"{CUSTOMER_PREFIX}{openid}"),
            ShipmentRow.gsi1sk.set(f"{purchased_at}#{pk}"),
            ShipmentRow.created_at.set(ShipmentRow.created_at | now),
            ShipmentRow.updated_at.set(now),
            # A racing push that read the row unlinked must re-read it and see the openid.
            ShipmentRow.version.add(1),
        ],
        condition=ShipmentRow.order_id.does_not_exist() | (ShipmentRow.order_id == order_id),
    )


# -- announcing ------------------------------------------------------------------------


def announce(row: ShipmentRow, grace: timedelta | None = None) -> bool:
    """Record the customer's message for the row's status if it is not announced yet, with
    `announced_position`, in one transaction on the row's version (re-read if it moved on).

    `grace` skips statuses changed less than that long ago: their own writer is announcing them.
    """
    for _ in range(MAX_STATUS_ATTEMPTS):
        position = int(row.position or 0)
        if not row.openid or row.status is None or position <= int(row.announced_position or 0):
            return False
        if grace is not None and _changed_within(row, grace):
            return False
        mark = txn.update(
            "shipment",
            ShipmentRow(row.pk, SHIPMENT),
            [ShipmentRow.announced_position.set(position), ShipmentRow.version.add(1)],
            condition=ShipmentRow.version.does_not_exist()
            if row.version is None
            else ShipmentRow.version == int(row.version),
        )
        try:
            txn.run([mark, _message_op(row, row.announced_position)])
        except txn.Cancelled as cancelled:
            if not cancelled.failed("shipment"):
                raise
            current = _get(row.pk)
            if current is None:
                return False
            row = current  # a push or a link moved it meanwhile: decide again
            continue
        return True
    raise RuntimeError(f"shipment {row.pk} kept changing under {MAX_STATUS_ATTEMPTS} attempts")


def _changed_within(row: ShipmentRow, window: timedelta) -> bool:
    changed = row.status_changed_at
    return bool(changed) and clock.parse_iso(changed) > clock.now() - window


def _as_changed(row: ShipmentRow, target: machine.State, context: str | None) -> ShipmentRow:
    """The row as the status write will leave it, for the message that commits with it."""
    return ShipmentRow(
        row.pk,
        SHIPMENT,
        carrier=row.carrier,
        tracking_no=row.tracking_no,
        order_id=row.order_id,
        openid=row.openid,
        status=target.status,
        position=target.position,
        status_at=target.at,
        status_context=context[:200] if context else None,
    )


def notification_id(carrier: str, tracking_no: str, status: str, position: int) -> str:
    """Deterministic: each (shipment, position) is reached at most once, so at most one message."""
    return f"shipment-{carrier}-{tracking_no}-{status}-{position}"


def _status_at(position: int) -> str:
    """The status a shipment held at `position`: a main-line one, or the exception branch at
    main + BRANCH_STEP (machine.advance)."""
    for status, fixed in machine.FIXED_POSITION.items():
        if fixed == position:
            return status
    return "exception"


def _clip(text: str, limit: int = 20) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def message_for(row: ShipmentRow) -> tuple[dict[str, str], str]:
    """The message's named values (infra/templates.yaml shows them within WeChat's rules) and
    the link for the row's status."""
    status = row.status or ""
    fields = {
        "tracking_no": str(row.tracking_no),
        "status": machine.STATUS_TEXT.get(status, status),
        "detail": _clip(row.status_context or machine.STATUS_TEXT.get(status, status), 200),
        "time": row.status_at or clock.iso(clock.now()),  # an instant: shown in business time
    }
    if status == "failed_attempt" and row.order_id:
        return fields, links.book(str(row.order_id))  # rebook the delivery
    return fields, links.shipments()


def _message_op(row: ShipmentRow, announced_position: int | None) -> txn.Op:
    """The customer's message for the row's status, superseding the one announced before it if
    that is still unsent."""
    fields, url = message_for(row)
    status = row.status or ""
    position = int(row.position or 0)
    carrier, tracking_no = str(row.carrier), str(row.tracking_no)
    older = int(announced_position or 0)
    return notify_op(
        str(row.openid),
        "shipment_status",
        fields,
        url=url,
        notification_id=notification_id(carrier, tracking_no, status, position),
        supersedes=[notification_id(carrier, tracking_no, _status_at(older), older)] if older else (),
    )


# -- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Shipment:
    carrier: str
    tracking_no: str
    order_id: str | None
    status: str | None
    status_at: str | None
    monitor_status: str | None
    updated_at: str | None
    history: list[dict[str, Any]]

    def to_view(self) -> dict[str, Any]:
        return {
            "carrier": self.carrier,
            "tracking_no": self.tracking_no,
            "order_id": self.order_id,
            "status": self.status,
            "status_text": machine.STATUS_TEXT.get(self.status or "", "待揽收"),
            "status_at": self.status_at,
            "tracking": self.monitor_status,
            "updated_at": self.updated_at,
            "history": self.history,
        }


def history(pk: str, limit: int | None = HISTORY_VIEW_LIMIT) -> list[dict[str, Any]]:
    """Newest first; the newest `limit` (None: all, for tests and ops)."""
    return [
        {
            "time": e.occurred_at,
            "context": e.context,
            "status": e.status,
            "location": e.location,
        }
        for e in ShipmentEventRow.query(
            pk,
            ShipmentEventRow.sk.startswith(EVENT_PREFIX),
            scan_index_forward=False,
            consistent_read=True,
            limit=limit,
        )
    ]


def get_shipment(
    carrier: str, tracking_no: str, history_limit: int | None = HISTORY_VIEW_LIMIT
) -> Shipment | None:
    row = _get(shipment_pk(normalize_carrier(carrier), tracking_no.strip()))
    return _to_domain(row, history_limit) if row is not None else None


def _to_domain(row: ShipmentRow, history_limit: int | None = HISTORY_VIEW_LIMIT) -> Shipment:
    return Shipment(
        carrier=row.carrier or "",
        tracking_no=row.tracking_no or "",
        order_id=row.order_id,
        status=row.status,
        status_at=row.status_at,
        monitor_status=row.monitor_status,
        updated_at=row.updated_at,
        history=history(row.pk, history_limit),
    )


def for_customer(
    openid: str, limit: int = 20, history_limit: int | None = HISTORY_VIEW_LIMIT
) -> list[Shipment]:
    """The customer's shipments, most recent order first (gsi1, never a scan)."""
    rows = ShipmentRow.by_customer.query(f"{CUSTOMER_PREFIX}{openid}", scan_index_forward=False, limit=limit)
    return [_to_domain(row, history_limit) for row in rows if row.openid == openid]
