"""The body of POST /admin/orders (CONTRACT §6), declared: the route validates it before the view."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from functions.core import clock
from functions.core.errors import InvalidInput
from functions.core.fields import Area, Carrier, Cents, OpenId, OrderId, Serial, Sku, StoreId, TrackingNo
from functions.logistics.shipments import normalize_carrier
from functions.orders.domain import MAX_SERIALS, OrderInput
from functions.warranty.serials import parse_serial

MAX_ITEMS = 500  # entries of `items`, repeated SKUs included


class LineItem(msgspec.Struct, forbid_unknown_fields=False):
    sku: Sku
    qty: Annotated[int, Meta(ge=1, le=10**6)]
    price_cents: Cents
    # The units' serial numbers: registered to the buyer with the order (CONTRACT §13).
    serials: Annotated[list[Serial], Meta(max_length=MAX_SERIALS)] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stored line; serials normalised, and absent when the line has none."""
        line: dict[str, Any] = {"sku": self.sku, "qty": self.qty, "price_cents": self.price_cents}
        if self.serials:
            line["serials"] = [parse_serial(raw) for raw in self.serials]
        return line


class ShipmentRef(msgspec.Struct, forbid_unknown_fields=False):
    carrier: Carrier
    tracking_no: TrackingNo


class OrderRequest(msgspec.Struct, forbid_unknown_fields=False):
    order_id: OrderId
    openid: OpenId
    items: Annotated[list[LineItem], Meta(min_length=1, max_length=MAX_ITEMS)]
    total_cents: Cents
    store_id: StoreId | None = None
    purchased_at: datetime | None = None  # RFC 3339; without an offset it is business time
    reminder_consent: bool | None = None
    shipment: ShipmentRef | None = None
    area: Area | None = None  # the service area whose delivery slots serve the order

    def to_input(self) -> OrderInput:
        """The domain's input (times in UTC, the carrier normalised)."""
        return OrderInput(
            order_id=self.order_id,
            openid=self.openid,
            store_id=self.store_id,
            items=[item.to_dict() for item in self.items],
            total_cents=self.total_cents,
            purchased_at=_utc(self.purchased_at),
            reminder_consent=self.reminder_consent,
            area=self.area,
            shipment=None
            if self.shipment is None
            else {
                "carrier": normalize_carrier(self.shipment.carrier),
                "tracking_no": self.shipment.tracking_no.strip(),
            },
        )


def _utc(moment: datetime | None) -> str:
    if moment is None:
        return clock.iso(clock.now())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.business_tz())
    try:
        return clock.iso(moment)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 has no UTC equivalent
        raise InvalidInput("purchased_at is out of range", code="invalid_purchased_at") from None
