"""What the points routes accept (CONTRACT §14), declared once."""

from __future__ import annotations

import msgspec

from functions.core.fields import CampaignId, Cursor


class PointsQuery(msgspec.Struct, forbid_unknown_fields=False):
    """GET /points: the history's next page after `cursor`."""

    cursor: Cursor | None = None


class ExchangeRequest(msgspec.Struct):
    """POST /points/exchange."""

    campaign_id: CampaignId
