"""The grammar of every identifier and name the API accepts (CONTRACT §1), defined once.

Request objects (msgspec Structs) declare their fields with these types, so that an order id
means the same thing at orders, bookings and the POS, and the OpenAPI document says so too.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

# `$(?!\n)`: a bare `$` also matches before a final newline, which would let "abc\n" through.
IDENTIFIER = r"^[A-Za-z0-9._:-]{1,64}$(?!\n)"
OPENID = r"^[A-Za-z0-9_-]{1,64}$(?!\n)"


def identifier(what: str) -> type[str]:
    return Annotated[str, Meta(pattern=IDENTIFIER, min_length=1, max_length=64, description=what)]  # type: ignore[return-value]


OrderId = identifier("an order id")
Sku = identifier("a product's SKU")
StoreId = identifier("a store id")
StaffId = identifier("a staff member's id")
Area = identifier("a delivery area id")
CampaignId = identifier("a coupon campaign id")
Serial = identifier("a product unit's serial number")
Name = identifier("a name (segment, operator)")
Carrier = identifier("a carrier's code, e.g. yuantong (compared in lower case)")
TrackingNo = identifier("a carrier's tracking number")
EventId = identifier("a sender's id of an event; a repeated id is the same event")
OpenId = Annotated[str, Meta(pattern=OPENID, min_length=1, max_length=64, description="a WeChat openid")]
# A slot is one window of one area on one day: `<area>|<YYYY-MM-DD>|<HH:MM-HH:MM>`.
SlotId = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z0-9._:-]{1,64}\|[0-9]{4}-[0-9]{2}-[0-9]{2}\|[0-9]{2}:[0-9]{2}-[0-9]{2}:[0-9]{2}$(?!\n)",
        max_length=64 + 24,
        description="a slot id: <area>|<YYYY-MM-DD>|<HH:MM-HH:MM>",
    ),
]
DisplayName = Annotated[str, Meta(min_length=1, max_length=32, description="a name shown to people")]
Cents = Annotated[int, Meta(ge=0, le=10**12, description="an amount in fen (1/100 yuan)")]
# A customer's share code (`/h5/r/<ref_code>`, CONTRACT §14): 16 random URL-safe characters.
REF_CODE = r"^[A-Za-z0-9_-]{16}$(?!\n)"
RefCode = Annotated[str, Meta(pattern=REF_CODE, min_length=16, max_length=16, description="a share code")]
# A page cursor the API handed out (opaque, URL-safe base64).
CURSOR = r"^[A-Za-z0-9_-]{1,1024}$(?!\n)"
Cursor = Annotated[str, Meta(pattern=CURSOR, description="the `cursor` of the previous page")]
SegmentId = identifier("a segment id")
# A permanent material's media_id, as WeChat issues it (a broadcast sends it as mpnews).
MediaId = Annotated[
    str, Meta(pattern=r"^[A-Za-z0-9_-]{1,128}$(?!\n)", max_length=128, description="a WeChat media_id")
]
# A broadcast's id, as POST /admin/broadcasts issues it: bc-<YYYYMMDD>-<12 hex>.
BroadcastId = Annotated[
    str, Meta(pattern=r"^bc-[0-9]{8}-[0-9a-f]{12}$(?!\n)", max_length=24, description="a broadcast id")
]
