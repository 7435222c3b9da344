"""Request bodies of the reminder routes, declared (the route validates them before the view)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec
from msgspec import Meta

from functions.reminders.products import (
    MAX_HOLDOUT_PERCENT,
    MAX_NAME,
    MAX_REPLENISH_DAYS,
    MAX_WARRANTY_MONTHS,
)

# Not blank: at least one non-space character.
ProductName = Annotated[str, Meta(min_length=1, max_length=MAX_NAME, pattern=r"\S")]
ReplenishDays = Annotated[int, Meta(ge=1, le=MAX_REPLENISH_DAYS)]
WarrantyMonths = Annotated[int, Meta(ge=0, le=MAX_WARRANTY_MONTHS)]
HoldoutPercent = Annotated[
    int, Meta(ge=0, le=MAX_HOLDOUT_PERCENT, description="customers kept back from reminders, to measure them")
]


class ProductBody(msgspec.Struct, forbid_unknown_fields=False):
    """PUT /admin/products/{sku}: without `replenish_days` the product is not replenishable;
    without `warranty_months` its units carry no warranty."""

    name: ProductName
    replenish_days: ReplenishDays | None = None
    warranty_months: WarrantyMonths | None = None
    reminder_holdout_percent: HoldoutPercent = 0


class PreferencesBody(msgspec.Struct, forbid_unknown_fields=False):
    """PUT /me/preferences."""

    reminders: bool


class ReportQuery(msgspec.Struct, forbid_unknown_fields=False):
    """GET /admin/reminders/report: reminders due from `from` to `to` (business dates, both
    included, at most 92 days), purchases counted `window_days` from each due date."""

    from_: date = msgspec.field(name="from")
    to: date
    window_days: Annotated[int, Meta(ge=1, le=90)] = 7
