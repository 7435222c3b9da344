"""The grammar of every identifier and name the API accepts (CONTRACT §1), defined once.

Request objects (msgspec Structs) declare their fields with these types, so that an order id
means the same thing at orders, bookings and the POS, and the OpenAPI document says so too.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

IDENTIFIER = r"^[A-Za-z0-9._:-]{1,64}$"
OPENID = r"^[A-Za-z0-9_-]{1,64}$"


def _identifier(what: str) -> type[str]:
    return Annotated[str, Meta(pattern=IDENTIFIER, min_length=1, max_length=64, description=what)]  # type: ignore[return-value]


OrderId = _identifier("an order id")
Sku = _identifier("a product's SKU")
StoreId = _identifier("a store id")
StaffId = _identifier("a staff member's id")
Area = _identifier("a delivery area id")
CampaignId = _identifier("a coupon campaign id")
Serial = _identifier("a product unit's serial number")
Name = _identifier("a name (segment, operator)")
OpenId = Annotated[str, Meta(pattern=OPENID, min_length=1, max_length=64, description="a WeChat openid")]
# A slot is one window of one area on one day: `<area>|<YYYY-MM-DD>|<HH:MM-HH:MM>`.
SlotId = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z0-9._:-]{1,64}\|\d{4}-\d{2}-\d{2}\|\d{2}:\d{2}-\d{2}:\d{2}$",
        max_length=64 + 24,
        description="a slot id: <area>|<YYYY-MM-DD>|<HH:MM-HH:MM>",
    ),
]
DisplayName = Annotated[str, Meta(min_length=1, max_length=32, description="a name shown to people")]
Cents = Annotated[int, Meta(ge=0, le=10**12, description="an amount in fen (1/100 yuan)")]
