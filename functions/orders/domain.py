"""Orders: the purchase history that reminders, coupon triggers and bookings read.

Read side shared with other capabilities:
    get_order(order_id) -> Order | None
    orders_of(openid) -> list[Order]  (newest first)
    bought_since(openid, sku, since) -> bool
    orders_between(openid, start, end) -> list[Order]  (purchased in [start, end), oldest first)
Write side: record_order (POST /admin/orders) and the `order_recorded` event, which the
order-events consumer hands to every subscriber (functions/orders/subscribers.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from functions.core import clock, queues, txn
from functions.core.errors import Conflict, InvalidInput, RuleBroken
from functions.customers.domain import order_consent_op
from functions.logistics import shipments
from functions.orders.models import OrderRow, PurchaseLineRow
from functions.warranty import serials as warranty_serials


@dataclass(frozen=True)
class Order:
    order_id: str
    openid: str
    store_id: str | None
    items: list[dict[str, Any]]
    total_cents: int
    purchased_at: str
    reminder_consent: bool | None = None
    shipment: dict[str, str] | None = field(default=None)
    area: str | None = None

    def to_event(self) -> dict[str, Any]:
        """The `order_recorded` event body every subscriber receives."""
        return {
            "type": "order_recorded",
            "order_id": self.order_id,
            "openid": self.openid,
            "store_id": self.store_id,
            "items": self.items,
            "total_cents": self.total_cents,
            "purchased_at": self.purchased_at,
            "reminder_consent": self.reminder_consent,
        }


def _to_domain(row: OrderRow) -> Order:
    return Order(
        order_id=row.order_id,
        openid=row.openid,
        store_id=row.store_id,
        items=list(row.items or []),
        total_cents=int(row.total_cents),
        purchased_at=row.purchased_at,
        reminder_consent=row.reminder_consent,
        shipment=row.shipment,
        area=row.area,
    )


def get_order(order_id: str) -> Order | None:
    try:
        return _to_domain(OrderRow.get(f"ORDER#{order_id}", "ORDER", consistent_read=True))
    except DoesNotExist:
        return None


def orders_of(openid: str, limit: int = 50) -> list[Order]:
    """The customer's orders, newest purchase first (gsi1, never a scan)."""
    rows = OrderRow.by_customer.query(f"CUSTOMER#{openid}", scan_index_forward=False, limit=limit)
    return [_to_domain(row) for row in rows]


def bought_since(openid: str, sku: str, since: datetime) -> bool:
    """Whether the customer bought `sku` strictly after `since`."""
    after = clock.iso(since)
    for _ in PurchaseLineRow.by_customer_sku.query(
        f"BOUGHT#{openid}#{sku}", PurchaseLineRow.gsi1sk > f"{after}#~", limit=1
    ):
        return True
    return False


def orders_between(openid: str, start: datetime, end: datetime) -> list[Order]:
    """The customer's orders purchased in [start, end), oldest first: one Query of gsi1
    (customer, purchased_at), never a scan. Measurement reads buyers this way."""
    low, high = clock.iso(start), clock.iso(end)
    if low >= high:
        return []
    rows = OrderRow.by_customer.query(
        f"CUSTOMER#{openid}", OrderRow.gsi1sk.between(low, high), scan_index_forward=True
    )
    return [_to_domain(row) for row in rows if row.purchased_at < high]


# -- recording (POST /admin/orders) -------------------------------------------------------

EVENTS_QUEUE = "order-events"
MAX_LINES = 50  # one transaction: order + lines + shipment + customer stay under DynamoDB's 100
MAX_SERIALS = 45  # units' serials per order: a unit item and its message each; past 100 in all, refused
MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit


@dataclass(frozen=True)
class OrderInput:
    order_id: str
    openid: str
    store_id: str | None
    items: list[dict[str, Any]]
    total_cents: int
    purchased_at: str  # UTC ISO
    reminder_consent: bool | None
    shipment: dict[str, str] | None
    area: str | None = None


