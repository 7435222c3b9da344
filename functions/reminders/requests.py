"""Request bodies of the reminder routes, declared (the route validates them before the view)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from functions.reminders.products import MAX_NAME, MAX_REPLENISH_DAYS, MAX_WARRANTY_MONTHS

# Not blank: at least one non-space character.
ProductName = Annotated[str, Meta(min_length=1, max_length=MAX_NAME, pattern=r"\S")]
ReplenishDays = Annotated[int, Meta(ge=1, le=MAX_REPLENISH_DAYS)]
WarrantyMonths = Annotated[int, Meta(ge=0, le=MAX_WARRANTY_MONTHS)]


class ProductBody(msgspec.Struct, forbid_unknown_fields=False):
    """PUT /admin/products/{sku}: without `replenish_days` the product is not replenishable;
    without `warranty_months` its units carry no warranty."""

    name: ProductName
    replenish_days: ReplenishDays | None = None
    warranty_months: WarrantyMonths | None = None


class PreferencesBody(msgspec.Struct, forbid_unknown_fields=False):
    """PUT /me/preferences."""

    reminders: bool
