"""The local event runtime that `chalice local` lacks.

It drives a Chalice app's queue consumers and schedules exactly as Lambda would:
- polls each queue of an `on_sqs_message` handler and passes Lambda-shaped batches with
  real messageIds and receipt handles; deletes what succeeded, honours
  `batchItemFailures`, and leaves a batch whose handler raised to SQS's visibility
  timeout and redrive policy (so failures reach the DLQ after maxReceiveCount);
- reads the stream of each table an `on_dynamodb_record` handler declares
  (`functions.core.streams.source`), as Lambda's event source mapping does: every shard from
  the declared starting position (TRIM_HORIZON: all it holds) and shards that appear later
  from their start, a parent before its children, in batches of Lambda's DynamoDB event
  shape; it keeps each shard's iterator, and a batch whose handler raised is delivered again,
  the same records in the same order, with backoff, until it goes through;
- fires every `@app.schedule` handler on its rate/cron expression, a cron's fields read in
  the business time zone (TZ_BUSINESS, read when the runtime is created) as EventBridge
  Scheduler reads them in AWS (`ScheduleExpressionTimezone`, infra/template.py);
- runs one function once on demand (`make invoke`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalice import Chalice
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig

from functions.core import streams
from functions.core.config import get_settings
from infra.local.schedule import Schedule

log = logging.getLogger("runtime")

STREAM_IDLE_S = 0.25  # how often an idle stream is read again
STREAM_RETRY_BASE_S = 0.5  # a failed stream batch waits 0.5 s, 1 s, 2 s, ... up to the maximum
STREAM_RETRY_MAX_S = 8.0


class LambdaContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    def __init__(self, function_name: str, timeout_s: int = 900):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class QueueConsumer:
    name: str
    queue: str
    batch_size: int
    handler: Callable[[dict[str, Any], Any], Any]


@dataclass
class StreamConsumer:
    name: str
    table: str  # the logical table whose stream it reads
    batch_size: int
    starting_position: str  # TRIM_HORIZON or LATEST, for the shards there when polling starts
    handler: Callable[[dict[str, Any], Any], Any]


@dataclass
class _Shard:
    """Where the runtime is in one shard: the next iterator, and records not yet handled."""

    shard_id: str
    parent: str | None
    iterator: str | None
    pending: list[dict[str, Any]] = field(default_factory=list)
    last_sequence: str | None = None  # of the last record handled, to renew an expired iterator
    failures: int = 0
    retry_at: float = 0.0

    @property
    def done(self) -> bool:
        """Closed (no next iterator) and everything it held was handled."""
        return self.iterator is None and not self.pending


@dataclass
class _Stream:
    arn: str
    shards: dict[str, _Shard] = field(default_factory=dict)


@dataclass
class ScheduledFunction:
    name: str
    schedule: Schedule
    handler: Callable[[dict[str, Any], Any], Any]


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """A Lambda SQS event from ReceiveMessage results."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": queue_arn.split(":")[3] if queue_arn.count(":") >= 5 else "local",
            }
            for m in messages
        ]
    }


