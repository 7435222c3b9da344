"""Serial numbers and warranty registration (CONTRACT §13).

A unit belongs to at most one customer: every way in sets `openid` on the unit's one item with
the condition "nobody, or this same customer", so however many customers race, one wins.
- ops register manufactured serials (`add_serials`, at most 1,000, checked whole before any write);
- an order's lines may carry serials: `order_ops` are items of the order's own transaction;
- a delivery marked done registers its serials with the installation date: `installation_ops`
  are items of the booking's transaction;
- a customer scans the printed code and registers (`register`): 201, the same customer again
  200, another customer 409 already_registered, an unknown serial 404 serial_not_found.
Serials are normalised first (`normalise`): full-width characters, spaces and case.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from functions.core import clock, links, txn
from functions.core.errors import Conflict, InvalidInput, NotFound, RuleBroken
from functions.core.fields import IDENTIFIER
from functions.notifications.domain import notify_op
from functions.reminders.products import get_product
from functions.warranty import dates
from functions.warranty.models import SERIAL_SK, SerialRow

MAX_SERIALS = 1000  # per POST /admin/serials
MAX_RAW_SERIAL = 128  # what a request may send before normalisation
_SERIAL = re.compile(IDENTIFIER)
_SPACE = re.compile(r"\s+")

IN_WARRANTY, EXPIRED, NO_WARRANTY = "in_warranty", "expired", "no_warranty"


# -- serials ----------------------------------------------------------------------------


def normalise(raw: str) -> str:
    """The serial as stored: NFKC (full-width ＡＢ１ becomes AB1, the ideographic space a
    space), every space removed, upper case. Printed labels and typed serials then agree."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", raw)).upper()


def parse_serial(raw: str) -> str:
    """The normalised serial, or 400 invalid_serial when it is not an identifier (CONTRACT §1)."""
    serial = normalise(raw)
    if not _SERIAL.match(serial):
        raise InvalidInput(f"{raw!r} is not a serial number", code="invalid_serial")
    return serial


def _pk(serial: str) -> str:
    return f"SERIAL#{serial}"


def _label(serial: str) -> str:
    return f"serial#{serial}"


# -- the unit and its warranty ------------------------------------------------------------


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


@dataclass(frozen=True)
class Unit:
    serial: str
    sku: str
    openid: str | None
    registered_at: str | None
    installed_on: date | None
    purchased_on: date | None
    ordered_on: date | None
    registered_on: date | None
    order_id: str | None

    @property
    def start(self) -> date | None:
        return dates.start_date(self.installed_on, self.purchased_on, self.ordered_on, self.registered_on)


@dataclass(frozen=True)
class Warranty:
    """A registered unit as its owner sees it: the e-warranty card."""

    unit: Unit
    product_name: str
    warranty_until: date | None
    status: str  # in_warranty | expired | no_warranty

    @property
    def in_warranty(self) -> bool:
        return self.status == IN_WARRANTY

    def to_view(self) -> dict[str, Any]:
        unit = self.unit
        return {
            "serial": unit.serial,
            "sku": unit.sku,
            "product": self.product_name,
            "start_date": unit.start.isoformat() if unit.start else None,
            "installed_on": unit.installed_on.isoformat() if unit.installed_on else None,
            "purchased_on": purchased.isoformat()
            if (purchased := unit.purchased_on or unit.ordered_on)
            else None,
            "warranty_until": self.warranty_until.isoformat() if self.warranty_until else None,
            "status": self.status,
        }


def _to_unit(row: SerialRow) -> Unit:
    return Unit(
        serial=row.serial,
        sku=row.sku,
        openid=row.openid,
        registered_at=row.registered_at,
        installed_on=_day(row.installed_on),
        purchased_on=_day(row.purchased_on),
        ordered_on=_day(row.ordered_on),
        registered_on=_day(row.registered_on),
        order_id=row.order_id,
    )


def warranty_of(unit: Unit, today: date | None = None) -> Warranty:
    """The unit's warranty, from its product's `warranty_months` (read now, so a product's
    warranty set after the sale still counts)."""
    product = get_product(unit.sku)
    months = product.warranty_months if product else None
    until = dates.warranty_until(unit.start, months)
    today = today or clock.business_date()
    status = NO_WARRANTY if until is None else IN_WARRANTY if today <= until else EXPIRED
    return Warranty(unit, product.name if product else unit.sku, until, status)


def get_unit(serial: str) -> Unit | None:
    try:
        return _to_unit(SerialRow.get(_pk(serial), SERIAL_SK, consistent_read=True))
    except SerialRow.DoesNotExist:
        return None


def my_unit(openid: str, serial: str) -> Unit:
    """The caller's registered unit, or 404 serial_not_found (also when it is someone else's)."""
    unit = get_unit(serial)
    if unit is None or unit.openid != openid:
        raise NotFound("no such registered product", code="serial_not_found")
    return unit


