"""What the points routes accept (CONTRACT §14), declared once."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from functions.core.fields import CampaignId

Cursor = Annotated[
    str, Meta(pattern=r"^[A-Za-z0-9_-]{1,400}$(?!\n)", description="the `cursor` of the previous page")
]


class PointsQuery(msgspec.Struct, forbid_unknown_fields=False):
    """GET /points: the history's next page after `cursor`."""

    cursor: Cursor | None = None


class ExchangeRequest(msgspec.Struct):
    """POST /points/exchange."""

    campaign_id: CampaignId
