"""The callback's own storage: its dedupe record, committed with the message's effects.

One transaction per message at most, on the short-retry connection (`retries=1`); inside the
handler's deadline an attempt that could not finish in time is not sent (functions.core.deadline),
and the handler answers 503 so that WeChat retries. The effects are transaction items that their owners
provide (customers, stores); this module never touches their rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pynamodb.exceptions import DoesNotExist

from functions.callback.models import CallbackRecordRow
from functions.core import clock, txn

RECORD_TTL_S = 24 * 3600  # WeChat retries within ~15 s; a day keeps late duplicates out too
DEDUPE = "dedupe"


def commit_once(key: str, reply: str | None, effects: Sequence[txn.Op]) -> str | None:
    """Commit `effects` together with the dedupe record holding `reply`, exactly once.

    Returns the reply to send: ours if we committed, the stored one if another delivery
    of the same message committed first.
    """
    now = clock.now_ts()
    record = CallbackRecordRow(
        key, expiration=now + RECORD_TTL_S, status="COMPLETED", data=json.dumps({"reply": reply})
    )
    # An expired record (TTL deletion lags up to 48 h) no longer counts.
    fresh = CallbackRecordRow.id.does_not_exist() | (CallbackRecordRow.expiration < now)
    try:
        txn.run([txn.put(DEDUPE, record, condition=fresh, old_on_fail=True), *effects], retries=1)
    except txn.Cancelled as cancelled:
        if cancelled.failed(DEDUPE):
            return _stored_reply(key, cancelled.items.get(DEDUPE), reply)
        if set(cancelled.reasons.values()) == {txn.CONFLICT}:
            # Still contended after txn.run's retries. If another delivery of this message
            # committed meanwhile, its reply stands; if the contention was on shared items (a
            # store's counters, a balance) nothing is stored, and WeChat's retry must store it.
            stored = stored_record(key)
            if stored is not None:
                return stored.get("reply")
        raise
    return reply


def _stored_reply(key: str, raw_item: dict | None, fallback: str | None) -> str | None:
    try:
        if raw_item:
            row = CallbackRecordRow.from_raw_data(raw_item)
        else:
            row = CallbackRecordRow.get(key, consistent_read=True)
        return json.loads(row.data).get("reply")
    except (DoesNotExist, ValueError, TypeError):
        return fallback


def stored_record(key: str) -> dict | None:
    """The live dedupe record of `key` (tests and ops), ignoring expired ones."""
    try:
        row = CallbackRecordRow.get(key, consistent_read=True)
    except DoesNotExist:
        return None
    if row.expiration < clock.now_ts():
        return None
    return {"id": row.id, "expiration": row.expiration, "status": row.status, **json.loads(row.data)}
