"""Parsing and authenticating the two push formats into one `Push` (CONTRACT §5).

Nothing here touches storage: a push that fails its signature or its parsing is refused
before anything is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qs

from functions.core import clock
from functions.core.config import get_settings
from functions.core.errors import InvalidInput, RuleBroken, Unauthenticated
from functions.logistics import status as machine
from functions.logistics.shipments import Push, TrackingEvent, digest_of, normalize_carrier

MAX_TRACKING_NO = 64


def _text(value: Any, name: str, required: bool = True, limit: int = 500) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"`{name}` is required", code="invalid_push")
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidInput(f"`{name}` must be a string", code="invalid_push")
    text = str(value).strip()
    if len(text) > limit:
        raise InvalidInput(f"`{name}` is too long", code="invalid_push")
    return text


def _when(value: Any, name: str) -> str:
    text = _text(value, name, limit=64)
    try:
        return clock.iso(clock.parse_iso(text or ""))
    except ValueError:
        raise InvalidInput(f"`{name}` is not an ISO date-time", code="invalid_push") from None


def _tracking(carrier: Any, tracking_no: Any, carrier_name: str, number_name: str) -> tuple[str, str]:
    company = normalize_carrier(_text(carrier, carrier_name, limit=40) or "")
    number = _text(tracking_no, number_name, limit=MAX_TRACKING_NO) or ""
    if "#" in company or "#" in number:
        raise InvalidInput("carrier and tracking number may not contain '#'", code="invalid_push")
    return company, number


# -- Kuaidi100 ----------------------------------------------------------------------------


def kuaidi100_form(raw: bytes) -> tuple[str, str]:
    """(`param`, `sign`) from the form-encoded body."""
    try:
        form = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise InvalidInput("body is not UTF-8 form data", code="invalid_push") from None
    param = (form.get("param") or [""])[0]
    sign = (form.get("sign") or [""])[0]
    return param, sign


def verify_kuaidi100(param: str, sign: str) -> None:
    expected = hashlib.md5((param + get_settings().kuaidi100_salt).encode("utf-8")).hexdigest()
    if not sign or not hmac.compare_digest(sign.strip().lower().encode(), expected.encode()):
        raise Unauthenticated("sign does not match MD5(param + salt)", code="bad_signature")


def parse_kuaidi100(param: str) -> Push:
    try:
        body = json.loads(param)
    except ValueError:
        raise InvalidInput("`param` is not JSON", code="invalid_push") from None
    if not isinstance(body, dict) or not isinstance(body.get("lastResult"), dict):
        raise InvalidInput("`param.lastResult` is required", code="invalid_push")
    last = body["lastResult"]
    carrier, number = _tracking(last.get("com"), last.get("nu"), "lastResult.com", "lastResult.nu")
    entries = last.get("data") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InvalidInput("`lastResult.data` must be a list of objects", code="invalid_push")
    events = []
    for i, entry in enumerate(entries):
        at = _when(entry.get("ftime") or entry.get("time"), f"lastResult.data[{i}].time")
        context = _text(entry.get("context"), f"lastResult.data[{i}].context", required=False, limit=1000)
        code = entry.get("statusCode")
        word = entry.get("status")
        ours = machine.from_kuaidi100(status_code=code) if code not in (None, "") else None
        if ours is None and isinstance(word, str):
            ours = machine.KUAIDI100_WORD.get(word.strip())
        raw = "/".join(str(x) for x in (word, code) if x not in (None, "")) or None
        location = _text(entry.get("areaName") or entry.get("location"), "areaName", required=False)
        events.append(
            TrackingEvent(
                occurred_at=at,
                context=context,
                status=ours,
                raw_status=raw,
                location=location,
                source="kuaidi100",
                digest=digest_of(at, context, raw),
            )
        )
    monitor = _text(body.get("status"), "status", required=False, limit=40)
    newest = max(events, key=lambda e: e.occurred_at) if events else None
    head = entries[0] if entries else {}
    current = machine.from_kuaidi100(state=last.get("state"), status_code=head.get("statusCode"))
    return Push(
        carrier=carrier,
        tracking_no=number,
        events=events,
        status=current,
        status_at=newest.occurred_at if newest else clock.iso(clock.now()),
        status_context=newest.context if newest else None,
        moves_status=monitor != "abort",
        monitor_status=monitor,
        monitor_message=_text(body.get("message"), "message", required=False, limit=200),
    )


# -- native ------------------------------------------------------------------------------


def verify_native(raw: bytes, signature: str | None) -> None:
    scheme, _, supplied = (signature or "").strip().partition("=")
    key = get_settings().logistics_hmac_secret.encode()
    expected = hmac.new(key, raw, hashlib.sha256).hexdigest()
    if scheme.strip().lower() != "sha256" or not hmac.compare_digest(
        supplied.strip().lower().encode(), expected.encode()
    ):
        raise Unauthenticated("X-Signature must be sha256=<HMAC-SHA256 of the body>", code="bad_signature")


def parse_native(raw: bytes) -> Push:
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("body is not valid JSON", code="invalid_json") from None
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object", code="invalid_json")
    event_id = _text(body.get("event_id"), "event_id", limit=128)
    carrier, number = _tracking(body.get("carrier"), body.get("tracking_no"), "carrier", "tracking_no")
    status = _text(body.get("status"), "status", limit=40)
    at = _when(body.get("occurred_at"), "occurred_at")
    location = _text(body.get("location"), "location", required=False)
    detail = _text(body.get("detail"), "detail", required=False, limit=1000)
    if status not in machine.STATUSES:
        raise RuleBroken(
            f"unknown status {status!r}; expected one of {', '.join(machine.STATUSES)}",
            code="unknown_status",
        )
    event = TrackingEvent(
        occurred_at=at,
        context=detail,
        status=status,
        raw_status=status,
        location=location,
        source="native",
        digest=digest_of("native", event_id),
    )
    return Push(
        carrier=carrier,
        tracking_no=number,
        events=[event],
        status=status,
        status_at=at,
        status_context=detail or location,
    )
