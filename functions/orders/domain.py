"""Orders: the purchase history that reminders, coupon triggers and bookings read.

Read side shared with other capabilities:
    get_order(order_id) -> Order | None
    bought_since(openid, sku, since) -> bool
Write side: record_order (POST /admin/orders) and the `order_recorded` event, which
dispatch_event hands to every subscriber of functions/orders/subscribers.py.
"""

from __future__ import annotations

import importlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from functions.core import clock, queues
from functions.core.errors import Conflict
from functions.core.models import transaction_connection
from functions.orders.models import OrderRow, PurchaseLineRow

log = logging.getLogger(__name__)


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
    )


def get_order(order_id: str) -> Order | None:
    try:
        return _to_domain(OrderRow.get(f"ORDER#{order_id}", "ORDER", consistent_read=True))
    except DoesNotExist:
        return None


def bought_since(openid: str, sku: str, since: datetime) -> bool:
    """Whether the customer bought `sku` strictly after `since`."""
    after = clock.iso(since)
    for _ in PurchaseLineRow.by_customer_sku.query(
        f"BOUGHT#{openid}#{sku}", PurchaseLineRow.gsi1sk > f"{after}#~", limit=1
    ):
        return True
    return False


# -- recording (POST /admin/orders) -------------------------------------------------------

EVENTS_QUEUE = "order-events"
MAX_LINES = 50  # one transaction: order + lines + shipment + customer stay under DynamoDB's 100


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


def record_order(data: OrderInput) -> tuple[Order, bool]:
    """Record the order, its purchase lines, the shipment link and the consent in ONE
    transaction, then publish `order_recorded`. Returns (order, created).

    The same order_id again changes nothing and returns the stored order; it re-publishes the
    event only if the first attempt did not get it onto the queue.
    """
    # Imported here: logistics and customers import the orders read side, not the reverse.
    from functions.customers.models import CustomerRow
    from functions.logistics import shipments

    now = clock.iso(clock.now())
    request_id = uuid.uuid4().hex
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
        recorded_at=now,
        request_id=request_id,
        gsi1pk=f"CUSTOMER#{data.openid}",
        gsi1sk=data.purchased_at,
    )
    try:
        with TransactWrite(
            connection=transaction_connection(), client_request_token=request_id
        ) as transaction:
            transaction.save(row, condition=OrderRow.pk.does_not_exist())
            for sku, qty in _quantities(data.items).items():
                transaction.save(
                    PurchaseLineRow(
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
                )
            if data.shipment:
                shipments.link_in(
                    transaction,
                    data.shipment["carrier"],
                    data.shipment["tracking_no"],
                    data.order_id,
                    data.openid,
                    data.purchased_at,
                )
            if data.reminder_consent is not None:
                transaction.update(
                    CustomerRow(data.openid),
                    actions=[CustomerRow.reminder_consent.set(data.reminder_consent)],
                )
    except TransactWriteError as error:
        reasons = [getattr(r, "code", None) for r in (error.cancellation_reasons or [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            existing = OrderRow.get(row.pk, "ORDER", consistent_read=True)
            if existing.request_id != request_id:  # recorded before: a no-op
                order = _to_domain(existing)
                if existing.event_published_at is None:
                    _publish(order)
                return order, False
            # else: our own commit, seen again through an SDK retry
        elif "ConditionalCheckFailed" in reasons:
            raise Conflict(
                "the tracking number is already linked to another order", code="shipment_linked_elsewhere"
            ) from None
        else:
            raise
    order = _to_domain(row)
    if data.shipment:
        shipments.announce_current(data.shipment["carrier"], data.shipment["tracking_no"])
    _publish(order)
    return order, True


def _quantities(items: list[dict[str, Any]]) -> dict[str, int]:
    """One purchase line per SKU (the line's key), quantities of repeated SKUs added up."""
    totals: dict[str, int] = {}
    for item in items:
        totals[item["sku"]] = totals.get(item["sku"], 0) + int(item["qty"])
    return totals


def _publish(order: Order) -> None:
    queues.send(EVENTS_QUEUE, order.to_event())
    OrderRow(f"ORDER#{order.order_id}", "ORDER").update(
        actions=[OrderRow.event_published_at.set(clock.iso(clock.now()))]
    )


def dispatch_event(event: dict[str, Any]) -> None:
    """Run every subscriber on an order event; raises if any failed (after trying them all)."""
    from functions.orders.subscribers import SUBSCRIBERS

    errors: list[str] = []
    for spec in SUBSCRIBERS:
        module_name, _, attr = spec.partition(":")
        try:
            getattr(importlib.import_module(module_name), attr)(event)
        except Exception as error:
            log.exception("order subscriber %s failed on %s", spec, event.get("order_id"))
            errors.append(f"{spec}: {error}")
    if errors:
        raise SubscriberError("; ".join(errors))


class SubscriberError(Exception):
    pass
