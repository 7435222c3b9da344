"""Every path of the notification worker, end to end: notify() -> queue -> worker -> sandbox -> record."""

from __future__ import annotations

import json
import logging
import threading
import uuid

import boto3
import pytest
import requests

from functions.core import wechat
from functions.core.config import resource_name
from functions.customers.domain import get_customer
from functions.notifications import worker
from functions.notifications.delivery import mark_delivery
from functions.notifications.domain import notify
from tests.notifications.conftest import (
    VALUES,
    calls,
    cold_token,
    customer,
    drain_notifications,
    fault,
    new_openid,
    record,
    sent_to,
)

SEND = "cgi-bin/message/template/send"
FIELDS = VALUES


def statuses(notification_id: str) -> list[str]:
    return [h["status"] for h in record(notification_id)["history"]]


@pytest.fixture
def requeued(monkeypatch):
    """Deferred messages re-enqueued by the worker, captured instead of waiting out their delay."""
    captured: list[tuple[dict, int]] = []
    monkeypatch.setattr(worker, "requeue", lambda body, delay: captured.append((body, delay)))
    return captured


def deliver_again(body: dict) -> None:
    """The delayed message arrives."""
    boto3.client("sqs").send_message(
        QueueUrl=boto3.client("sqs").get_queue_url(QueueName=resource_name("notifications"))["QueueUrl"],
        MessageBody=json.dumps(body),
    )
    drain_notifications()


def test_a_notification_is_sent_once_with_its_id_as_client_msg_id_and_then_delivered(sandbox, aws, caplog):
    caplog.set_level(logging.INFO, logger=worker.__name__)
    # Given a following customer
    openid = customer()
    # When a shipment notice is queued and the worker runs
    nid = notify(openid, "shipment_status", FIELDS, url="https://h5.example.com/s/1")
    drain_notifications()
    # Then WeChat got one template message with the notification id as client_msg_id
    [message] = sent_to(sandbox, openid)
    assert message["client_msg_id"] == nid
    assert message["template_id"] == "TPL_SHIPMENT_SANDBOX"
    assert message["url"] == "https://h5.example.com/s/1"
    assert message["data"] == {
        "character_string1": {"value": "SF1234567890"},
        "thing2": {"value": "Order 123 shipped"},
        "thing3": {"value": "Left Shanghai depot"},
        "time4": {"value": "2024年5月1日 10:00"},
    }
    view = record(nid)
    assert view["status"] == "sent" and view["msgid"] == str(message["msgid"])
    assert statuses(nid) == ["queued", "sending", "sent"]
    assert f"notification_outcome=sent kind=shipment_status errcode=0 reason=- id={nid}" in caplog.text
    # And WeChat's delivery report finds it by msgid
    assert mark_delivery(str(message["msgid"]), "success")
    assert record(nid)["status"] == "delivered"


def test_fields_are_rendered_within_wechats_rules(sandbox, aws):
    # Given fields WeChat would refuse: too long, multi-line, first/remark
    openid = customer()
    fields = {**VALUES, "title": "A very long product name that goes on", "benefit": "two\nlines"}
    # When it is sent
    nid = notify(openid, "coupon_issued", fields)
    drain_notifications()
    # Then WeChat accepted a cleaned version
    assert record(nid)["status"] == "sent"
    data = sent_to(sandbox, openid)[0]["data"]
    assert set(data) == {"thing1", "thing2", "time3", "character_string4"}
    assert data["thing1"]["value"] == "A very long product…" and len(data["thing1"]["value"]) == 20
    assert data["thing2"]["value"] == "two lines"


def test_an_unsubscribed_customer_is_skipped(sandbox, aws):
    # Given a customer who unsubscribed
    openid = customer(subscribed=False)
    # When a message is queued for them
    nid = notify(openid, "shipment_status", FIELDS)
    drain_notifications()
    # Then nothing is sent and the record says why
    assert sent_to(sandbox, openid) == []
    assert record(nid)["status"] == "skipped:unsubscribed"


