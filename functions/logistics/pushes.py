"""Authenticating the two push formats and reading them into one `Push` (CONTRACT §5).

Nothing here touches storage: a push that fails its signature or its declaration
(functions.logistics.requests) is refused before anything is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime
from urllib.parse import parse_qs

from functions.core import clock, signing
from functions.core.config import get_settings
from functions.core.errors import InvalidInput, RuleBroken, Unauthenticated
from functions.core.http import decode_json
from functions.logistics import status as machine
from functions.logistics.requests import Kuaidi100Entry, Kuaidi100PushRaw, NativeEvent
from functions.logistics.shipments import Push, TrackingEvent, digest_of, normalize_carrier

log = logging.getLogger(__name__)

# What one Kuaidi100 push may carry (docs/logistics.md). Kuaidi100 re-pushes the whole history,
# newest first, every time: a real entry is about 0.4 KB form-encoded, so 512 KiB holds over ten
# times the entries we keep. A bigger body is refused (413) before it is parsed.
MAX_PUSH_BYTES = 512 * 1024
# Only the newest entries are read and stored. Earlier pushes of the same parcel, each one entry
# shorter, stored the older ones; refusing a long history instead would refuse every later
# push of that parcel too (each only grows), and the customer would never hear of it again.
MAX_PUSH_ENTRIES = 100


def _utc(moment: datetime, name: str) -> str:
    """UTC ISO of a pushed time; one without an offset is business time (Kuaidi100 sends those)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.business_tz())
    try:
        return clock.iso(moment)
    except OverflowError:  # year 1 or 9999 moved across the date line
        raise InvalidInput(f"`{name}` is out of range", code=f"invalid_{name}") from None


def _clean(text: str | None) -> str | None:
    # Carriers pad their texts; a blank one is no text.
    return (text or "").strip() or None


# -- Kuaidi100 ----------------------------------------------------------------------------


def kuaidi100_form(raw: bytes) -> tuple[str, str]:
    """(`param`, `sign`) from the form-encoded body."""
    try:
        form = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise InvalidInput("body is not UTF-8 form data", code="invalid_form") from None
    param = (form.get("param") or [""])[0]
    sign = (form.get("sign") or [""])[0]
    return param, sign


def verify_kuaidi100(param: str, sign: str) -> None:
    expected = hashlib.md5((param + get_settings().kuaidi100_salt).encode("utf-8")).hexdigest()
    if not sign or not hmac.compare_digest(sign.strip().lower().encode(), expected.encode()):
        raise Unauthenticated("sign does not match MD5(param + salt)", code="bad_signature")


def parse_kuaidi100(param: str) -> Push:
    body = decode_json(param.encode("utf-8"), Kuaidi100PushRaw)
    last = body.last_result
    carried = last.data or []
    if len(carried) > MAX_PUSH_ENTRIES:
        log.warning(
            "kuaidi100 push %s/%s carries %d history entries: keeping the newest %d",
            last.com,
            last.nu,
            len(carried),
            MAX_PUSH_ENTRIES,
        )
    entries = [decode_json(raw, Kuaidi100Entry) for raw in carried[:MAX_PUSH_ENTRIES]]
    events = []
    for entry in entries:
        at = _utc(entry.ftime or entry.time, "time")
        context = _clean(entry.context)
        code = entry.status_code
        ours = machine.from_kuaidi100(status_code=code) if code not in (None, "") else None
        if ours is None and entry.status is not None:
            ours = machine.KUAIDI100_WORD.get(entry.status.strip())
        raw = "/".join(str(x) for x in (entry.status, code) if x not in (None, "")) or None
        events.append(
            TrackingEvent(
                occurred_at=at,
                context=context,
                status=ours,
                raw_status=raw,
                location=_clean(entry.area_name) or _clean(entry.location),
                source="kuaidi100",
                digest=digest_of(at, context, raw),
            )
        )
    monitor = _clean(body.status)
    newest = max(events, key=lambda e: e.occurred_at) if events else None
    head_code = entries[0].status_code if entries else None
    return Push(
        carrier=normalize_carrier(last.com),
        tracking_no=last.nu,
        events=events,
        status=machine.from_kuaidi100(state=last.state, status_code=head_code),
        status_at=newest.occurred_at if newest else clock.iso(clock.now()),
        status_context=newest.context if newest else None,
        moves_status=monitor != "abort",
        monitor_status=monitor,
        monitor_message=_clean(body.message),
    )


# -- native ------------------------------------------------------------------------------


def verify_native(raw: bytes, signature: str | None) -> None:
    scheme, _, supplied = (signature or "").strip().partition("=")
    key = get_settings().logistics_hmac_secret.encode()
    expected = hmac.new(key, raw, hashlib.sha256).hexdigest()
    if scheme.strip().lower() != "sha256" or not signing.matches(expected, supplied.strip().lower()):
        raise Unauthenticated("X-Signature must be sha256=<HMAC-SHA256 of the body>", code="bad_signature")


def native_push(event: NativeEvent) -> Push:
    """The push of a verified native event."""
    if event.status not in machine.STATUSES:
        raise RuleBroken(
            f"unknown status {event.status!r}; expected one of {', '.join(machine.STATUSES)}",
            code="unknown_status",
        )
    at = _utc(event.occurred_at, "occurred_at")
    detail, location = _clean(event.detail), _clean(event.location)
    tracked = TrackingEvent(
        occurred_at=at,
        context=detail,
        status=event.status,
        raw_status=event.status,
        location=location,
        source="native",
        digest=digest_of("native", event.event_id),
    )
    return Push(
        carrier=normalize_carrier(event.carrier),
        tracking_no=event.tracking_no,
        events=[tracked],
        status=event.status,
        status_at=at,
        status_context=detail or location,
    )
