"""Products, their replenishment period (`replenish_days`), warranty (`warranty_months`) and
reminder holdout (`reminder_holdout_percent`: customers kept back from reminders, to measure
them against), set by ops."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from functions.core import clock
from functions.reminders.models import ProductRow

MAX_NAME = 100
MAX_REPLENISH_DAYS = 3650
MAX_WARRANTY_MONTHS = 600
MAX_HOLDOUT_PERCENT = 50


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    replenish_days: int | None
    warranty_months: int | None = None
    reminder_holdout_percent: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _key(sku: str) -> str:
    return f"PRODUCT#{sku}"


def put_product(product: Product) -> Product:
    ProductRow(
        _key(product.sku),
        "PRODUCT",
        sku=product.sku,
        name=product.name,
        replenish_days=product.replenish_days,
        warranty_months=product.warranty_months,
        reminder_holdout_percent=product.reminder_holdout_percent or None,
        updated_at=clock.iso(clock.now()),
    ).save()
    return product


def get_product(sku: str) -> Product | None:
    try:
        row = ProductRow.get(_key(sku), "PRODUCT")
    except DoesNotExist:
        return None
    days, months = row.replenish_days, row.warranty_months
    return Product(
        sku=row.sku,
        name=row.name,
        replenish_days=int(days) if days is not None else None,
        warranty_months=int(months) if months is not None else None,
        reminder_holdout_percent=int(row.reminder_holdout_percent or 0),
    )
