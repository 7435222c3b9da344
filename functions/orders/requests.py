"""Validating the body of POST /admin/orders (CONTRACT §6) into an OrderInput."""

from __future__ import annotations

from typing import Any

from functions.core import clock
from functions.core.errors import InvalidInput
from functions.orders.domain import MAX_LINES, OrderInput

MAX_ID = 128


def _id(value: Any, name: str, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"`{name}` must be a non-empty string", code="invalid_order")
    text = value.strip()
    if len(text) > MAX_ID or "#" in text:
        raise InvalidInput(f"`{name}` must be at most {MAX_ID} characters without '#'", code="invalid_order")
    return text


def _int(value: Any, name: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidInput(f"`{name}` must be an integer >= {minimum}", code="invalid_order")
    return value


def parse_order(body: dict[str, Any]) -> OrderInput:
    order_id = _id(body.get("order_id"), "order_id")
    openid = _id(body.get("openid"), "openid")
    store_id = _id(body.get("store_id"), "store_id", required=False)
    raw_items = body.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise InvalidInput("`items` must be a non-empty list", code="invalid_order")
    items = []
    for i, item in enumerate(raw_items):
        if not isinstance(item, dict):
            raise InvalidInput(f"`items[{i}]` must be an object", code="invalid_order")
        items.append(
            {
                "sku": _id(item.get("sku"), f"items[{i}].sku"),
                "qty": _int(item.get("qty"), f"items[{i}].qty", 1),
                "price_cents": _int(item.get("price_cents"), f"items[{i}].price_cents", 0),
            }
        )
    if len({item["sku"] for item in items}) > MAX_LINES:
        raise InvalidInput(f"at most {MAX_LINES} distinct SKUs per order", code="invalid_order")
    total = _int(body.get("total_cents"), "total_cents", 0)
    purchased = body.get("purchased_at")
    if purchased is None:
        purchased_at = clock.iso(clock.now())
    else:
        try:
            purchased_at = clock.iso(clock.parse_iso(str(purchased)))
        except ValueError:
            raise InvalidInput("`purchased_at` must be an ISO-8601 date-time", code="invalid_order") from None
    consent = body.get("reminder_consent")
    if consent is not None and not isinstance(consent, bool):
        raise InvalidInput("`reminder_consent` must be true or false", code="invalid_order")
    shipment = body.get("shipment")
    if shipment is not None:
        if not isinstance(shipment, dict):
            raise InvalidInput("`shipment` must be {carrier, tracking_no}", code="invalid_order")
        carrier = _id(shipment.get("carrier"), "shipment.carrier")
        tracking_no = _id(shipment.get("tracking_no"), "shipment.tracking_no")
        assert carrier is not None and tracking_no is not None
        shipment = {"carrier": carrier.lower(), "tracking_no": tracking_no}
    assert order_id is not None and openid is not None
    return OrderInput(
        order_id=order_id,
        openid=openid,
        store_id=store_id,
        items=items,
        total_cents=total,
        purchased_at=purchased_at,
        reminder_consent=consent,
        shipment=shipment,
    )