def dynamodb_event(records: list[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    """A Lambda DynamoDB stream event from GetRecords results (creation time as epoch seconds)."""
    out = []
    for record in records:
        change = dict(record["dynamodb"])
        created = change.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            change["ApproximateCreationDateTime"] = created.timestamp()
        out.append(
            {
                "eventID": record["eventID"],
                "eventName": record["eventName"],
                "eventVersion": record.get("eventVersion", "1.1"),
                "eventSource": "aws:dynamodb",
                "awsRegion": record.get("awsRegion", "local"),
                "dynamodb": change,
                "eventSourceARN": stream_arn,
            }
        )
    return {"Records": out}


def scheduled_event(rule_name: str, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """An EventBridge 'Scheduled Event' as Lambda receives it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "local",
        "resources": [f"arn:aws:events:local:000000000000:rule/{rule_name}"],
        "detail": detail or {},
    }


class EventRuntime:
    def __init__(
        self,
        app: Chalice,
        sqs: Any,
        queue_name: Callable[[str], str],
        poll_wait_s: int = 1,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        tz: str | None = None,
        dynamodb: Any = None,
        dynamodb_streams: Any = None,
    ):
        """`queue_name` resolves a logical queue or table name; `tz`: the zone of the cron
        expressions, TZ_BUSINESS of the settings by default. The DynamoDB clients (for the
        streams) are made from the environment when not given."""
        self.app = app
        self.sqs = sqs
        self.queue_name = queue_name
        self._dynamodb = dynamodb
        self._dynamodb_streams = dynamodb_streams
        self.poll_wait_s = poll_wait_s
        self.clock = clock
        self.consumers: dict[str, QueueConsumer] = {}
        self.stream_consumers: dict[str, StreamConsumer] = {}
        self.schedules: dict[str, ScheduledFunction] = {}
        self.tz = get_settings().tz_business if tz is None else tz
        for source in app.event_sources:
            handler = app.handler_map[source.name]
            if isinstance(source, SQSEventConfig):
                self.consumers[source.name] = QueueConsumer(
                    source.name, source.queue, source.batch_size or 10, handler
                )
            elif isinstance(source, DynamoDBEventConfig):
                table = streams.table_of(source.stream_arn)
                if table is None:
                    raise ValueError(
                        f"{source.name}: declare its stream as functions.core.streams.source(<table>), "
                        f"not {source.stream_arn!r}"
                    )
                self.stream_consumers[source.name] = StreamConsumer(
                    source.name, table, source.batch_size or 100, source.starting_position, handler
                )
            elif isinstance(source, ScheduledEventConfig):
                expression = source.schedule_expression
                if not isinstance(expression, str):
                    expression = expression.to_string()
                self.schedules[source.name] = ScheduledFunction(
                    source.name, Schedule(expression, self.tz), handler
                )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._urls: dict[str, tuple[str, str]] = {}
        self._streams: dict[str, _Stream] = {}

    # -- queues ---------------------------------------------------------------------

    def _queue(self, logical: str) -> tuple[str, str]:
        if logical not in self._urls:
            url = self.sqs.get_queue_url(QueueName=self.queue_name(logical))["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self._urls[logical] = (url, arn)
        return self._urls[logical]

    def poll_once(self, consumer: QueueConsumer, wait_s: int | None = None) -> int:
        """Receive one batch and run the handler on it; returns the number of records."""
        url, arn = self._queue(consumer.queue)
        messages: list[dict] = []
        # As Lambda's poller with a batching window: receive (10 at most a call) until the
        # batch is full or the queue has nothing more to give right now.
        while len(messages) < consumer.batch_size:
            received = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(consumer.batch_size - len(messages), 10),
                WaitTimeSeconds=(self.poll_wait_s if wait_s is None else wait_s) if not messages else 0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            got = received.get("Messages", [])
            messages += got
            if len(got) < 10 or consumer.batch_size <= 10:
                break
        if messages:
            self.deliver(consumer, messages, url, arn)
        return len(messages)

    def deliver(self, consumer: QueueConsumer, messages: list[dict], url: str, arn: str) -> None:
        event = sqs_event(messages, arn)
        try:
            result = consumer.handler(event, LambdaContext(consumer.name))
        except Exception:
            # As in Lambda: the whole batch becomes visible again after the timeout.
            log.exception("consumer %s raised; batch of %d left to retry", consumer.name, len(messages))
            return
        failed = {
            item["itemIdentifier"]
            for item in (result or {}).get("batchItemFailures", [])
            if isinstance(result, dict)
        }
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )

    def _poll_forever(self, consumer: QueueConsumer) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(consumer)
            except Exception:
                if not self._stop.is_set():
                    log.exception("polling %s failed", consumer.queue)
                    self._stop.wait(1)

    # -- DynamoDB streams ------------------------------------------------------------

    def _clients(self) -> tuple[Any, Any]:
        if self._dynamodb is None or self._dynamodb_streams is None:
            import boto3

            self._dynamodb = self._dynamodb or boto3.client("dynamodb")
            self._dynamodb_streams = self._dynamodb_streams or boto3.client("dynamodbstreams")
        return self._dynamodb, self._dynamodb_streams

    def _stream(self, consumer: StreamConsumer) -> _Stream:
        if consumer.name not in self._streams:
            dynamodb, _ = self._clients()
            table = dynamodb.describe_table(TableName=self.queue_name(consumer.table))["Table"]
            if "LatestStreamArn" not in table:
                raise RuntimeError(f"table {consumer.table} has no stream for {consumer.name}")
            stream = _Stream(table["LatestStreamArn"])
            self._discover(consumer, stream, consumer.starting_position)
            self._streams[consumer.name] = stream
        return self._streams[consumer.name]

    def _discover(self, consumer: StreamConsumer, stream: _Stream, position: str = "TRIM_HORIZON") -> None:
        """Start reading every shard not seen yet (a new one from its beginning)."""
        _, client = self._clients()
        start: dict[str, Any] = {}
        while True:
            described = client.describe_stream(StreamArn=stream.arn, **start)["StreamDescription"]
            for shard in described.get("Shards", []):
                shard_id = shard["ShardId"]
                if shard_id not in stream.shards:
                    iterator = client.get_shard_iterator(
                        StreamArn=stream.arn, ShardId=shard_id, ShardIteratorType=position
                    )["ShardIterator"]
                    stream.shards[shard_id] = _Shard(shard_id, shard.get("ParentShardId"), iterator)
            last = described.get("LastEvaluatedShardId")
            if not last:
                return
            start = {"ExclusiveStartShardId": last}

    def poll_stream_once(self, consumer: StreamConsumer) -> int:
        """Read each open shard once and run the handler on what it holds (or on the batch that
        failed before, once its backoff is over); returns the number of records handled."""
        stream = self._stream(consumer)
        self._discover(consumer, stream)
        handled = 0
        for shard in list(stream.shards.values()):
            parent = stream.shards.get(shard.parent or "")
            if shard.done or (parent is not None and not parent.done):
                continue  # a parent's records come before its children's
            if not shard.pending:
                self._read(consumer, stream, shard)
            if shard.pending and time.monotonic() >= shard.retry_at:
                handled += self._deliver_records(consumer, stream, shard)
        return handled

    def _read(self, consumer: StreamConsumer, stream: _Stream, shard: _Shard) -> None:
        _, client = self._clients()
        try:
            got = client.get_records(ShardIterator=shard.iterator, Limit=consumer.batch_size)
        except client.exceptions.ExpiredIteratorException:
            kind = {"ShardIteratorType": "TRIM_HORIZON"}
            if shard.last_sequence:
                kind = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": shard.last_sequence}
            shard.iterator = client.get_shard_iterator(StreamArn=stream.arn, ShardId=shard.shard_id, **kind)[
                "ShardIterator"
            ]
            return
        shard.iterator = got.get("NextShardIterator")
        shard.pending = got.get("Records", [])

    def _deliver_records(self, consumer: StreamConsumer, stream: _Stream, shard: _Shard) -> int:
        records = shard.pending
        try:
            consumer.handler(dynamodb_event(records, stream.arn), LambdaContext(consumer.name))
        except Exception:
            # As Lambda's event source mapping: the same batch again, in order, until it goes through.
            shard.failures += 1
            wait = min(STREAM_RETRY_MAX_S, STREAM_RETRY_BASE_S * 2 ** (shard.failures - 1))
            shard.retry_at = time.monotonic() + wait
            log.exception(
                "consumer %s raised; its batch of %d stream records is retried in %.1f s (attempt %d)",
                consumer.name,
                len(records),
                wait,
                shard.failures + 1,
            )
            return 0
        shard.pending, shard.failures, shard.retry_at = [], 0, 0.0
        shard.last_sequence = records[-1]["dynamodb"]["SequenceNumber"]
        return len(records)

    def _stream_forever(self, consumer: StreamConsumer) -> None:
        while not self._stop.is_set():
            try:
                handled = self.poll_stream_once(consumer)
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("reading the stream of %s failed", consumer.table)
                handled = 0
                self._stop.wait(1)
            if not handled:
                self._stop.wait(STREAM_IDLE_S)

    # -- schedules ------------------------------------------------------------------

    def fire(self, function: ScheduledFunction, detail: dict[str, Any] | None = None) -> Any:
        event = scheduled_event(function.name, detail)
        return function.handler(event, LambdaContext(function.name))

    def _schedule_forever(self, function: ScheduledFunction) -> None:
        due = function.schedule.next_after(self.clock())
        while not self._stop.is_set():
            if self.clock() < due:
                self._stop.wait(0.2)
                continue
            try:
                log.info("schedule %s firing", function.name)
                self.fire(function)
            except Exception:
                log.exception("scheduled function %s raised", function.name)
            due = function.schedule.next_after(max(due, self.clock()))

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        for consumer in self.consumers.values():
            self._spawn(self._poll_forever, consumer, f"sqs:{consumer.name}")
        for stream_consumer in self.stream_consumers.values():
            self._spawn(self._stream_forever, stream_consumer, f"stream:{stream_consumer.name}")
        for function in self.schedules.values():
            self._spawn(self._schedule_forever, function, f"schedule:{function.name}")

    def _spawn(self, target: Callable, arg: Any, name: str) -> None:
        thread = threading.Thread(target=target, args=(arg,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout_s: float = 5) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout_s)

    def invoke(self, name: str, event: dict[str, Any] | None = None) -> Any:
        """Run one function once: a schedule with `event` as its detail (or a full
        EventBridge event), a queue consumer on `event` (an SQS event) or on one batch
        received from its queue, or a stream consumer on `event` or on what its stream holds
        (read from its start: a fresh runtime keeps no position)."""
        if name in self.schedules:
            function = self.schedules[name]
            if event and "detail-type" in event:
                return function.handler(event, LambdaContext(name))
            return self.fire(function, event)
        if name in self.consumers:
            consumer = self.consumers[name]
            if event and "Records" in event:
                return consumer.handler(event, LambdaContext(name))
            return {"records": self.poll_once(consumer, wait_s=1)}
        if name in self.stream_consumers:
            stream_consumer = self.stream_consumers[name]
            if event and "Records" in event:
                return stream_consumer.handler(event, LambdaContext(name))
            return {"records": self.poll_stream_once(stream_consumer)}
        known = sorted([*self.schedules, *self.consumers, *self.stream_consumers])
        raise KeyError(f"no queue or scheduled function named {name!r}; known: {known}")


def dumps(result: Any) -> str:
    return json.dumps(result, default=str, ensure_ascii=False)
