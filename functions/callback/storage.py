"""DynamoDB access of the callback path: one read and one transaction at most per message.

Everything here goes through one PynamoDB connection with the short timeouts of TableMeta
and a single retry, so that two round trips fit inside WeChat's 5 seconds even when
DynamoDB is slow (and the handler's deadline answers `success` if they do not).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactGet, TransactWrite

from functions.callback.models import CallbackRecordRow
from functions.core import clock
from functions.core.models import transaction_connection
from functions.customers.models import PROFILE, CustomerRow
from functions.stores.models import SCENE, STORE, SceneRow, StoreRow, scene_pk, store_pk

RECORD_TTL_S = 24 * 3600  # WeChat retries within ~15 s; a day keeps late duplicates out too
CONFLICT_RETRIES = 3


@dataclass(frozen=True)
class SceneTarget:
    scene: str
    store_id: str
    staff_id: str | None
    campaign: str | None
    welcome: str


def lookup_scene(scene: str, store_id: str) -> SceneTarget | None:
    """The registered scene and its store's welcome in one round trip, or None."""
    with TransactGet(connection=transaction_connection(max_retry_attempts=1)) as get:
        scene_future = get.get(SceneRow, scene_pk(scene), SCENE)
        store_future = get.get(StoreRow, store_pk(store_id), STORE)
    try:
        row, store = scene_future.get(), store_future.get()
    except DoesNotExist:
        return None
    if row.store_id != store.store_id:
        return None
    return SceneTarget(scene, row.store_id, row.staff_id, row.campaign, store.welcome)


def first_store_of(openid: str) -> str | None:
    with TransactGet(connection=transaction_connection(max_retry_attempts=1)) as get:
        future = get.get(CustomerRow, openid, PROFILE)
    try:
        return future.get().first_store_id
    except DoesNotExist:
        return None


def commit_once(key: str, reply: str | None, effects: Callable[[TransactWrite], None]) -> str | None:
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
    for attempt in range(CONFLICT_RETRIES):
        try:
            with TransactWrite(connection=transaction_connection(max_retry_attempts=1)) as transaction:
                transaction.save(record, condition=fresh, return_values="ALL_OLD")  # item 0
                effects(transaction)
            return reply
        except TransactWriteError as error:
            reasons = error.cancellation_reasons or []
            first = reasons[0] if reasons else None
            if first is not None and first.code == "ConditionalCheckFailed":
                return _stored_reply(key, first.raw_item, reply)
            if any(r is not None and r.code == "TransactionConflict" for r in reasons):
                # Another delivery of this message is committing right now.
                time.sleep(0.05 * (attempt + 1))
                continue
            raise
    # Still contended: the other delivery commits the same effects with the same
    # deterministic reply, which is therefore ours too.
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