def record_order(data: OrderInput) -> tuple[Order, bool]:
    """Record the order, its purchase lines, the shipment link and the consent in ONE
    transaction, then publish `order_recorded`. Returns (order, created).

    The same order_id again changes nothing and returns the stored order; it re-publishes the
    event only if the first attempt did not get it onto the queue, and announces the linked
    shipment's status only if the first attempt did not (`announce` is idempotent). (An SDK retry of a commit
    whose answer was lost needs no check here: txn.run sends each attempt with its own
    ClientRequestToken, so DynamoDB answers the retry with the first commit's success.)
    """
    quantities = _quantities(data.items)
    now = clock.iso(clock.now())
    row = OrderRow(
        f"ORDER#{data.order_id}",
        "ORDER",
        order_id=data.order_id,
        openid=data.openid,
        store_id=data.store_id,
        items=data.items,
        total_cents=data.total_cents,
        purchased_at=data.purchased_at,
        reminder_consent=data.reminder_consent,
        shipment=data.shipment,
        area=data.area,
        recorded_at=now,
        gsi1pk=f"CUSTOMER#{data.openid}",
        gsi1sk=data.purchased_at,
    )
    ops = [txn.put("order", row, condition=OrderRow.pk.does_not_exist(), old_on_fail=True)]
    ops += [txn.put(f"line#{sku}", _line(data, sku, qty)) for sku, qty in quantities.items()]
    if data.shipment:
        ops.append(
            shipments.link_op(
                data.shipment["carrier"],
                data.shipment["tracking_no"],
                data.order_id,
                data.openid,
                data.purchased_at,
            )
        )
    if data.reminder_consent is not None:
        ops.append(order_consent_op(data.openid, data.reminder_consent))
    serial_lines = _serial_lines(data.items)
    ordered_on = _ordered_on(data.purchased_at) if serial_lines else clock.business_date()
    ops += warranty_serials.order_ops(data.order_id, data.openid, ordered_on, serial_lines)
    # Each unit's e-warranty message commits with its registration (the outbox).
    ops += warranty_serials.announcement_ops(data.openid, serial_lines, ordered_on=ordered_on)
    if len(ops) > MAX_TRANSACTION_ITEMS:
        raise InvalidInput("too many distinct SKUs and serials for one order", code="invalid_items")
    try:
        txn.run(ops)
    except txn.Cancelled as cancelled:
        if cancelled.failed("order"):  # recorded before: a no-op
            existing = _stored(row.pk, cancelled.items.get("order"))
            order = _to_domain(existing)
            if existing.shipment:  # the first attempt may have stopped before announcing
                shipments.announce_current(existing.shipment["carrier"], existing.shipment["tracking_no"])
            if existing.event_published_at is None:
                _publish(order)
            return order, False
        if cancelled.failed("shipment"):
            raise Conflict(
                "the tracking number is already linked to another order", code="shipment_linked_elsewhere"
            ) from None
        warranty_serials.raise_if_refused(cancelled, data.openid)
        raise
    order = _to_domain(row)
    if data.shipment:
        shipments.announce_current(data.shipment["carrier"], data.shipment["tracking_no"])
    _publish(order)
    return order, True


def _ordered_on(purchased_at: str) -> date:
    """The business date of the purchase, which starts its units' warranties; 400 for a moment
    the calendar cannot hold (year 1 is stored without its leading zeros, 9999 may overflow)."""
    try:
        return clock.business_date(clock.parse_iso(purchased_at))
    except (ValueError, OverflowError):
        raise InvalidInput("purchased_at is out of range", code="invalid_purchased_at") from None


def _line(data: OrderInput, sku: str, qty: int) -> PurchaseLineRow:
    return PurchaseLineRow(
        f"ORDER#{data.order_id}",
        f"LINE#{sku}",
        order_id=data.order_id,
        openid=data.openid,
        sku=sku,
        qty=qty,
        purchased_at=data.purchased_at,
        gsi1pk=f"BOUGHT#{data.openid}#{sku}",
        gsi1sk=f"{data.purchased_at}#{data.order_id}",
    )


def _stored(pk: str, raw_item: dict[str, Any] | None) -> OrderRow:
    """The order that was there already: from the cancellation's old item, else read."""
    if raw_item:
        return OrderRow.from_raw_data(raw_item)
    return OrderRow.get(pk, "ORDER", consistent_read=True)


def _quantities(items: list[dict[str, Any]]) -> dict[str, int]:
    """One purchase line per SKU (the line's key), quantities of repeated SKUs added up."""
    totals: dict[str, int] = {}
    for item in items:
        totals[item["sku"]] = totals.get(item["sku"], 0) + int(item["qty"])
    if len(totals) > MAX_LINES:
        raise InvalidInput(f"at most {MAX_LINES} distinct SKUs per order", code="invalid_items")
    return totals


def _serial_lines(items: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """(sku, serials) of the lines that carry serials: at most `qty` per line, MAX_SERIALS per
    order, and no unit twice (one transaction item each)."""
    lines = [(item["sku"], list(item["serials"])) for item in items if item.get("serials")]
    every = [serial for _, serials in lines for serial in serials]
    if len(every) > MAX_SERIALS:
        raise InvalidInput(f"at most {MAX_SERIALS} serials per order", code="invalid_serials")
    if len(set(every)) != len(every):
        raise InvalidInput("a serial appears twice in the order", code="invalid_serials")
    for item in items:
        if len(item.get("serials") or []) > int(item["qty"]):
            raise RuleBroken(f"more serials than units of {item['sku']}", code="serials_exceed_qty")
    return lines


def _publish(order: Order) -> None:
    queues.send(EVENTS_QUEUE, order.to_event())
    OrderRow(f"ORDER#{order.order_id}", "ORDER").update(
        actions=[OrderRow.event_published_at.set(clock.iso(clock.now()))]
    )
