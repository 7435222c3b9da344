"""Orders: the purchase history that reminders, coupon triggers and bookings read.

Read side shared with other capabilities:
    get_order(order_id) -> Order | None
    bought_since(openid, sku, since) -> bool
The orders capability adds recording (POST /admin/orders) and the order_recorded event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from functions.core import clock
from functions.orders.models import OrderRow, PurchaseLineRow


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
