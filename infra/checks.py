"""Structural checks over the built template: what must hold before anything reaches AWS.

`problems(template)` returns human-readable findings (empty = fine). infra/deploy refuses to
deploy a template with findings, and tests/infra asserts there are none.
"""

from __future__ import annotations

import re
from typing import Any

from functions.core.secrets import SECRET_NAMES

PSEUDO = {
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
}
# Tables whose rows are customers' data: point-in-time recovery is required.
CUSTOMER_DATA_TABLES = {"customers", "notifications", "orders", "bookings", "coupons", "reminders"}
NOTIFICATIONS_QUEUE = "notifications"
SERVICES_WITHOUT_WILDCARD = ("dynamodb", "sqs")
# Actions that IAM cannot scope to a resource: allowed on "*" when a statement holds only them.
ACTIONS_WITHOUT_RESOURCES = {"dynamodb:liststreams"}


def references(node: Any) -> set[str]:
    """Every resource or parameter name a Ref, Fn::GetAtt or Fn::Sub in `node` points at."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text, variables = (value[0], value[1]) if isinstance(value, list) else (value, {})
                for name in re.findall(r"\$\{([^}!]+)\}", text):
                    if name.split(".")[0] not in variables:
                        found.add(name.split(".")[0])
                found |= references(variables)
            else:
                found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def _unresolved(node: Any, template: dict[str, Any]) -> set[str]:
    known = set(template.get("Resources", {})) | set(template.get("Parameters", {})) | PSEUDO
    return {r for r in references(node) if r not in known}


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {rid: r for rid, r in template["Resources"].items() if r["Type"] == kind}


def _logical_name(name: Any) -> str:
    text = name.get("Fn::Sub", "") if isinstance(name, dict) else str(name)
    return text.replace("${Prefix}-", "")


def _statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for rid, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [props.get("PolicyDocument", {})]
        elif resource["Type"] == "AWS::Serverless::Function":
            policies = props.get("Policies") or []
            policies = policies if isinstance(policies, list) else [policies]
            documents = [p for p in policies if isinstance(p, dict) and "Statement" in p]
        for document in documents:
            statements = document.get("Statement", [])
            for statement in statements if isinstance(statements, list) else [statements]:
                found.append((rid, statement))
    return found


def _wildcard_findings(template: dict[str, Any]) -> list[str]:
    findings = []
    for rid, statement in _statements(template):
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        if actions and all(str(a).lower() in ACTIONS_WITHOUT_RESOURCES for a in actions):
            continue
        services = {str(a).split(":")[0].lower() for a in actions} | ({"*"} if "*" in actions else set())
        wild = [r for r in resources if isinstance(r, str) and ("*" in r.split(":")[-1] or r == "*")]
        for service in SERVICES_WITHOUT_WILDCARD:
            if (service in services or "*" in services) and wild:
                findings.append(f"{rid}: {service} actions on wildcard resource {wild}")
        if any(str(a).lower() in ("dynamodb:*", "sqs:*", "*") for a in actions):
            findings.append(f"{rid}: wildcard action {actions}")
    return findings


def _stream_findings(
    where: str, props: dict[str, Any], tables: dict[str, dict[str, Any]], alarmed: set[str]
) -> list[str]:
    """A stream consumer reads a table's stream of this template, never drops a record, and
    someone hears when it falls behind."""
    found = []
    stream = props.get("Stream")
    target = stream.get("Fn::GetAtt") if isinstance(stream, dict) else None
    if not (isinstance(target, list) and target[0] in tables and target[1] == "StreamArn"):
        found.append(f"{where}: reads {stream!r}, not a table stream of this template")
    elif not tables[target[0]]["Properties"].get("StreamSpecification"):
        found.append(f"{where}: table {target[0]} has no StreamSpecification")
    if props.get("MaximumRetryAttempts") != -1:
        found.append(f"{where}: a failing batch would be dropped after MaximumRetryAttempts")
    if "IteratorAge" not in alarmed:
        found.append(f"{where}: no IteratorAge alarm")
    return found


def problems(template: dict[str, Any]) -> list[str]:
    found: list[str] = []
    res = template["Resources"]
    functions = _of_type(template, "AWS::Serverless::Function")
    queues = _of_type(template, "AWS::SQS::Queue")
    tables = _of_type(template, "AWS::DynamoDB::Table")
    alarms = _of_type(template, "AWS::CloudWatch::Alarm")
    dlqs = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if q["Properties"].get("RedrivePolicy")
    }

    missing = _unresolved(template.get("Resources"), template) | _unresolved(
        template.get("Outputs"), template
    )
    if missing:
        found.append(f"references to nothing: {sorted(missing)}")

    alarmed: dict[str, set[str]] = {}
    for alarm in alarms.values():
        props = alarm["Properties"]
        for dimension in props.get("Dimensions", []):
            for target in references(dimension.get("Value")):
                alarmed.setdefault(target, set()).add(props.get("MetricName", ""))

    for rid, fn in functions.items():
        props = fn["Properties"]
        for key in ("MemorySize", "Timeout"):
            if not isinstance(props.get(key), int):
                found.append(f"{rid}: no {key}")
        variables = (props.get("Environment") or {}).get("Variables") or {}
        unresolved = _unresolved(variables, template)
        if unresolved:
            found.append(f"{rid}: environment refers to missing {sorted(unresolved)}")
        leaked = sorted(set(variables) & set(SECRET_NAMES))
        if leaked:
            found.append(f"{rid}: secrets in the Lambda environment: {leaked}")
        if "SECRETS_SSM_PATH" not in variables:
            found.append(f"{rid}: no SECRETS_SSM_PATH, so it would run on sandbox secrets")
        role = props.get("Role")
        if not (isinstance(role, dict) and role.get("Fn::GetAtt", [None])[0] in res):
            found.append(f"{rid}: no role of its own")
        for metric in ("Errors", "Throttles"):
            if metric not in alarmed.get(rid, set()):
                found.append(f"{rid}: no {metric} alarm")
        for ename, event in (props.get("Events") or {}).items():
            if event["Type"] == "Schedule":
                found.append(f"{rid}.{ename}: an EventBridge rule reads its cron in UTC, not TZ_BUSINESS")
            zone = event.get("Properties", {}).get("ScheduleExpressionTimezone")
            if event["Type"] == "ScheduleV2" and zone != {"Ref": "TzBusiness"}:
                found.append(f"{rid}.{ename}: schedule not in the stage's TzBusiness")
            if event["Type"] == "DynamoDB":
                found += _stream_findings(
                    f"{rid}.{ename}", event["Properties"], tables, alarmed.get(rid, set())
                )
            if event["Type"] != "SQS":
                continue
            eprops = event["Properties"]
            if "ReportBatchItemFailures" not in (eprops.get("FunctionResponseTypes") or []):
                found.append(f"{rid}.{ename}: no ReportBatchItemFailures")
            queue = eprops.get("Queue")
            queue_id = queue.get("Fn::GetAtt", [None])[0] if isinstance(queue, dict) else None
            if queue_id not in queues:
                found.append(f"{rid}.{ename}: consumes {queue!r}, not a queue of this template")
                continue
            qprops = queues[queue_id]["Properties"]
            if not qprops.get("RedrivePolicy"):
                found.append(f"{rid}.{ename}: queue {queue_id} has no DLQ")
            if int(props.get("Timeout", 3)) > int(qprops.get("VisibilityTimeout", 30)):
                found.append(f"{rid}: Timeout exceeds {queue_id}'s VisibilityTimeout")
            if _logical_name(qprops["QueueName"]) == NOTIFICATIONS_QUEUE and not props.get(
                "ReservedConcurrentExecutions"
            ):
                found.append(f"{rid}: the notification worker has no reserved concurrency")

    for qid, queue in queues.items():
        if qid not in dlqs and not queue["Properties"].get("RedrivePolicy"):
            found.append(f"{qid}: no DLQ")
    for dlq in sorted(dlqs):
        if "ApproximateNumberOfMessagesVisible" not in alarmed.get(dlq, set()):
            found.append(f"{dlq}: no depth alarm")

    for tid, table in tables.items():
        props = table["Properties"]
        logical = _logical_name(props["TableName"])
        if not (props.get("TimeToLiveSpecification") or {}).get("Enabled"):
            found.append(f"{tid}: no TTL")
        pitr = (props.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
        if logical in CUSTOMER_DATA_TABLES and not pitr:
            found.append(f"{tid}: customer data without point-in-time recovery")
        if table.get("DeletionPolicy") != "Retain":
            found.append(f"{tid}: not retained when the stack goes")

    for alarm_id, alarm in alarms.items():
        if not alarm["Properties"].get("AlarmActions"):
            found.append(f"{alarm_id}: alarm notifies nobody")
    if not any("NotificationsFailed" in str(a) for a in alarms.values()) and any(
        _logical_name(q["Properties"]["QueueName"]) == NOTIFICATIONS_QUEUE for q in queues.values()
    ):
        found.append("no notification failure-rate alarm")

    found += _wildcard_findings(template)
    return found
