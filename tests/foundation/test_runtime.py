"""The local event runtime delivers queues and schedules the way Lambda does."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from infra.local.runtime import EventRuntime
from infra.local.schedule import Schedule
from tests.conftest import wait_for
from tests.foundation import runtime_app


@pytest.fixture
def sqs(aws):
    return boto3.client("sqs")


def make_queue(sqs, logical: str, max_receive: int = 2) -> tuple[str, str, callable]:
    """A fresh queue for `logical` plus its DLQ, and the resolver the runtime needs."""
    suffix = uuid.uuid4().hex[:8]
    name = f"{logical}-{suffix}"
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)}
            ),
        },
    )["QueueUrl"]
    return url, dlq, lambda q: f"{q}-{suffix}"


def queue_depth(sqs, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def dlq_bodies(sqs, dlq: str) -> list[dict]:
    out = []
    for _ in range(5):
        for m in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        ):
            out.append(json.loads(m["Body"]))
    return out


def test_a_queued_message_reaches_its_handler_as_a_lambda_batch(sqs):
    # Given the runtime polling the app's queues
    url, _, resolve = make_queue(sqs, "rt-jobs")
    runtime_app.seen.clear()
    runtime = EventRuntime(runtime_app.app, sqs, resolve)
    runtime.consumers.pop("explodes")
    runtime.schedules.clear()
    runtime.start()
    try:
        # When a message is sent
        sent = sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": 1}))
        # Then the handler sees it with SQS's real message id, and it is deleted
        assert wait_for(lambda: any(s["id"] == sent["MessageId"] for s in runtime_app.seen))
        time.sleep(1.5)
        again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", [])
        assert again == []
    finally:
        runtime.stop()
    assert [s["body"] for s in runtime_app.seen] == [{"n": 1}]


def test_batch_item_failures_are_redelivered_then_dead_lettered_alone(sqs):
    url, dlq, resolve = make_queue(sqs, "rt-jobs", max_receive=2)
    runtime_app.seen.clear()
    runtime = EventRuntime(runtime_app.app, sqs, resolve)
    consumer = runtime.consumers["jobs"]
    # Given one bad record among good ones, delivered in one batch
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": json.dumps({"n": "ok-1"})},
            {"Id": "b", "MessageBody": json.dumps({"n": "bad", "fail": True})},
            {"Id": "c", "MessageBody": json.dumps({"n": "ok-2"})},
        ],
    )
    # When the consumer polls until the bad record has been dead-lettered (visibility is 1 s)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and queue_depth(sqs, dlq) == 0:
        runtime.poll_once(consumer, wait_s=1)
    # Then only the failed record was redelivered, maxReceiveCount times, and then dead-lettered
    deliveries = [s["body"]["n"] for s in runtime_app.seen]
    assert deliveries.count("ok-1") == 1
    assert deliveries.count("ok-2") == 1
    assert deliveries.count("bad") == 2
    assert dlq_bodies(sqs, dlq) == [{"n": "bad", "fail": True}]


def test_a_handler_that_raises_fails_the_whole_batch(sqs):
    url, dlq, resolve = make_queue(sqs, "rt-explodes", max_receive=2)
    runtime_app.seen.clear()
    runtime = EventRuntime(runtime_app.app, sqs, resolve)
    consumer = runtime.consumers["explodes"]
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": json.dumps({"n": i})} for i in range(3)]
    )
    for _ in range(6):
        runtime.poll_once(consumer, wait_s=1)
        time.sleep(1.1)
    # Every record was delivered twice (never deleted), then all three reached the DLQ
    assert sorted(s["body"]["n"] for s in runtime_app.seen) == [0, 0, 1, 1, 2, 2]
    assert sorted(b["n"] for b in dlq_bodies(sqs, dlq)) == [0, 1, 2]


def test_a_schedule_fires_on_its_rate(sqs):
    # Given a clock running 120x faster, rate(1 minute) fires every half second
    start = datetime.now(UTC)
    t0 = time.monotonic()
    fast_clock = lambda: start + timedelta(seconds=(time.monotonic() - t0) * 120)  # noqa: E731
    runtime_app.fired.clear()
    runtime = EventRuntime(runtime_app.app, sqs, lambda q: q, clock=fast_clock)
    runtime.consumers.clear()  # only schedules in this test
    runtime.start()
    try:
        assert wait_for(lambda: len(runtime_app.fired) >= 2, timeout=10)
    finally:
        runtime.stop()
    event = runtime_app.fired[0]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("rate(5 minutes)", "2026-01-01T00:00:00", "2026-01-01T00:05:00"),
        ("cron(0 2 * * ? *)", "2026-01-01T02:00:00", "2026-01-02T02:00:00"),
        ("cron(0 2 * * ? *)", "2026-01-01T01:59:00", "2026-01-01T02:00:00"),
        ("cron(*/15 * * * ? *)", "2026-01-01T00:07:00", "2026-01-01T00:15:00"),
        ("cron(30 9 ? * MON-FRI *)", "2026-11-21T10:00:00", "2026-11-23T09:30:00"),  # Sat -> Mon
        ("cron(0 0 1 JAN ? 2027)", "2026-03-01T00:00:00", "2027-01-01T00:00:00"),
    ],
)
def test_schedule_expressions_compute_the_next_firing(expression, after, expected):
    moment = datetime.fromisoformat(after).replace(tzinfo=UTC)
    assert Schedule(expression).next_after(moment) == datetime.fromisoformat(expected).replace(tzinfo=UTC)


def test_invoke_runs_a_scheduled_function_with_a_detail(sqs):
    runtime = EventRuntime(runtime_app.app, sqs, lambda q: q)
    assert runtime.invoke("daily_job", {"date": "2026-05-01"}) == {"ran_for": "2026-05-01"}
    with pytest.raises(KeyError):
        runtime.invoke("no_such_function")
