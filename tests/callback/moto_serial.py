"""Serialise the in-process moto server's DynamoDB requests.

moto's TransactWriteItems is not atomic across threads: it checks conditions and writes
without a lock, and on cancellation restores a deep copy of the whole table taken before it
started, wiping writes that other threads committed meanwhile. Real DynamoDB is atomic, so
race tests against moto must serialise its DynamoDB handler to test our code, not moto's.
"""

from __future__ import annotations

import threading


def serialize_moto_dynamodb() -> None:
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, "serialized", False):
        return
    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self):  # type: ignore[no-untyped-def]
        with lock:
            return original(self)

    call_action.serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
