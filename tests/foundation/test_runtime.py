"""The local event runtime delivers queues, streams and schedules the way Lambda does."""

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
from tests.foundation import runtime_app, stream_app


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


@pytest.mark.parametrize(
    ("tz", "after", "expected"),
    [
        ("Asia/Shanghai", "2026-01-01T00:00:00", "2026-01-01T02:00:00"),
        ("Asia/Shanghai", "2026-07-01T02:00:00", "2026-07-02T02:00:00"),
        ("Europe/Berlin", "2026-01-15T00:00:00", "2026-01-15T09:00:00"),  # CET, UTC+1
        ("Europe/Berlin", "2026-07-15T00:00:00", "2026-07-15T08:00:00"),  # CEST, UTC+2
        ("Europe/Berlin", "2026-03-28T09:00:00", "2026-03-29T08:00:00"),  # the night clocks go forward
        ("UTC", "2026-01-01T00:00:00", "2026-01-01T10:00:00"),
    ],
)
def test_a_cron_is_read_in_its_time_zone(tz, after, expected):
    # Given "every day at 10:00" in the business time zone
    schedule = Schedule("cron(0 10 * * ? *)", tz)
    # Then it fires at 10:00 local, whatever that is in UTC on the day
    moment = datetime.fromisoformat(after).replace(tzinfo=UTC)
    assert schedule.next_after(moment) == datetime.fromisoformat(expected).replace(tzinfo=UTC)


def _firings(schedule: Schedule, start: str, end: str) -> list[str]:
    moment = datetime.fromisoformat(start).replace(tzinfo=UTC)
    stop = datetime.fromisoformat(end).replace(tzinfo=UTC)
    fired = []
    while (moment := schedule.next_after(moment)) < stop:
        fired.append(moment.strftime("%Y-%m-%dT%H:%M"))
    return fired


def test_a_local_time_that_does_not_exist_is_skipped():
    # Given 02:30 Berlin time daily; on 2026-03-29 the clocks jump from 02:00 to 03:00
    schedule = Schedule("cron(30 2 * * ? *)", "Europe/Berlin")
    # Then that day has no firing, and the days around it fire at 02:30 local
    assert _firings(schedule, "2026-03-27T12:00:00", "2026-03-31T00:00:00") == [
        "2026-03-28T01:30",  # CET
        "2026-03-30T00:30",  # CEST
    ]


def test_a_local_time_that_repeats_fires_once():
    # Given 02:30 Berlin time daily; on 2026-10-25 02:00-03:00 happens twice (CEST, then CET)
    schedule = Schedule("cron(30 2 * * ? *)", "Europe/Berlin")
    # Then it fires once that day, at the first 02:30, even asked from inside the second hour
    assert _firings(schedule, "2026-10-24T12:00:00", "2026-10-27T00:00:00") == [
        "2026-10-25T00:30",  # CEST
        "2026-10-26T01:30",  # CET
    ]
    inside_the_repeat = datetime(2026, 10, 25, 1, 15, tzinfo=UTC)  # 02:15 CET
    assert schedule.next_after(inside_the_repeat) == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_a_rate_ignores_the_time_zone():
    moment = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert Schedule("rate(1 hour)", "Europe/Berlin").next_after(moment) == moment + timedelta(hours=1)


def test_the_runtime_reads_the_business_time_zone_when_it_is_created(sqs, monkeypatch):
    from functions.core.config import reset_settings

    # Given a brand whose business time zone is Berlin
    monkeypatch.setenv("TZ_BUSINESS", "Europe/Berlin")
    reset_settings()
    try:
        runtime = EventRuntime(runtime_app.app, sqs, lambda q: q)
    finally:
        monkeypatch.undo()
        reset_settings()
    # Then its daily cron(0 2 * * ? *) means 02:00 in Berlin, and an explicit zone wins
    winter = datetime(2026, 1, 1, tzinfo=UTC)
    assert runtime.schedules["daily_job"].schedule.next_after(winter) == datetime(2026, 1, 1, 1, tzinfo=UTC)
    shanghai = EventRuntime(runtime_app.app, sqs, lambda q: q, tz="Asia/Shanghai")
    assert shanghai.schedules["daily_job"].schedule.next_after(winter) == datetime(2026, 1, 1, 18, tzinfo=UTC)


def test_invoke_runs_a_scheduled_function_with_a_detail(sqs):
    runtime = EventRuntime(runtime_app.app, sqs, lambda q: q)
    assert runtime.invoke("daily_job", {"date": "2026-05-01"}) == {"ran_for": "2026-05-01"}
    with pytest.raises(KeyError):
        runtime.invoke("no_such_function")


# -- DynamoDB streams ----------------------------------------------------------------------


@pytest.fixture
def stream_table(aws):
    """A fresh table with a NEW_IMAGE stream standing for `rt-table`; (name, resolver)."""
    name = f"rt-table-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    stream_app.batches.clear()
    stream_app.events.clear()
    stream_app.failing.clear()
    yield name, lambda logical: name if logical == "rt-table" else logical
    stream_app.failing.clear()


def put(table: str, pk: str, **attrs: str) -> None:
    item = {"pk": {"S": pk}, **{k: {"S": v} for k, v in attrs.items()}}
    boto3.client("dynamodb").put_item(TableName=table, Item=item)


def seen() -> list[tuple[str, str]]:
    return [change for batch in stream_app.batches for change in batch]


