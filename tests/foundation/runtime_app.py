"""A small Chalice app used to prove the local event runtime behaves like Lambda."""

from __future__ import annotations

import json
import threading

from chalice import Chalice

app = Chalice(app_name="runtime-test")
seen: list[dict] = []
fired: list[dict] = []
lock = threading.Lock()


@app.on_sqs_message(queue="rt-jobs", batch_size=10, name="jobs")
def jobs(event):
    failures = []
    for record in event:
        raw = record.to_dict()
        body = json.loads(record.body)
        with lock:
            seen.append({"id": raw["messageId"], "body": body, "receipt": record.receipt_handle})
        if body.get("fail"):
            failures.append({"itemIdentifier": raw["messageId"]})
    return {"batchItemFailures": failures}


@app.on_sqs_message(queue="rt-explodes", batch_size=10, name="explodes")
def explodes(event):
    with lock:
        seen.extend({"id": r.to_dict()["messageId"], "body": json.loads(r.body)} for r in event)
    raise RuntimeError("boom")


@app.schedule("rate(1 minute)", name="every_minute")
def every_minute(event):
    with lock:
        fired.append(event.to_dict())


@app.schedule("cron(0 2 * * ? *)", name="daily_job")
def daily_job(event):
    """Writes a marker into the idempotency table so a test can see it ran against the stack."""
    import boto3

    from functions.core.config import resource_name

    date = event.to_dict().get("detail", {}).get("date", "none")
    boto3.client("dynamodb").put_item(
        TableName=resource_name("idempotency"), Item={"id": {"S": f"daily_job#{date}"}}
    )
    return {"ran_for": date}
