"""Dead-letter queues: the console's list matches the data template and the IAM grant, and a
redrive is a bounded receive → send → delete loop (moto has no StartMessageMoveTask)."""

from __future__ import annotations

import json

import yaml

from functions.core import deadletters
from functions.core.aws import client
from functions.core.config import resource_name
from infra.template import ACCESS_FILE, DATA_TEMPLATE, _data_index


def test_every_dead_letter_queue_of_the_data_template_is_listed_with_its_source_and_granted():
    data = yaml.safe_load(DATA_TEMPLATE.read_text())
    index = _data_index(data)
    by_rid = {rid: name for name, rid in index["queues"].items()}
    expected = {by_rid[dlq_rid]: by_rid[source_rid] for source_rid, dlq_rid in index["dlqs"].items()}
    assert expected == deadletters.DEAD_LETTERS
    api = yaml.safe_load(ACCESS_FILE.read_text())["functions"]["api_handler"]
    assert set(api["redrive"]) == set(expected)


def test_a_redrive_moves_at_most_its_limit_and_keeps_the_rest(aws):
    sqs = client("sqs")
    dlq = sqs.get_queue_url(QueueName=resource_name("order-events-dlq"))["QueueUrl"]
    source = sqs.get_queue_url(QueueName=resource_name("order-events"))["QueueUrl"]
    for queue in (dlq, source):
        _empty(sqs, queue)
    for n in range(15):
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=json.dumps({"n": n}),
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
        )
    assert deadletters.depth("order-events-dlq") == 15
    assert deadletters.redrive("order-events-dlq", limit=10) == 10
    assert deadletters.depth("order-events-dlq") == 5
    moved = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, MessageAttributeNames=["All"])[
        "Messages"
    ]
    assert moved[0]["MessageAttributes"]["kind"]["StringValue"] == "test"
    for message in moved:  # received, so invisible to _empty below until its visibility timeout
        sqs.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])
    assert deadletters.redrive("order-events-dlq") == 5 and deadletters.depth("order-events-dlq") == 0
    _empty(sqs, source)


def _empty(sqs, queue: str) -> None:
    while got := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in got:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
