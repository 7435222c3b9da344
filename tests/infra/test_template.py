"""The merged template is what AWS gets: it must lint, and hold our production rules."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from chalice.app import CloudWatchEvent

from functions.core.secrets import SECRET_NAMES
from infra.access import classify, scan_app
from infra.checks import problems, references
from infra.template import ACCESS_FILE, DATA_TEMPLATE, _data_index, app_function_names, cfn_name

pytestmark = pytest.mark.slow


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_cfn_lint_passes_on_the_merged_template(built: Path):
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(built / "template.json")],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_structural_checks_find_nothing(template):
    assert problems(template) == []


def test_every_function_the_app_defines_is_deployed(template):
    # Given the app's functions (routes -> api_handler, consumers, schedules)
    names = app_function_names()
    # Then each is a function of the template, and nothing else is
    assert {cfn_name(n) for n in names} == set(_resources(template, "AWS::Serverless::Function"))


def test_every_environment_reference_resolves(template):
    known = set(template["Resources"]) | set(template["Parameters"]) | {"AWS::Region", "AWS::URLSuffix"}
    for rid, fn in _resources(template, "AWS::Serverless::Function").items():
        variables = fn["Properties"]["Environment"]["Variables"]
        assert {"RESOURCE_PREFIX", "SECRETS_SSM_PATH", "TZ_BUSINESS", "WECHAT_API_BASE"} <= set(variables)
        assert references(variables) <= known, rid
        assert not set(variables) & set(SECRET_NAMES), f"{rid} has a secret in its environment"


def test_every_consumer_reports_batch_item_failures_from_a_queue_with_a_dlq(template):
    queues = _resources(template, "AWS::SQS::Queue")
    consumers = 0
    for rid, fn in _resources(template, "AWS::Serverless::Function").items():
        for event in (fn["Properties"].get("Events") or {}).values():
            if event["Type"] != "SQS":
                continue
            consumers += 1
            props = event["Properties"]
            assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"], rid
            queue_id = props["Queue"]["Fn::GetAtt"][0]
            dlq = queues[queue_id]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert dlq in queues
            assert fn["Properties"]["Timeout"] <= queues[queue_id]["Properties"]["VisibilityTimeout"]
    assert consumers >= 1


def test_the_outbox_relay_reads_the_notifications_stream_and_never_drops_a_record(template):
    # Given the relay's function
    relay = template["Resources"]["NotificationOutbox"]
    [event] = relay["Properties"]["Events"].values()
    props = event["Properties"]
    # Then it reads the stream of the data template's notifications table, from its start
    assert event["Type"] == "DynamoDB"
    assert props["Stream"] == {"Fn::GetAtt": ["NotificationsTable", "StreamArn"]}
    assert props["StartingPosition"] == "TRIM_HORIZON"
    table = template["Resources"]["NotificationsTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    # And a failing batch is retried until it goes through, halved to isolate a bad record
    assert props["MaximumRetryAttempts"] == -1 and props["BisectBatchOnFunctionError"] is True
    # And only new notification records invoke it
    [pattern] = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    assert pattern == {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"sk": {"S": ["N"]}}}}
    # And its role reads that stream only, and sends to the notifications queue only
    statements = {
        st["Sid"]: st
        for st in template["Resources"]["NotificationOutboxRole"]["Properties"]["Policies"][0][
            "PolicyDocument"
        ]["Statement"]
    }
    assert statements["ReadStream"]["Resource"] == [{"Fn::GetAtt": ["NotificationsTable", "StreamArn"]}]
    assert statements["SendToQueues"]["Resource"] == [{"Fn::GetAtt": ["NotificationsQueue", "Arn"]}]
    # And someone hears when it falls behind
    alarm = template["Resources"]["NotificationOutboxIteratorAgeAlarm"]["Properties"]
    assert alarm["MetricName"] == "IteratorAge" and alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_every_schedule_runs_in_the_stage_business_time_zone(template):
    # Given the app's daily schedules (cron in business time)
    scheduled = {
        rid: list((fn["Properties"].get("Events") or {}).values())
        for rid, fn in _resources(template, "AWS::Serverless::Function").items()
        if rid in ("BookingReminders", "RepurchaseReminders")
    }
    assert set(scheduled) == {"BookingReminders", "RepurchaseReminders"}
    names = set()
    for rid, events in scheduled.items():
        # Then each is an EventBridge Scheduler schedule read in the stage's TzBusiness
        assert [e["Type"] for e in events] == ["ScheduleV2"], rid
        props = events[0]["Properties"]
        assert props["ScheduleExpression"] == "cron(0 10 * * ? *)", rid
        assert props["ScheduleExpressionTimezone"] == {"Ref": "TzBusiness"}, rid
        names.add(props["Name"]["Fn::Sub"])
        # And the function gets the Scheduled Event that Chalice parses, with its detail
        payload = json.loads(
            props["Input"]["Fn::Sub"].replace("${AWS::AccountId}", "1").replace("${AWS::Region}", "r")
        )
        CloudWatchEvent(payload, None)
        assert payload["detail"] == {}
    # And no function is left on an EventBridge rule (cron in UTC)
    for rid, fn in _resources(template, "AWS::Serverless::Function").items():
        assert all(e["Type"] != "Schedule" for e in (fn["Properties"].get("Events") or {}).values()), rid
    # And schedule names are per stage, so that two stages share an account
    assert names == {"${Prefix}-booking_reminders", "${Prefix}-repurchase_reminders"}
    assert template["Parameters"]["TzBusiness"]["Default"] == "Asia/Shanghai"


def test_every_dlq_has_a_depth_alarm_to_the_stage_topic(template):
    queues = _resources(template, "AWS::SQS::Queue")
    dlqs = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"]
    }
    assert dlqs
    alarms = _resources(template, "AWS::CloudWatch::Alarm").values()
    for dlq in dlqs:
        mine = [
            a
            for a in alarms
            if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and dlq in references(a["Properties"]["Dimensions"])
        ]
        assert mine, dlq
        assert mine[0]["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_no_policy_grants_dynamodb_or_sqs_on_a_wildcard_resource(template):
    roles = _resources(template, "AWS::IAM::Role")
    assert roles
    for rid, role in roles.items():
        for policy in role["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                resources = (
                    statement["Resource"]
                    if isinstance(statement["Resource"], list)
                    else [statement["Resource"]]
                )
                if actions == ["dynamodb:ListStreams"]:
                    continue  # no resource-level permission exists for it; the stream reader needs it
                if any(a.startswith(("dynamodb:", "sqs:")) for a in actions):
                    assert all(isinstance(r, dict) for r in resources), (rid, resources)
                    assert "*" not in json.dumps(resources), (rid, resources)
                if "dynamodb:Scan" in actions:
                    # The one job whose work is every item: a segment's recompute, its profiles only.
                    assert actions == ["dynamodb:Scan"] and "SegmentJobs" in rid, (rid, actions)
                    assert "SegmentProfilesTable" in json.dumps(resources), resources
                    assert "SegmentsTable" not in json.dumps(resources), resources


def test_every_function_has_memory_timeout_and_the_worker_a_reservation(template):
    for rid, fn in _resources(template, "AWS::Serverless::Function").items():
        assert isinstance(fn["Properties"]["MemorySize"], int), rid
        assert isinstance(fn["Properties"]["Timeout"], int), rid
    assert template["Resources"]["NotificationWorker"]["Properties"]["ReservedConcurrentExecutions"] >= 1


def test_customer_tables_have_pitr_and_every_table_ttl(template):
    for rid, table in _resources(template, "AWS::DynamoDB::Table").items():
        props = table["Properties"]
        assert props["TimeToLiveSpecification"]["Enabled"], rid
        if rid != "IdempotencyTable" and rid != "StoresTable":
            assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], rid


def test_outputs_give_the_api_and_callback_urls(template):
    assert template["Outputs"]["CallbackURL"]["Value"]["Fn::Sub"].endswith("/api/wechat/callback")
    assert "EndpointURL" in template["Outputs"]


def test_api_gateways_own_answers_are_errors_in_our_shape(template):
    api = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses = api["x-amazon-apigateway-gateway-responses"]
    assert set(responses) == {"MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"}
    # An unknown route (API Gateway's bare 403 "Missing Authentication Token") is our 404
    unknown = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert unknown["statusCode"] == 404
    assert json.loads(unknown["responseTemplates"]["application/json"]) == {
        "error": "not_found",
        "message": "no such route",
    }
    # Its other refusals keep their status, with API Gateway's message (a quoted JSON string)
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        body = responses[kind]["responseTemplates"]["application/json"]
        rendered = json.loads(body.replace("$context.error.messageString", json.dumps('say "why"')))
        assert set(rendered) == {"error", "message"} and "statusCode" not in responses[kind]


def test_every_table_and_queue_a_function_can_reach_is_granted():
    """A function must never meet AccessDenied in AWS: what its code reaches is declared."""
    index = _data_index(yaml.safe_load(DATA_TEMPLATE.read_text()))
    declared = yaml.safe_load(ACCESS_FILE.read_text())["functions"]
    for name, reach in scan_app().items():
        tables, queues = classify(reach, set(index["tables"]), set(index["queues"]))
        grant = declared[name]
        granted = set(grant.get("read", [])) | set(grant.get("write", [])) | set(grant.get("send", []))
        granted |= set(grant.get("unused", []))
        assert tables | queues <= granted, f"{name} reaches {sorted((tables | queues) - granted)} undeclared"


def _mutated(template, change):
    t = copy.deepcopy(template)
    change(t)
    return problems(t)


def _first_schedule_event(t):
    for fn in t["Resources"].values():
        for event in (fn.get("Properties", {}).get("Events") or {}).values():
            if event["Type"] == "ScheduleV2":
                return event
    raise AssertionError("no schedule")


def _back_to_a_rule(event):
    event["Type"] = "Schedule"
    event["Properties"] = {"Schedule": event["Properties"]["ScheduleExpression"]}


def _stream_event(t):
    [event] = t["Resources"]["NotificationOutbox"]["Properties"]["Events"].values()
    return event


def _first_consumer_event(t):
    for fn in t["Resources"].values():
        for event in (fn.get("Properties", {}).get("Events") or {}).values():
            if event["Type"] == "SQS":
                return event
    raise AssertionError("no consumer")


@pytest.mark.parametrize(
    ("what", "change", "finding"),
    [
        (
            "partial batch response dropped",
            lambda t: _first_consumer_event(t)["Properties"].pop("FunctionResponseTypes"),
            "ReportBatchItemFailures",
        ),
        (
            "a schedule on an EventBridge rule (UTC)",
            lambda t: _back_to_a_rule(_first_schedule_event(t)),
            "reads its cron in UTC",
        ),
        (
            "a schedule without the business time zone",
            lambda t: _first_schedule_event(t)["Properties"].pop("ScheduleExpressionTimezone"),
            "TzBusiness",
        ),
        (
            "wildcard sqs grant",
            lambda t: t["Resources"]["APIHandlerRole"]["Properties"]["Policies"][0]["PolicyDocument"][
                "Statement"
            ].append({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}),
            "wildcard",
        ),
        (
            "environment points nowhere",
            lambda t: t["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"].update(
                X={"Ref": "NoSuchTable"}
            ),
            "NoSuchTable",
        ),
        (
            "a DLQ alarm removed",
            lambda t: t["Resources"].pop("NotificationsDeadLetterQueueDepthAlarm"),
            "depth alarm",
        ),
        (
            "memory size removed",
            lambda t: t["Resources"]["APIHandler"]["Properties"].pop("MemorySize"),
            "MemorySize",
        ),
        (
            "a secret in the environment",
            lambda t: t["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"].update(
                ADMIN_API_KEY="oops"
            ),
            "secrets in the Lambda environment",
        ),
        (
            "a stream batch dropped after some retries",
            lambda t: _stream_event(t)["Properties"].update(MaximumRetryAttempts=3),
            "MaximumRetryAttempts",
        ),
        (
            "a stream consumer without an iterator age alarm",
            lambda t: t["Resources"].pop("NotificationOutboxIteratorAgeAlarm"),
            "IteratorAge",
        ),
        (
            "a stream that is not one of ours",
            lambda t: _stream_event(t)["Properties"].update(Stream="arn:aws:dynamodb:x:1:table/t/stream/s"),
            "not a table stream",
        ),
        (
            "PITR off on customers",
            lambda t: t["Resources"]["CustomersTable"]["Properties"].pop("PointInTimeRecoverySpecification"),
            "point-in-time",
        ),
    ],
)
def test_the_checks_catch_each_kind_of_mistake(template, what, change, finding):
    found = _mutated(template, change)
    assert any(finding in f for f in found), (what, found)


def test_a_function_without_declared_access_fails_the_build(built):
    from infra.template import TemplateError, finalize

    sam = json.loads((built / "chalice" / "sam.json").read_text())
    access = yaml.safe_load(ACCESS_FILE.read_text())
    access["functions"].pop("notification_worker")
    with pytest.raises(TemplateError, match="notification_worker"):
        finalize(sam, yaml.safe_load(DATA_TEMPLATE.read_text()), access, app_function_names())


def test_a_stream_consumer_of_a_table_without_a_stream_fails_the_build(built):
    from infra.template import TemplateError, finalize

    sam = json.loads((built / "chalice" / "sam.json").read_text())
    data = yaml.safe_load(DATA_TEMPLATE.read_text())
    data["Resources"]["NotificationsTable"]["Properties"].pop("StreamSpecification")
    with pytest.raises(TemplateError, match="notification_outbox.*StreamSpecification"):
        finalize(sam, data, yaml.safe_load(ACCESS_FILE.read_text()), app_function_names())
