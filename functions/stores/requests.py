"""Request bodies and queries of the store routes (CONTRACT §6), declared."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from functions.core.fields import CampaignId, DisplayName, StaffId, StoreId
from functions.stores.domain import WELCOME_MAX
from functions.stores.qrcodes import MAX_CARD_POINTS, MAX_TEMPORARY_S, MIN_TEMPORARY_S

NOT_BLANK = r"\S"
CardPoints = Annotated[
    int, Meta(ge=1, le=MAX_CARD_POINTS, description="points a table card credits per scan")
]


class StoreBody(msgspec.Struct, forbid_unknown_fields=False):
    """PUT /admin/stores/{store_id}."""

    name: Annotated[DisplayName, Meta(pattern=NOT_BLANK)]
    welcome: Annotated[str, Meta(min_length=1, max_length=WELCOME_MAX, pattern=NOT_BLANK)]


class QrCodeBody(msgspec.Struct, forbid_unknown_fields=False):
    """POST /admin/qrcodes: a code for the store, one of its staff ("one person, one code")
    or a campaign. `expire_seconds` is for temporary codes only (default 30 days)."""

    store_id: StoreId
    staff_id: StaffId | None = None
    campaign: CampaignId | None = None
    permanent: bool = False
    expire_seconds: Annotated[int, Meta(ge=MIN_TEMPORARY_S, le=MAX_TEMPORARY_S)] | None = None
    # A table card (CONTRACT §14): a scan credits `points` once per customer, store and business day.
    purpose: Literal["attribution", "points"] = "attribution"
    points: CardPoints | None = None


class StatsQuery(msgspec.Struct, forbid_unknown_fields=False):
    """GET /admin/stores/{store_id}/stats: business dates; by default the last seven days."""

    from_: date | None = msgspec.field(default=None, name="from")
    to: date | None = None