def products_of(openid: str, limit: int = 100) -> list[Warranty]:
    """The customer's registered units, newest registration first (gsi1, never a scan)."""
    rows = SerialRow.by_customer.query(
        f"CUSTOMER#{openid}", SerialRow.gsi1sk.startswith("UNIT#"), scan_index_forward=False, limit=limit
    )
    today = clock.business_date()
    return [warranty_of(_to_unit(row), today) for row in rows]


# -- ops: manufactured serials ---------------------------------------------------------------


def add_serials(sku: str, raw_serials: list[str]) -> dict[str, Any]:
    """Register manufactured serials of `sku`. The whole list is checked before any write: every
    serial's grammar (400 invalid_serial), and that none is known under another SKU (409
    serial_sku_conflict). Known ones of the same SKU are left as they are (a retried call is
    harmless). Each write carries the same SKU condition, so a race cannot change a unit's SKU."""
    if len(raw_serials) > MAX_SERIALS:
        raise InvalidInput(f"at most {MAX_SERIALS} serials per call", code="invalid_serials")
    serials = list(dict.fromkeys(parse_serial(raw) for raw in raw_serials))
    known = {row.serial: row.sku for row in SerialRow.batch_get([(_pk(s), SERIAL_SK) for s in serials])}
    elsewhere = sorted(s for s, owner_sku in known.items() if owner_sku != sku)
    if elsewhere:
        raise Conflict(
            f"already registered under another SKU: {', '.join(elsewhere[:20])}", code="serial_sku_conflict"
        )
    at = clock.iso(clock.now())
    created = 0
    for serial in serials:
        if serial in known:
            continue
        txn.run([_unit_op(serial, sku, at)], on_failed={_label(serial): _sku_conflict(serial)})
        created += 1
    return {"sku": sku, "created": created, "existing": len(serials) - created, "serials": serials}


def _sku_conflict(serial: str) -> Conflict:
    return Conflict(f"{serial} is registered under another SKU", code="serial_sku_conflict")


def _unit_op(serial: str, sku: str, at: str) -> txn.Op:
    return txn.update(
        _label(serial),
        SerialRow(_pk(serial), SERIAL_SK),
        actions=[
            SerialRow.serial.set(serial),
            SerialRow.sku.set(sku),
            SerialRow.created_at.set(SerialRow.created_at | at),
        ],
        condition=SerialRow.sku.does_not_exist() | (SerialRow.sku == sku),
    )


# -- registration as an item of another capability's transaction --------------------------


def _owner_actions(openid: str, serial: str, at: str, today: date) -> list[Any]:
    """Bind to `openid`, keeping the first registration's time and date if it had one."""
    return [
        SerialRow.openid.set(openid),
        SerialRow.registered_at.set(SerialRow.registered_at | at),
        SerialRow.registered_on.set(SerialRow.registered_on | today.isoformat()),
        SerialRow.gsi1pk.set(f"CUSTOMER#{openid}"),
        SerialRow.gsi1sk.set(SerialRow.gsi1sk | f"UNIT#{at}#{serial}"),
    ]


def _free_or_mine(openid: str) -> Any:
    return SerialRow.openid.does_not_exist() | (SerialRow.openid == openid)


def order_ops(
    order_id: str, openid: str, ordered_on: date, lines: Iterable[tuple[str, list[str]]]
) -> list[txn.Op]:
    """Items of the order's transaction: each (sku, serials) line's units registered to the
    buyer with the order's purchase date. A unit not known yet is created with the line's SKU; a
    unit of another SKU or another customer cancels the order (`raise_if_refused`)."""
    at = clock.iso(clock.now())
    today = clock.business_date()
    ops = []
    for sku, serials in lines:
        for serial in serials:
            ops.append(
                txn.update(
                    _label(serial),
                    SerialRow(_pk(serial), SERIAL_SK),
                    actions=[
                        SerialRow.serial.set(serial),
                        SerialRow.sku.set(sku),
                        SerialRow.created_at.set(SerialRow.created_at | at),
                        SerialRow.order_id.set(order_id),
                        SerialRow.ordered_on.set(ordered_on.isoformat()),
                        *_owner_actions(openid, serial, at, today),
                    ],
                    condition=_free_or_mine(openid)
                    & (SerialRow.sku.does_not_exist() | (SerialRow.sku == sku)),
                    old_on_fail=True,
                )
            )
    return ops


def installation_ops(
    openid: str, serials: Iterable[str], installed_on: date, booking_id: str
) -> list[txn.Op]:
    """Items of a delivery's completion: its units registered to the customer with the
    installation date. A unit must be known (404 serial_not_found) and not another's (409
    already_registered): see `raise_if_refused`."""
    at = clock.iso(clock.now())
    today = clock.business_date()
    return [
        txn.update(
            _label(serial),
            SerialRow(_pk(serial), SERIAL_SK),
            actions=[
                SerialRow.installed_on.set(installed_on.isoformat()),
                SerialRow.booking_id.set(booking_id),
                *_owner_actions(openid, serial, at, today),
            ],
            condition=SerialRow.pk.exists() & _free_or_mine(openid),
            old_on_fail=True,
        )
        for serial in serials
    ]


