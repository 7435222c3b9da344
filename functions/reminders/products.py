"""Products and their replenishment period (`replenish_days`), set by ops."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from functions.core import clock
from functions.core.errors import InvalidInput, RuleBroken
from functions.reminders.models import ProductRow

SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_NAME = 100
MAX_REPLENISH_DAYS = 3650


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    replenish_days: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _key(sku: str) -> str:
    return f"PRODUCT#{sku}"


def validate_sku(sku: str) -> str:
    if not isinstance(sku, str) or not SKU_PATTERN.match(sku):
        raise InvalidInput(
            "sku must be 1-64 characters of letters, digits, '.', '_' or '-'", code="invalid_sku"
        )
    return sku


def parse_product(sku: str, body: dict[str, Any]) -> Product:
    """Validate a PUT body; raises before anything is stored."""
    validate_sku(sku)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise RuleBroken(
            f"name must be a non-empty string of at most {MAX_NAME} characters", code="invalid_name"
        )
    days = body.get("replenish_days")
    if days is not None and (
        isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_REPLENISH_DAYS
    ):
        raise RuleBroken(
            f"replenish_days must be an integer from 1 to {MAX_REPLENISH_DAYS}, or null",
            code="invalid_replenish_days",
        )
    return Product(sku=sku, name=name.strip(), replenish_days=days)


def put_product(product: Product) -> Product:
    ProductRow(
        _key(product.sku),
        "PRODUCT",
        sku=product.sku,
        name=product.name,
        replenish_days=product.replenish_days,
        updated_at=clock.iso(clock.now()),
    ).save()
    return product


def get_product(sku: str) -> Product | None:
    try:
        row = ProductRow.get(_key(sku), "PRODUCT")
    except DoesNotExist:
        return None
    days = row.replenish_days
    return Product(sku=row.sku, name=row.name, replenish_days=int(days) if days is not None else None)
