"""infra/data.yaml creates on the moto server exactly as CloudFormation would create it in AWS."""

from __future__ import annotations

import uuid

import boto3
import yaml

from infra.local.provision import TEMPLATE, provision


def test_the_data_template_creates_every_table_and_queue_on_moto(aws):
    # Given a fresh prefix (the shared moto server already holds the tests' own stack)
    prefix = f"wx-t{uuid.uuid4().hex[:8]}"
    data = yaml.safe_load(TEMPLATE.read_text())["Resources"]
    # When the data template is created as a CloudFormation stack
    outputs = provision(aws, prefix)
    # Then the stack completed with every table (TTL on) and queue (DLQ redrive) in place
    cfn = boto3.client("cloudformation", endpoint_url=aws)
    assert cfn.describe_stacks(StackName=f"{prefix}-data")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    dynamodb = boto3.client("dynamodb", endpoint_url=aws)
    sqs = boto3.client("sqs", endpoint_url=aws)
    for resource in data.values():
        name = next(
            iter(
                resource["Properties"].get("TableName", resource["Properties"].get("QueueName", {})).values()
            )
        )
        physical = name.replace("${Prefix}", prefix)
        if resource["Type"] == "AWS::DynamoDB::Table":
            table = dynamodb.describe_table(TableName=physical)["Table"]
            assert table["TableStatus"] == "ACTIVE"
            ttl = dynamodb.describe_time_to_live(TableName=physical)["TimeToLiveDescription"]
            assert ttl["TimeToLiveStatus"] == "ENABLED"
        else:
            url = sqs.get_queue_url(QueueName=physical)["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            if not physical.endswith("-dlq"):
                assert "-dlq" in attributes["RedrivePolicy"]
    assert outputs["NotificationsQueueArn"].endswith(f"{prefix}-notifications")