def test_a_customer_never_seen_is_sent_to(sandbox, aws):
    # Given no customer record (e.g. they followed before this system existed)
    openid = new_openid()
    # When a transactional message is queued
    nid = notify(openid, "booking_confirmed", FIELDS)
    drain_notifications()
    # Then it is sent: WeChat itself says (43004) if they are not following
    assert record(nid)["status"] == "sent"


def test_a_reminder_needs_consent_but_a_transactional_message_does_not(sandbox, aws):
    # Given a following customer without reminder consent
    openid = customer(consent=False)
    # When a reminder and a booking message are queued
    reminder = notify(openid, "repurchase_reminder", VALUES)
    booking = notify(openid, "booking_confirmed", FIELDS)
    drain_notifications()
    # Then only the booking message is sent
    assert record(reminder)["status"] == "skipped:no_consent"
    assert record(booking)["status"] == "sent"
    assert len(sent_to(sandbox, openid)) == 1


def test_43004_marks_the_customer_unsubscribed_and_is_not_retried(sandbox, aws, caplog):
    caplog.set_level(logging.INFO, logger=worker.__name__)
    # Given a customer WeChat says is not following
    openid = customer()
    requests.post(f"{sandbox.url}/sandbox/unfollow", json={"openid": openid}, timeout=5)
    # When a message is queued
    nid = notify(openid, "shipment_status", FIELDS)
    drain_notifications()
    # Then the record failed for that reason after one attempt, and the customer is unsubscribed
    view = record(nid)
    assert view["status"] == "failed:not_following" and view["attempts"] == 1
    assert calls(sandbox, SEND) == 1
    assert get_customer(openid).subscribed is False
    # And the log says which kind failed, with WeChat's errcode and the reason
    line = f"notification_outcome=failed kind=shipment_status errcode=43004 reason=not_following id={nid}"
    assert line in caplog.text
    # And later messages to them are skipped without calling WeChat
    later = notify(openid, "shipment_status", FIELDS)
    drain_notifications()
    assert record(later)["status"] == "skipped:unsubscribed"
    assert calls(sandbox, SEND) == 1
    assert (
        f"notification_outcome=skipped kind=shipment_status errcode=- reason=unsubscribed id={later}"
        in caplog.text
    )


def test_45009_defers_the_message_and_it_is_sent_later(sandbox, aws, requeued, caplog):
    caplog.set_level(logging.INFO, logger=worker.__name__)
    # Given WeChat's daily quota is reached
    openid = customer()
    fault(sandbox, api=SEND, errcode=45009, count=1, openid=openid)
    # When a message is queued
    nid = notify(openid, "shipment_status", FIELDS)
    drain_notifications()
    # Then it is deferred, with a delayed message queued for later: never lost
    assert record(nid)["status"] == "deferred:quota"
    [(body, delay)] = requeued
    assert body["notification_id"] == nid and delay == worker.MAX_HOP_S
    # And the log says so, with its wake time
    line = (
        f"notification_outcome=deferred kind=shipment_status errcode=45009 reason=quota id={nid} "
        f'until={body["not_before"]} detail="45009 reach max api daily quota limit"'
    )
    assert line in caplog.text
    # And when that message comes back after the quota reset, it is sent
    body["not_before"] = None
    deliver_again(body)
    assert record(nid)["status"] == "sent"
    assert statuses(nid) == ["queued", "sending", "deferred:quota", "sending", "sent"]


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ({"errcode": -1}, "-1 system error"),
        ({"http_status": 502}, "HTTP 502"),
        ({"delay_ms": 700}, "timeout"),
    ],
    ids=["errcode -1", "HTTP 5xx", "timeout"],
)
def test_transient_failures_are_retried_with_the_reason_recorded(sandbox, aws, monkeypatch, spec, why):
    # Given WeChat fails twice (a short read timeout makes a slow answer a timeout)
    monkeypatch.setattr(wechat, "TIMEOUT_S", (1.0, 0.3))
    openid = customer()
    fault(sandbox, api=SEND, count=2, openid=openid, **spec)
    # When a message is queued and the worker runs until the queue is empty
    nid = notify(openid, "shipment_status", FIELDS)
    drain_notifications()
    # Then the third attempt sent it, and the history says why the first two failed
    view = record(nid)
    assert view["status"] == "sent" and view["attempts"] == 3
    retries = [h for h in view["history"] if h["status"] == "retrying"]
    assert [h["detail"].split(":")[0] for h in retries] == ["attempt 1", "attempt 2"]
    assert all(why in h["detail"] for h in retries)
    assert len(sent_to(sandbox, openid)) == 1


