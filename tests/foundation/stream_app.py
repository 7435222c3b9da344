"""A small Chalice app with one DynamoDB stream consumer, to prove the local event runtime
reads streams the way Lambda's event source mapping does."""

from __future__ import annotations

import threading

from chalice import Chalice

from functions.core import streams

app = Chalice(app_name="stream-test")
batches: list[list[tuple[str, str]]] = []
events: list[dict] = []
failing = threading.Event()
lock = threading.Lock()


@app.on_dynamodb_record(
    stream_arn=streams.source("rt-table"), batch_size=2, starting_position="TRIM_HORIZON", name="changes"
)
def changes(event):
    with lock:
        events.append(event.to_dict())
        batches.append([(record.event_name, record.keys["pk"]["S"]) for record in event])
    if failing.is_set():
        raise RuntimeError("the handler fails")
