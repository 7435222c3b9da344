"""What the logistics systems send us (CONTRACT §5), declared once with msgspec.

A shape error (type, length, grammar) becomes `400 invalid_<field>` in functions.core.http; an
unknown native `status` is a rule (`422 unknown_status`, pushes.native_push). Unknown fields
are ignored: carriers add fields without telling us.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from functions.core.fields import Carrier, EventId, TrackingNo
from functions.logistics.status import STATUSES

Moment = Annotated[
    datetime,
    Meta(
        description="ISO 8601 date-time; one without an offset is in business time (TZ_BUSINESS)",
        examples=["2024-05-01T08:00:00+08:00", "2024-05-01 08:00:00"],
    ),
]
Location = Annotated[str, Meta(max_length=500)]
Detail = Annotated[str, Meta(max_length=1000)]
MonitorStatus = Annotated[
    str, Meta(max_length=40, description="Kuaidi100's polling | shutdown | abort | updateall")
]
# Kuaidi100 sends its codes as text or numbers; bounded, as every number we accept is.
Code = str | Annotated[int, Meta(ge=-(10**9), le=10**9)]


class NativeEvent(msgspec.Struct, frozen=True):
    """One event of the native logistics webhook, signed with X-Signature over the raw body."""

    event_id: EventId
    carrier: Carrier
    tracking_no: TrackingNo
    # A string here, so that a status we do not know is a 422 (CONTRACT §5), not a shape error.
    status: Annotated[
        str, Meta(description="the shipment's status", extra_json_schema={"enum": list(STATUSES)})
    ]
    occurred_at: Moment
    location: Location | None = None
    detail: Detail | None = None


# -- Kuaidi100's subscription push: the JSON of the form field `param` -----------------------


class Kuaidi100Entry(msgspec.Struct, frozen=True):
    """One history entry of `lastResult.data` (newest first)."""

    time: Moment
    ftime: Moment | None = None  # the formatted time, preferred when present
    context: Detail | None = None
    status: Annotated[str, Meta(description="Kuaidi100's status word, e.g. 在途")] | None = None
    status_code: Code | None = msgspec.field(default=None, name="statusCode")
    area_name: Location | None = msgspec.field(default=None, name="areaName")
    location: Location | None = None


class Kuaidi100Result(msgspec.Struct, frozen=True):
    """`lastResult`: the tracking number's whole history on every push."""

    com: Carrier
    nu: TrackingNo
    state: Code | None = None
    data: list[Kuaidi100Entry] | None = None


class Kuaidi100Push(msgspec.Struct, frozen=True):
    """The JSON of Kuaidi100's form field `param`; `sign` = MD5(param + KUAIDI100_SALT)."""

    last_result: Kuaidi100Result = msgspec.field(name="lastResult")
    status: MonitorStatus | None = None
    message: Annotated[str, Meta(max_length=200)] | None = None


# The same push as it is read: the entries are left undecoded, so that only the newest ones a push
# may carry (functions.logistics.pushes.MAX_PUSH_ENTRIES) are ever decoded and validated.
class Kuaidi100ResultRaw(Kuaidi100Result, frozen=True):
    data: list[msgspec.Raw] | None = None  # type: ignore[assignment]


class Kuaidi100PushRaw(Kuaidi100Push, frozen=True):
    last_result: Kuaidi100ResultRaw = msgspec.field(name="lastResult")  # type: ignore[assignment]
