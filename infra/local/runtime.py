"""The local event runtime that `chalice local` lacks.

It drives a Chalice app's queue consumers and schedules exactly as Lambda would:
- polls each queue of an `on_sqs_message` handler and passes Lambda-shaped batches with
  real messageIds and receipt handles; deletes what succeeded, honours
  `batchItemFailures`, and leaves a batch whose handler raised to SQS's visibility
  timeout and redrive policy (so failures reach the DLQ after maxReceiveCount);
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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalice import Chalice
from chalice.app import ScheduledEventConfig, SQSEventConfig

from functions.core.config import get_settings
from infra.local.schedule import Schedule

log = logging.getLogger("runtime")


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
    ):
        """`tz`: the zone of the cron expressions; TZ_BUSINESS of the settings by default."""
        self.app = app
        self.sqs = sqs
        self.queue_name = queue_name
        self.poll_wait_s = poll_wait_s
        self.clock = clock
        self.consumers: dict[str, QueueConsumer] = {}
        self.schedules: dict[str, ScheduledFunction] = {}
        self.tz = get_settings().tz_business if tz is None else tz
        for source in app.event_sources:
            handler = app.handler_map[source.name]
            if isinstance(source, SQSEventConfig):
                self.consumers[source.name] = QueueConsumer(
                    source.name, source.queue, source.batch_size or 10, handler
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
        received = self.sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(consumer.batch_size, 10),
            WaitTimeSeconds=self.poll_wait_s if wait_s is None else wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = received.get("Messages", [])
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
        EventBridge event), or a queue consumer on `event` (an SQS event) or on one
        batch received from its queue."""
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
        known = sorted([*self.schedules, *self.consumers])
        raise KeyError(f"no queue or scheduled function named {name!r}; known: {known}")


def dumps(result: Any) -> str:
    return json.dumps(result, default=str, ensure_ascii=False)
