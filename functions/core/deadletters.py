"""Each queue's dead-letter queue: its depth, and moving its messages back (the console's redrive).

SQS's own StartMessageMoveTask does this in AWS, but moto 5.2.5 has none, so the move is ours,
the same in `make run` and in AWS: a bounded loop that receives a batch, sends it to the source
queue, and deletes from the DLQ only what was sent. A crash between the send and the delete
leaves a message in both queues; every consumer is idempotent, so it has its effect once.

IAM: infra/access.yaml's `redrive:` grants a function receive/delete/attributes on each DLQ
named here and send on its source queue; tests/infra checks the two lists agree with the data
template's redrive policies.
"""

from __future__ import annotations

from typing import Any

from functions.core.aws import client
from functions.core.config import resource_name

# dead-letter queue -> the queue its messages came from (infra/data.yaml's RedrivePolicy).
DEAD_LETTERS = {
    "notifications-dlq": "notifications",
    "order-events-dlq": "order-events",
    "reminder-shards-dlq": "reminder-shards",
    "segment-jobs-dlq": "segment-jobs",
}
MAX_REDRIVE = 1000  # messages per redrive: a console request stays well inside API Gateway's 29 s
BATCH = 10  # SQS's most per receive and per send batch


def _url(logical: str) -> str:
    return client("sqs").get_queue_url(QueueName=resource_name(logical))["QueueUrl"]


def depth(dlq: str) -> int:
    """Messages waiting in the dead-letter queue (visible and in flight), as SQS counts them."""
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=_url(dlq),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
        attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
    )


def depths() -> dict[str, int]:
    return {dlq: depth(dlq) for dlq in DEAD_LETTERS}


def redrive(dlq: str, limit: int = MAX_REDRIVE) -> int:
    """Move up to `limit` messages from `dlq` back to its source queue; returns how many moved."""
    if dlq not in DEAD_LETTERS:
        raise ValueError(f"unknown dead-letter queue {dlq!r}")
    sqs = client("sqs")
    source, dead = _url(DEAD_LETTERS[dlq]), _url(dlq)
    moved = 0
    while moved < limit:
        received = sqs.receive_message(
            QueueUrl=dead,
            MaxNumberOfMessages=min(BATCH, limit - moved),
            WaitTimeSeconds=0,
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            break
        entries = [_entry(str(i), message) for i, message in enumerate(received)]
        sent = sqs.send_message_batch(QueueUrl=source, Entries=entries)
        ok = {item["Id"] for item in sent.get("Successful", [])}
        done = [
            {"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]}
            for i, message in enumerate(received)
            if str(i) in ok
        ]
        if done:
            sqs.delete_message_batch(QueueUrl=dead, Entries=done)
        moved += len(done)
        if len(done) < len(received):
            break  # the source refused some: they stay in the DLQ (visible again in 60 s)
    return moved


def _entry(entry_id: str, message: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": entry_id, "MessageBody": message["Body"]}
    if message.get("MessageAttributes"):
        entry["MessageAttributes"] = message["MessageAttributes"]
    return entry