def test_a_message_failing_every_attempt_ends_in_the_dlq_and_says_why(sandbox, aws):
    # Given WeChat fails every send to this customer
    openid = customer()
    fault(sandbox, api=SEND, errcode=-1, count=-1, openid=openid)
    # When a message is queued and SQS redelivers it until maxReceiveCount
    nid = notify(openid, "shipment_status", FIELDS)
    drain_notifications()
    # Then the record failed after 5 attempts, each with its reason
    view = record(nid)
    assert view["status"] == "failed:retries_exhausted" and view["attempts"] == worker.MAX_RECEIVES
    assert [
        h["detail"].split(":")[0]
        for h in view["history"]
        if h["status"] in ("retrying", "failed:retries_exhausted")
    ] == [f"attempt {n}" for n in range(1, 6)]
    # And the message is in the dead-letter queue
    sqs = boto3.client("sqs")
    dlq = sqs.get_queue_url(QueueName=resource_name("notifications-dlq"))["QueueUrl"]
    found = False
    for _ in range(10):
        for m in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        ):
            if json.loads(m["Body"]).get("notification_id") == nid:
                found = True
                sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
            else:  # another test's: leave it
                sqs.change_message_visibility(
                    QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
        if found:
            break
    assert found


def test_a_permanent_wechat_refusal_fails_without_retry(sandbox, aws):
    # Given WeChat refuses the message (an errcode with no meaning of its own to us)
    openid = customer()
    fault(sandbox, api=SEND, errcode=40003, count=1, openid=openid)
    nid = notify(openid, "shipment_status", FIELDS)
    drain_notifications()
    # Then the record failed with WeChat's code after one attempt
    view = record(nid)
    assert view["status"] == "failed:wechat_40003" and view["attempts"] == 1


def test_wechats_47003_is_an_invalid_field_never_retried(sandbox, aws):
    # Given WeChat refuses a value all the same (a template whose types changed at WeChat's end)
    openid = customer()
    fault(sandbox, api=SEND, errcode=47003, count=1, openid=openid)
    nid = notify(openid, "shipment_status", FIELDS)
    drain_notifications()
    view = record(nid)
    assert view["status"] == "failed:invalid_field" and view["attempts"] == 1


def test_an_invalid_token_is_refreshed_once_and_the_message_sent(sandbox, aws):
    # Given the worker's token was invalidated by WeChat
    cold_token()
    wechat.access_token()
    requests.post(f"{sandbox.url}/sandbox/expire-token", timeout=5)
    openids = [customer() for _ in range(10)]
    # When a batch of 10 is sent in parallel
    nids = [notify(o, "shipment_status", FIELDS) for o in openids]
    drain_notifications()
    # Then all were sent after one forced refresh
    assert {record(n)["status"] for n in nids} == {"sent"}
    assert calls(sandbox, "cgi-bin/stable_token") == 2  # the cold fetch + one forced refresh


def test_a_redelivered_message_that_was_sent_is_not_sent_again(sandbox, aws):
    # Given a notification already sent
    openid = customer()
    nid = notify(openid, "shipment_status", FIELDS)
    drain_notifications()
    # When SQS delivers its message again (at-least-once), and notify() is repeated
    deliver_again({"notification_id": nid})
    assert notify(openid, "shipment_status", FIELDS, notification_id=nid) == nid
    drain_notifications()
    # Then WeChat was called once
    assert calls(sandbox, SEND) == 1
    assert statuses(nid).count("sent") == 1


def test_the_same_message_delivered_to_two_workers_at_once_is_sent_once(sandbox, aws):
    # Given one queued notification whose message two workers receive at the same time
    openid = customer()
    fault(sandbox, api=SEND, delay_ms=300, count=1, openid=openid)  # a slow send widens the race
    nid = notify(openid, "shipment_status", FIELDS)
    record_ = {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "not-a-real-handle",
        "body": json.dumps({"notification_id": nid}),
        "attributes": {"ApproximateReceiveCount": "1"},
    }
    results = []
    threads = [threading.Thread(target=lambda: results.append(worker.process(record_))) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    # Then exactly one send happened; the others were told to look again later
    assert calls(sandbox, SEND) == 1
    assert record(nid)["status"] == "sent"
    assert sum(not r.retry for r in results) >= 1
    drain_notifications()  # the queued copy of the message: acknowledged, not sent
    assert calls(sandbox, SEND) == 1


def test_a_batch_reports_only_its_failed_records(sandbox, aws):
    # Given two customers, one of whose sends fails
    ok, bad = customer(), customer()
    fault(sandbox, api=SEND, errcode=-1, count=1, openid=bad)
    records = []
    for openid in (ok, bad):
        nid = notify(openid, "shipment_status", FIELDS, notification_id=f"batch-{uuid.uuid4().hex}")
        records.append(
            {
                "messageId": nid,
                "receiptHandle": "not-a-real-handle",
                "body": json.dumps({"notification_id": nid}),
                "attributes": {"ApproximateReceiveCount": "1"},
            }
        )
    # When the worker handles them as one batch
    response = worker.handle_batch(records)
    # Then only the failed one is reported for retry
    assert response == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
    drain_notifications()


@pytest.fixture
def dynamodb_calls(monkeypatch):
    """The DynamoDB operations made while the test runs, in order."""
    import botocore.client

    made: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def counted(client, operation_name, api_params):
        if client.meta.service_model.service_name == "dynamodb":
            made.append(operation_name)
        return original(client, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counted)
    return made


def test_a_transactional_message_costs_two_dynamodb_writes_and_no_read(sandbox, aws, dynamodb_calls):
    # Given a following customer, a queued shipment notice and a warm access_token
    openid = customer()
    nid = notify(openid, "shipment_status", FIELDS)
    wechat.access_token()
    dynamodb_calls.clear()
    # When the worker handles its message, as the outbox relay writes it
    body = {"notification_id": nid, "openid": openid, "kind": "shipment_status", "fields": FIELDS}
    result = worker.process({"messageId": "m-1", "body": json.dumps(body), "attributes": {}})
    made = list(dynamodb_calls)
    # Then it claimed the record on the condition that the customer still follows us, and
    # wrote the outcome with its count for the console: two writes, no read
    assert made == ["TransactWriteItems", "TransactWriteItems"]
    assert result == worker.DONE and record(nid)["status"] == "sent"
    drain_notifications()  # the copy notify() queued finds it sent and is acknowledged


def test_a_customer_known_only_by_their_consent_is_sent_to(sandbox, aws):
    # Given a customer we never saw follow (they followed before this system) who gave consent
    from functions.customers.domain import set_reminder_consent

    openid = new_openid()
    set_reminder_consent(openid, True)
    # When a transactional message is queued
    nid = notify(openid, "booking_confirmed", FIELDS)
    drain_notifications()
    # Then it is sent, as to a customer never seen: WeChat says (43004) if they are gone
    assert record(nid)["status"] == "sent"