def test_stream_records_reach_their_handler_in_order_from_the_start_in_lambdas_shape(sqs, stream_table):
    table, resolve = stream_table
    # Given records written before the runtime starts
    put(table, "a")
    put(table, "b")
    runtime = EventRuntime(stream_app.app, sqs, resolve)
    runtime.start()
    try:
        # When more are written while it runs
        put(table, "c")
        put(table, "a", v="2")
        # Then every one reaches the handler once, in order, in batches of at most 2
        assert wait_for(lambda: len(seen()) >= 4, timeout=10)
        assert seen() == [("INSERT", "a"), ("INSERT", "b"), ("INSERT", "c"), ("MODIFY", "a")]
        assert all(len(batch) <= 2 for batch in stream_app.batches)
    finally:
        runtime.stop()
    # And the event is Lambda's: the stream's ARN, epoch creation time, the new image
    arn = boto3.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    record = stream_app.events[0]["Records"][0]
    assert record["eventSource"] == "aws:dynamodb" and record["eventSourceARN"] == arn
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
    assert record["dynamodb"]["NewImage"] == {"pk": {"S": "a"}}
    assert record["dynamodb"]["StreamViewType"] == "NEW_IMAGE"


def test_a_failed_stream_batch_is_delivered_again_in_order_until_it_goes_through(sqs, stream_table):
    table, resolve = stream_table
    runtime = EventRuntime(stream_app.app, sqs, resolve)
    consumer = runtime.stream_consumers["changes"]
    # Given a handler that fails
    stream_app.failing.set()
    put(table, "x")
    put(table, "y")
    assert runtime.poll_stream_once(consumer) == 0
    # When it keeps failing, the same batch comes again (after a backoff), nothing after it
    put(table, "z")
    assert wait_for(lambda: (runtime.poll_stream_once(consumer), len(stream_app.batches) >= 2)[1], timeout=10)
    assert stream_app.batches[:2] == [[("INSERT", "x"), ("INSERT", "y")]] * 2
    # Then once it works, that batch goes through, and the stream goes on from there
    stream_app.failing.clear()
    assert wait_for(lambda: runtime.poll_stream_once(consumer), timeout=10) == 2
    assert runtime.poll_stream_once(consumer) == 1
    assert stream_app.batches[-2:] == [[("INSERT", "x"), ("INSERT", "y")], [("INSERT", "z")]]
    assert runtime.poll_stream_once(consumer) == 0


def test_invoke_runs_a_stream_consumer_on_what_its_stream_holds(sqs, stream_table):
    table, resolve = stream_table
    put(table, "p")
    runtime = EventRuntime(stream_app.app, sqs, resolve)
    assert runtime.invoke("changes") == {"records": 1}
    assert seen() == [("INSERT", "p")]


class ReshardingStreams:
    """A dynamodbstreams client whose shard `old` closes and hands over to a child `new`, as
    DynamoDB does every few hours (moto keeps one shard for ever)."""

    class exceptions:  # noqa: N801 - boto3's shape
        class ExpiredIteratorException(Exception):
            pass

    def __init__(self) -> None:
        self.shards = [{"ShardId": "old"}]
        self.records = {"old": ["a", "b"], "new": []}
        self.closed: set[str] = set()

    def describe_stream(self, StreamArn, **_):  # noqa: N803 - boto3's names
        return {"StreamDescription": {"Shards": list(self.shards)}}

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType, **_):  # noqa: N803
        return {"ShardIterator": f"{ShardId}:0"}

    def get_records(self, ShardIterator, Limit):  # noqa: N803
        shard, position = ShardIterator.split(":")
        start = int(position)
        taken = self.records[shard][start : start + Limit]
        end = start + len(taken)
        done = shard in self.closed and end == len(self.records[shard])
        return {
            "Records": [
                {
                    "eventID": f"{shard}-{key}",
                    "eventName": "INSERT",
                    "dynamodb": {
                        "Keys": {"pk": {"S": key}},
                        "SequenceNumber": f"{shard}-{key}",
                        "ApproximateCreationDateTime": datetime.now(UTC),
                        "SizeBytes": 1,
                        "StreamViewType": "NEW_IMAGE",
                    },
                }
                for key in taken
            ],
            "NextShardIterator": None if done else f"{shard}:{end}",
        }

    def reshard(self) -> None:
        self.closed.add("old")
        self.shards.append({"ShardId": "new", "ParentShardId": "old"})


class OneTable:
    def describe_table(self, TableName):  # noqa: N803
        return {"Table": {"LatestStreamArn": "arn:aws:dynamodb:local:1:table/t/stream/s"}}


def test_a_new_shard_is_read_from_its_start_after_its_parent(sqs):
    streams = ReshardingStreams()
    stream_app.batches.clear()
    runtime = EventRuntime(stream_app.app, sqs, lambda q: q, dynamodb=OneTable(), dynamodb_streams=streams)
    consumer = runtime.stream_consumers["changes"]
    # Given the parent shard was read, and DynamoDB then splits it: a child appears, and the
    # parent gets one last record before it closes
    assert runtime.poll_stream_once(consumer) == 2
    streams.records["new"] = ["c"]
    streams.records["old"].append("d")
    streams.reshard()
    # When the handler fails on the parent's last batch, the child waits for it
    stream_app.failing.set()
    assert runtime.poll_stream_once(consumer) == 0
    assert ("INSERT", "c") not in seen()
    # Then once it goes through, the child is read from its start: each record once, in order
    stream_app.failing.clear()
    assert wait_for(lambda: runtime.poll_stream_once(consumer), timeout=10)
    while runtime.poll_stream_once(consumer):
        pass
    delivered = [change for batch in stream_app.batches[1:] for change in batch]  # after [a, b]
    assert seen()[:2] == [("INSERT", "a"), ("INSERT", "b")]
    assert delivered == [("INSERT", "d"), ("INSERT", "d"), ("INSERT", "c")]
