"""What the broadcast routes accept (CONTRACT §12), declared once. Exactly one of `text` and
`media_id`, and a `send_at` within a year, are rules across fields or time: 422."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from functions.core.fields import MediaId, SegmentId

MAX_TEXT = 2000  # characters of a text broadcast
MAX_WINDOW_DAYS = 90

Text = Annotated[str, Meta(min_length=1, max_length=MAX_TEXT, pattern=r"\S", description="the text sent")]
HoldoutPercent = Annotated[int, Meta(ge=0, le=50, description="members held back to measure against")]
WindowDays = Annotated[int, Meta(ge=1, le=MAX_WINDOW_DAYS)]


class BroadcastRequest(msgspec.Struct, forbid_unknown_fields=True):
    """POST /admin/broadcasts: without `send_at` it goes out within a minute."""

    segment_id: SegmentId
    text: Text | None = None
    media_id: MediaId | None = None
    holdout_percent: HoldoutPercent = 0
    send_at: datetime | None = None  # RFC 3339; without an offset it is business time


class ReportQuery(msgspec.Struct, forbid_unknown_fields=False):
    window_days: WindowDays = 7