def raise_if_refused(cancelled: txn.Cancelled, openid: str) -> None:
    """After a transaction with `order_ops` or `installation_ops` for `openid` was cancelled:
    the refusal of the first unit whose condition failed, if any (else nothing: the caller goes on)."""
    for label, reason in cancelled.reasons.items():
        if label.startswith("serial#") and reason == txn.CONDITION_FAILED:
            serial = label.removeprefix("serial#")
            old = cancelled.items.get(label)
            if not old:
                raise NotFound(f"no serial {serial}", code="serial_not_found")
            owner = (old.get("openid") or {}).get("S")
            if owner is not None and owner != openid:
                raise Conflict(f"{serial} is registered to another customer", code="already_registered")
            raise _sku_conflict(serial)


def announcement_ops(
    openid: str,
    lines: Iterable[tuple[str | None, list[str]]],
    *,
    ordered_on: date | None = None,
    installed_on: date | None = None,
) -> list[txn.Op]:
    """The e-warranty message of each unit the caller's transaction registers to `openid`, as
    items of that same transaction (the outbox): the registration commits with its messages or
    not at all. `lines` are (sku, serials): an order's line SKU is the SKU of a unit it creates
    (None for a delivery, whose units must exist). Each card is the unit's as the transaction
    leaves it (`ordered_on` for an order, `installed_on` for a delivery). The id is the
    registration's, so a repeated transaction records nothing twice; a unit of another customer
    cancels the transaction anyway (`raise_if_refused`)."""
    lines = [(sku, list(serials)) for sku, serials in lines]
    every = list(dict.fromkeys(serial for _, serials in lines for serial in serials))
    if not every:
        return []
    known = {row.serial: _to_unit(row) for row in SerialRow.batch_get([(_pk(s), SERIAL_SK) for s in every])}
    today = clock.business_date()
    ops = []
    for sku, serials in lines:
        for serial in serials:
            unit = known.get(serial)
            if unit is None:
                if sku is None:  # a delivery's unit must be known (units are never deleted)
                    raise NotFound(f"no serial {serial}", code="serial_not_found")
                unit = Unit(serial, sku, None, None, None, None, None, None, None)
            ops.append(_message_op(_registered(unit, openid, today, ordered_on, installed_on)))
    return ops


def _registered(
    unit: Unit,
    openid: str,
    today: date,
    ordered_on: date | None = None,
    installed_on: date | None = None,
    purchased_on: date | None = None,
) -> Unit:
    """`unit` as the registration's transaction leaves it (first dates kept)."""
    return replace(
        unit,
        openid=openid,
        registered_on=unit.registered_on or today,
        ordered_on=ordered_on or unit.ordered_on,
        installed_on=installed_on or unit.installed_on,
        purchased_on=purchased_on or unit.purchased_on,
    )


def _message_op(unit: Unit) -> txn.Op:
    warranty = warranty_of(unit)
    until = warranty.warranty_until.isoformat() if warranty.warranty_until else ""  # none: left out
    return notify_op(
        unit.openid or "",
        "warranty_registered",
        {"product": warranty.product_name, "serial": unit.serial, "warranty_until": until},
        url=links.warranty(unit.serial),
        notification_id=f"warranty-{unit.serial}-{unit.openid}",
        label=f"notification#{unit.serial}",
    )


# -- the customer registers ---------------------------------------------------------------


def register(openid: str, raw_serial: str, purchased_on: date | None = None) -> tuple[Warranty, bool]:
    """Bind the unit to the caller: (warranty, created). One conditional write: the unit must
    exist and belong to nobody; if it is the caller's already, nothing changes (200)."""
    serial = parse_serial(raw_serial)
    today = clock.business_date()
    if purchased_on is not None and purchased_on > today:
        raise RuleBroken("purchased_on is in the future", code="purchased_on_in_future")
    at = clock.iso(clock.now())
    actions = _owner_actions(openid, serial, at, today)
    if purchased_on is not None:
        actions.append(SerialRow.purchased_on.set(purchased_on.isoformat()))
    op = txn.update(
        "unit",
        SerialRow(_pk(serial), SERIAL_SK),
        actions=actions,
        condition=SerialRow.pk.exists() & SerialRow.openid.does_not_exist(),
        old_on_fail=True,
    )
    ops = [op]
    unit = get_unit(serial)
    if unit is None:  # units are never deleted: the read alone can refuse
        raise NotFound(f"no serial {serial}", code="serial_not_found")
    if unit.openid is None:
        # The e-warranty message commits with the registration (the outbox), or neither does.
        ops.append(_message_op(_registered(unit, openid, today, purchased_on=purchased_on)))
    try:
        txn.run(ops)
    except txn.Cancelled as cancelled:
        if not cancelled.failed("unit"):
            raise
        old = cancelled.items.get("unit")
        if not old:
            raise NotFound(f"no serial {serial}", code="serial_not_found") from None
        if (old.get("openid") or {}).get("S") != openid:
            raise Conflict(
                "this product is registered to another customer", code="already_registered"
            ) from None
        return warranty_of(my_unit(openid, serial)), False
    return warranty_of(my_unit(openid, serial)), True
