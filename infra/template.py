"""Builds the AWS template of a stage: Chalice's SAM template merged with infra/data.yaml,
then made production-ready.

`build(stage)` writes build/<stage>/: deployment.zip (app code only), layer.zip (dependencies,
infra/layer.py) and template.json. The steps after `chalice package --merge-template`:

- every function gets the dependency layer, an explicit name `<prefix>-<function>`, a log
  group with a retention, the stage's settings as environment variables (never a secret:
  those come from SSM at cold start, functions/core/secrets.py) and its own IAM role granting
  only what infra/access.yaml declares for it (tables and their indexes, queues to send to),
  the queue it consumes, and the stage's secret parameters;
- every SQS event source points at the data template's queue (Chalice writes an ARN from the
  literal `queue="<logical>"`; the real queue is `${Prefix}-<logical>`) and reports partial
  batch failures (`ReportBatchItemFailures`);
- every DynamoDB stream event source points at its table's stream (Chalice writes the literal
  `functions.core.streams.source("<table>")`; it becomes `Fn::GetAtt <Table>.StreamArn`), retries
  a failed batch until it goes through (halving it to isolate a bad record) and gets its
  function an alarm on the stream's iterator age, so that a relay that is stuck is seen long
  before the stream's 24 h retention;
- every schedule (Chalice writes an EventBridge rule, which reads cron in UTC) becomes an
  EventBridge Scheduler schedule (SAM `ScheduleV2`) named `${Prefix}-<function>`, its cron read
  in the stage's TzBusiness, delivering the same "Scheduled Event" the rule delivered;
- alarms on every DLQ's depth, every function's errors and throttles, and the notification
  failure rate, all sent to the stage's SNS topic;
- outputs: the API URL and the WeChat callback URL.

The functions, queues and consumers come from the app itself (Chalice's template), so a new
Blueprint needs only its line in infra/access.yaml.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA_TEMPLATE = ROOT / "infra" / "data.yaml"
ACCESS_FILE = ROOT / "infra" / "access.yaml"
STAGES_FILE = ROOT / "infra" / "stages.yaml"
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"
BUILD = ROOT / "build"
SECRETS_ROOT = "/wechat-retail"  # SSM path of a stage's secrets: /wechat-retail/<stage>/<NAME>

DYNAMODB_READ = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
]
# TransactWriteItems is authorised per item as Put/Update/Delete/ConditionCheck.
DYNAMODB_WRITE = [
    *DYNAMODB_READ,
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
]
SQS_SEND = ["sqs:SendMessage", "sqs:GetQueueUrl"]
SQS_CONSUME = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
]
# Redriving a dead-letter queue (functions/core/deadletters.py): read and delete on the DLQ,
# send on the queue it serves.
SQS_REDRIVE = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
STREAM_READ = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
]
# Lambda's stream poller also lists streams; ListStreams has no resource-level permission.
STREAM_LIST = ["dynamodb:ListStreams"]
# Only these stream records reach the function (Lambda event filtering): the outbox relay acts
# on new notification records alone, so the worker's own updates never invoke it.
STREAM_FILTERS: dict[str, dict[str, Any]] = {
    "notification_outbox": {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"sk": {"S": ["N"]}}}},
    # Segments follow customers' profiles only, not their touch rows.
    "segment_customer_events": {"dynamodb": {"NewImage": {"sk": {"S": ["PROFILE"]}}}},
}
STREAM_ITERATOR_AGE_ALARM_MS = 5 * 60 * 1000

# Non-secret settings, per stage: CloudFormation parameter -> (environment variable, default).
# Values per stage live in infra/stages.yaml.
SETTINGS_PARAMETERS: dict[str, tuple[str, str]] = {
    "WechatAppId": ("WECHAT_APP_ID", "wx-set-me-in-infra-stages-yaml"),
    "WechatApiBase": ("WECHAT_API_BASE", "https://api.weixin.qq.com"),
    "WechatMessageMode": ("WECHAT_MESSAGE_MODE", "compat"),
    "TemplateShipment": ("TEMPLATE_SHIPMENT", "set-me"),
    "TemplateBooking": ("TEMPLATE_BOOKING", "set-me"),
    "TemplateReminder": ("TEMPLATE_REMINDER", "set-me"),
    "TemplateCoupon": ("TEMPLATE_COUPON", "set-me"),
    "TemplateWarranty": ("TEMPLATE_WARRANTY", "set-me"),
    # JSON merged over infra/templates.yaml: a stage's own templates and channels (subscribe).
    "TemplatesOverride": ("TEMPLATES_OVERRIDE", ""),
    "TzBusiness": ("TZ_BUSINESS", "Asia/Shanghai"),
    "QuietHours": ("QUIET_HOURS", "21:00-09:00"),
    "BookingCutoff": ("BOOKING_CUTOFF", "18:00"),
    "H5BaseUrl": ("H5_BASE_URL", "https://h5.example.com"),
    "WechatOauthBase": ("WECHAT_OAUTH_BASE", "https://open.weixin.qq.com"),
    "WechatMpBase": ("WECHAT_MP_BASE", "https://mp.weixin.qq.com"),
    "TemplateReceipt": ("TEMPLATE_RECEIPT", "set-me"),
    "TemplateReferral": ("TEMPLATE_REFERRAL", "set-me"),
    "PointsPerYuan": ("POINTS_PER_YUAN", "1"),
    "ReferralPoints": ("REFERRAL_POINTS", "100"),
}
OPERATIONS_PARAMETERS: dict[str, dict[str, Any]] = {
    "Stage": {"Type": "String", "AllowedPattern": "[a-z0-9]+", "Description": "Deployment stage"},
    "AlarmEmail": {
        "Type": "String",
        "Default": "",
        "Description": "Optional e-mail subscribed to the stage's alarm topic",
    },
    "LogRetentionDays": {
        "Type": "Number",
        "Default": 30,
        "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 180, 365],
        "Description": "Days CloudWatch keeps each function's logs",
    },
    "NotificationFailureRateThreshold": {
        "Type": "Number",
        "Default": 10,
        "Description": "Alarm when more than this percentage of notifications fail in 15 minutes",
    },
}
# The notification worker's log lines that count for the failure-rate alarm: one line per
# final outcome containing `notification_outcome=sent` or `notification_outcome=failed`
# (INFO or above; the functions log JSON at INFO, see LoggingConfig below).
NOTIFICATION_OUTCOME_FILTERS = {
    "NotificationsSent": '"notification_outcome=sent"',
    "NotificationsFailed": '"notification_outcome=failed"',
}
# Structured logs at INFO: the runtime sets the root logger's level (Python's default,
# WARNING, would drop every log.info) and writes JSON lines with the request id.
LOGGING_CONFIG = {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN"}
METRIC_NAMESPACE = "WechatRetail"
NOTIFICATIONS_QUEUE = "notifications"
# What a schedule passes to its function: the EventBridge "Scheduled Event" a rule would send,
# which Chalice's CloudWatchEvent needs (every key) and the handlers read (`detail`). Scheduler
# fills the <aws.scheduler.*> context attributes at each invocation.
SCHEDULED_EVENT_INPUT = json.dumps(
    {
        "version": "0",
        "id": "<aws.scheduler.execution-id>",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "${AWS::AccountId}",
        "time": "<aws.scheduler.scheduled-time>",
        "region": "${AWS::Region}",
        "resources": ["<aws.scheduler.schedule-arn>"],
        "detail": {},
    }
)


class TemplateError(ValueError):
    """The app, access map and data template disagree: a deploy would be broken or over-broad."""


# ---------------------------------------------------------------- inputs


def load_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


def chalice_config() -> dict[str, Any]:
    return json.loads(CHALICE_CONFIG.read_text())


def stage_parameters(stage: str) -> dict[str, str]:
    """CloudFormation parameter values of a stage (infra/stages.yaml defaults + the stage)."""
    stages = load_yaml(STAGES_FILE)
    values = {**(stages.get("defaults") or {}), **(stages.get(stage) or {})}
    values = {k: str(v) for k, v in values.items()}
    values["Stage"] = stage
    values["Prefix"] = values.get("Prefix", f"wx-{stage}")
    return values


def cfn_name(function: str) -> str:
    """Chalice's logical id of a function (`api_handler` is the API's)."""
    from chalice.utils import to_cfn_resource_name

    return "APIHandler" if function == "api_handler" else to_cfn_resource_name(function)


# ---------------------------------------------------------------- chalice package


def chalice_package(stage: str, out: Path) -> Path:
    """`chalice package --merge-template` of the app code alone (no dependencies: the layer
    holds them), from a staged copy of the project whose requirements.txt is empty."""
    project = out.parent / f"{out.name}-project"
    (project / ".chalice").mkdir(parents=True, exist_ok=True)
    config = chalice_config()
    config["automatic_layer"] = False
    (project / ".chalice" / "config.json").write_text(json.dumps(config, indent=2))
    (project / "requirements.txt").write_text("# dependencies ship in the layer (layers/)\n")
    shutil.copy2(ROOT / "app.py", project / "app.py")
    if (project / "chalicelib").is_dir() and not (project / "chalicelib").is_symlink():
        shutil.rmtree(project / "chalicelib")  # a previous run's copy (below)
    for name in ("vendor", "functions", "chalicelib"):
        link = project / name
        if link.is_symlink() or link.exists():
            link.unlink()
        if (ROOT / name).exists():
            link.symlink_to(ROOT / name, target_is_directory=True)
    # The message templates' configuration travels with the code (functions/notifications/templates.py
    # reads it from chalicelib/ when infra/ is not there, as in Lambda).
    (project / "chalicelib").mkdir(exist_ok=True)
    shutil.copy2(ROOT / "infra" / "templates.yaml", project / "chalicelib" / "templates.yaml")
    merge = project / "data.json"  # JSON, so that Chalice writes sam.json
    merge.write_text(json.dumps(load_yaml(DATA_TEMPLATE)))
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    env.pop("SECRETS_SSM_PATH", None)
    subprocess.run(
        [str(Path(sys.executable).parent / "chalice"), "package", "--stage", stage]
        + ["--merge-template", str(merge), str(out)],
        cwd=project,
        check=True,
        stdout=sys.stderr,
        env=env,
    )
    return out


# ---------------------------------------------------------------- post-processing


def _data_index(data: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Logical names -> resource ids: tables, queues (by `${Prefix}-<logical>`) and DLQs."""
    tables: dict[str, str] = {}
    queues: dict[str, str] = {}
    dlqs: dict[str, str] = {}
    for rid, resource in data["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::DynamoDB::Table":
            tables[_logical(props["TableName"])] = rid
        elif resource["Type"] == "AWS::SQS::Queue":
            queues[_logical(props["QueueName"])] = rid
            redrive = props.get("RedrivePolicy")
            if redrive:
                dlqs[rid] = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
    return {"tables": tables, "queues": queues, "dlqs": dlqs}


def _logical(name: Any) -> str:
    text = name["Fn::Sub"] if isinstance(name, dict) else name
    if not isinstance(text, str) or not text.startswith("${Prefix}-"):
        raise TemplateError(f"data resource name {name!r} is not `${{Prefix}}-<logical>`")
    return text[len("${Prefix}-") :]


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rid: r for rid, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def _consumed_queue(event: dict[str, Any]) -> str:
    """The logical queue name of a Chalice SQS event (its ARN ends with `:<queue>`)."""
    queue = event["Properties"]["Queue"]
    text = queue["Fn::Sub"] if isinstance(queue, dict) and "Fn::Sub" in queue else queue
    if not isinstance(text, str):
        raise TemplateError(f"unexpected SQS event source {queue!r}")
    return text.rsplit(":", 1)[-1]


def _streamed_table(
    event: dict[str, Any], name: str, index: dict[str, dict[str, str]], data: dict[str, Any]
) -> str:
    """The data template's table whose stream a Chalice DynamoDB event declares."""
    from functions.core import streams

    declared = event["Properties"]["Stream"]
    logical = streams.table_of(declared) if isinstance(declared, str) else None
    if logical is None:
        raise TemplateError(
            f"{name} reads stream {declared!r}: declare it as functions.core.streams.source(<table>)"
        )
    if logical not in index["tables"]:
        raise TemplateError(f"{name} reads the stream of table {logical!r}, which infra/data.yaml lacks")
    table_id = index["tables"][logical]
    if not data["Resources"][table_id]["Properties"].get("StreamSpecification"):
        raise TemplateError(f"{name} reads the stream of {logical!r}, which has no StreamSpecification")
    return table_id


def finalize(
    template: dict[str, Any],
    data: dict[str, Any],
    access: dict[str, Any],
    function_names: list[str],
    api_stage: str = "api",
) -> dict[str, Any]:
    """The production template from Chalice's merged one. Pure: returns a new dict."""
    t = copy.deepcopy(template)
    res = t["Resources"]
    index = _data_index(data)
    functions = _functions(t)
    names = {cfn_name(n): n for n in function_names}
    declared = access.get("functions") or {}

    unknown = sorted(set(functions) - set(names))
    if unknown:
        raise TemplateError(f"functions without a known name: {unknown}")
    undeclared = sorted(names[f] for f in functions if names[f] not in declared)
    if undeclared:
        raise TemplateError(
            f"no entry in infra/access.yaml for {undeclared}: declare the tables and queues each uses"
        )

    t["Description"] = "WeChat retail back end: API, queue consumers, schedules, data, alarms."
    params = t.setdefault("Parameters", {})
    for name, spec in OPERATIONS_PARAMETERS.items():
        params[name] = copy.deepcopy(spec)
    for name, (variable, default) in SETTINGS_PARAMETERS.items():
        params[name] = {"Type": "String", "Default": default, "Description": f"{variable} of the stage"}
    t.setdefault("Conditions", {})["HasAlarmEmail"] = {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }

    # Chalice's layer (if any) and its one shared role (sqs:* on "*") make way for ours.
    for rid in [
        r for r, v in res.items() if v["Type"] in ("AWS::IAM::Role", "AWS::Serverless::LayerVersion")
    ]:
        del res[rid]
    res["DependenciesLayer"] = {
        "Type": "AWS::Serverless::LayerVersion",
        "Properties": {
            "LayerName": {"Fn::Sub": "${Prefix}-dependencies"},
            "Description": "requirements.txt built for manylinux2014_x86_64 / python3.11 (layers/)",
            "ContentUri": "./layer.zip",
            "CompatibleRuntimes": ["python3.11"],
            "CompatibleArchitectures": ["x86_64"],
            "RetentionPolicy": "Retain",
        },
    }
    res["AlarmTopic"] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": {"Fn::Sub": "${Prefix}-alarms"}},
    }
    res["AlarmEmailSubscription"] = {
        "Type": "AWS::SNS::Subscription",
        "Condition": "HasAlarmEmail",
        "Properties": {
            "TopicArn": {"Ref": "AlarmTopic"},
            "Protocol": "email",
            "Endpoint": {"Ref": "AlarmEmail"},
        },
    }

    environment = {"RESOURCE_PREFIX": {"Ref": "Prefix"}, "SECRETS_SSM_PATH": _secrets_path()}
    environment.update({variable: {"Ref": p} for p, (variable, _) in SETTINGS_PARAMETERS.items()})

    for rid, fn in functions.items():
        name = names[rid]
        props = fn["Properties"]
        props["FunctionName"] = {"Fn::Sub": f"${{Prefix}}-{name}"}
        props["Layers"] = [{"Ref": "DependenciesLayer"}]
        variables = props.setdefault("Environment", {}).setdefault("Variables", {})
        variables.update(copy.deepcopy(environment))
        props["Role"] = {"Fn::GetAtt": [f"{rid}Role", "Arn"]}
        # The Ref also makes CloudFormation create the group (with its retention) first.
        props["LoggingConfig"] = {**LOGGING_CONFIG, "LogGroup": {"Ref": f"{rid}LogGroup"}}
        res[f"{rid}LogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": f"/aws/lambda/${{Prefix}}-{name}"},
                "RetentionInDays": {"Ref": "LogRetentionDays"},
            },
        }
        consumed = []
        streamed = []
        for event in (props.get("Events") or {}).values():
            if event["Type"] == "Schedule":
                _business_time_schedule(event, name)
                continue
            if event["Type"] == "DynamoDB":
                table_id = _streamed_table(event, name, index, data)
                streamed.append(table_id)
                eprops = event["Properties"]
                eprops["Stream"] = {"Fn::GetAtt": [table_id, "StreamArn"]}
                # Never drop a record: retry until it goes through (the IteratorAge alarm says
                # when that takes long), halving a failing batch to find a record that fails alone.
                eprops["MaximumRetryAttempts"] = -1
                eprops["BisectBatchOnFunctionError"] = True
                if name in STREAM_FILTERS:
                    eprops["FilterCriteria"] = {"Filters": [{"Pattern": json.dumps(STREAM_FILTERS[name])}]}
                continue
            if event["Type"] != "SQS":
                continue
            logical = _consumed_queue(event)
            if logical not in index["queues"]:
                raise TemplateError(f"{name} consumes queue {logical!r}, which infra/data.yaml lacks")
            queue_id = index["queues"][logical]
            consumed.append(queue_id)
            event["Properties"]["Queue"] = {"Fn::GetAtt": [queue_id, "Arn"]}
            event["Properties"]["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
            reserved = props.get("ReservedConcurrentExecutions")
            if reserved:  # the poller stays under the reservation instead of being throttled
                event["Properties"]["ScalingConfig"] = {"MaximumConcurrency": max(2, int(reserved))}
            visibility = data["Resources"][queue_id]["Properties"].get("VisibilityTimeout", 30)
            if int(props.get("Timeout", 3)) > int(visibility):
                raise TemplateError(
                    f"{name} times out after {props.get('Timeout')} s but {logical}'s visibility "
                    f"timeout is {visibility} s: a message would be delivered twice at once"
                )
        res[f"{rid}Role"] = _role(
            rid, name, declared[name], consumed, index, data, "VpcConfig" in props, streamed
        )

    _alarms(res, functions, names, index)
    if "RestAPI" in res:
        body = res["RestAPI"]["Properties"]["DefinitionBody"]
        body["x-amazon-apigateway-gateway-responses"] = _gateway_responses()
    outputs = t.setdefault("Outputs", {})
    if "RestAPI" in res:
        base = f"https://${{RestAPI}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{api_stage}"
        outputs["EndpointURL"] = {"Value": {"Fn::Sub": f"{base}/"}, "Description": "API base URL"}
        outputs["CallbackURL"] = {
            "Value": {"Fn::Sub": f"{base}/wechat/callback"},
            "Description": "Server URL to paste into the WeChat admin console",
        }
    outputs["AlarmTopicArn"] = {"Value": {"Ref": "AlarmTopic"}}
    outputs["SecretsPath"] = {"Value": _secrets_path()}
    return t


def _gateway_responses() -> dict[str, Any]:
    """API Gateway's own answers in our {"error", "message"} shape (CONTRACT §1), in the API's
    definition (as separate resources they would drift when the definition is deployed). A method
    and path no route declares reaches no function: API Gateway answers it
    MISSING_AUTHENTICATION_TOKEN (a bare 403), which becomes our 404 not_found; its other refusals
    keep their status."""
    from functions.core.http import NO_SUCH_ROUTE  # noqa: PLC0415 - the app's code, when building

    message = "$context.error.messageString"  # API Gateway's message, already a quoted JSON string
    json_header = {"gatewayresponse.header.Content-Type": "'application/json'"}
    return {
        "MISSING_AUTHENTICATION_TOKEN": {
            "statusCode": 404,
            "responseParameters": json_header,
            "responseTemplates": {"application/json": json.dumps(NO_SUCH_ROUTE)},
        },
        "DEFAULT_4XX": {
            "responseParameters": json_header,
            "responseTemplates": {
                "application/json": f'{{"error": "request_refused", "message": {message}}}'
            },
        },
        "DEFAULT_5XX": {
            "responseParameters": json_header,
            "responseTemplates": {"application/json": f'{{"error": "gateway_error", "message": {message}}}'},
        },
    }


def _business_time_schedule(event: dict[str, Any], name: str) -> None:
    """Chalice's `Schedule` event (an EventBridge rule: cron in UTC) -> `ScheduleV2` (an
    EventBridge Scheduler schedule, cron in the stage's TZ_BUSINESS; DST handled by AWS). SAM
    gives it its own role allowed to invoke only this function."""
    chalice_props = event["Properties"]
    props: dict[str, Any] = {
        # Scheduler names are unique per account and region: one per stage and function.
        "Name": {"Fn::Sub": f"${{Prefix}}-{name}"},
        "ScheduleExpression": chalice_props["Schedule"],
        "ScheduleExpressionTimezone": {"Ref": "TzBusiness"},
        "Input": {"Fn::Sub": SCHEDULED_EVENT_INPUT},
    }
    if chalice_props.get("Description"):
        props["Description"] = chalice_props["Description"]
    event["Type"] = "ScheduleV2"
    event["Properties"] = props


def _secrets_path() -> dict[str, Any]:
    return {"Fn::Sub": f"{SECRETS_ROOT}/${{Stage}}"}


def _role(
    rid: str,
    name: str,
    grants: dict[str, Any],
    consumed: list[str],
    index: dict[str, dict[str, str]],
    data: dict[str, Any],
    vpc: bool = False,
    streamed: list[str] | None = None,
) -> dict[str, Any]:
    from functions.core.secrets import SECRET_NAMES

    grants = grants or {}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "OwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {"Fn::GetAtt": [f"{rid}LogGroup", "Arn"]},
        },
        {
            "Sid": "StageSecrets",
            "Effect": "Allow",
            "Action": ["ssm:GetParameters", "ssm:GetParameter"],
            "Resource": [
                {
                    "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
                    f"{SECRETS_ROOT}/${{Stage}}/{secret}"
                }
                for secret in SECRET_NAMES
            ],
        },
    ]
    if vpc:  # ENIs in the stage's subnets (fixed egress IP for WeChat's whitelist); EC2 needs "*"
        statements.append(
            {
                "Sid": "VpcNetworkInterfaces",
                "Effect": "Allow",
                "Action": [
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                "Resource": "*",
            }
        )
    write = set(grants.get("write") or [])
    read = set(grants.get("read") or []) - write
    for sid, tables, actions in (("ReadTables", read, DYNAMODB_READ), ("WriteTables", write, DYNAMODB_WRITE)):
        if tables:
            statements.append(
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Action": actions,
                    "Resource": [
                        arn for table in sorted(tables) for arn in _table_arns(table, index, data, name)
                    ],
                }
            )
    # A parallel Scan, for the one job whose work is every item (a segment's full recompute).
    scanned = set(grants.get("scan") or [])
    if scanned:
        statements.append(
            {
                "Sid": "ScanTables",
                "Effect": "Allow",
                "Action": ["dynamodb:Scan"],
                "Resource": [
                    arn for table in sorted(scanned) for arn in _table_arns(table, index, data, name)
                ],
            }
        )
    send = sorted(set(grants.get("send") or []))
    for queue in send:
        if queue not in index["queues"]:
            raise TemplateError(f"infra/access.yaml: {name} sends to unknown queue {queue!r}")
    if send:
        statements.append(
            {
                "Sid": "SendToQueues",
                "Effect": "Allow",
                "Action": SQS_SEND,
                "Resource": [{"Fn::GetAtt": [index["queues"][q], "Arn"]} for q in send],
            }
        )
    redrive = sorted(set(grants.get("redrive") or []))
    if redrive:
        sources = {dlq_rid: source_rid for source_rid, dlq_rid in index["dlqs"].items()}
        dlq_rids = []
        for queue in redrive:
            rid_of = index["queues"].get(queue)
            if rid_of not in sources:
                raise TemplateError(
                    f"infra/access.yaml: {name} redrives {queue!r}, which is no dead-letter queue"
                )
            dlq_rids.append(rid_of)
        statements.append(
            {
                "Sid": "RedriveDeadLetters",
                "Effect": "Allow",
                "Action": SQS_REDRIVE,
                "Resource": [{"Fn::GetAtt": [rid_of, "Arn"]} for rid_of in dlq_rids],
            }
        )
        statements.append(
            {
                "Sid": "RedriveToSources",
                "Effect": "Allow",
                "Action": SQS_SEND,
                "Resource": [{"Fn::GetAtt": [sources[rid_of], "Arn"]} for rid_of in dlq_rids],
            }
        )
    if consumed:
        statements.append(
            {
                "Sid": "ConsumeQueue",
                "Effect": "Allow",
                "Action": SQS_CONSUME,
                "Resource": [{"Fn::GetAtt": [q, "Arn"]} for q in consumed],
            }
        )
    if streamed:
        statements.append(
            {
                "Sid": "ReadStream",
                "Effect": "Allow",
                "Action": STREAM_READ,
                "Resource": [{"Fn::GetAtt": [t, "StreamArn"]} for t in streamed],
            }
        )
        statements.append({"Sid": "ListStreams", "Effect": "Allow", "Action": STREAM_LIST, "Resource": "*"})
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": f"Least privilege for {name} (infra/access.yaml)",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": f"{rid}Access",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
        },
    }


def _table_arns(table: str, index: dict[str, dict[str, str]], data: dict[str, Any], name: str) -> list:
    if table not in index["tables"]:
        raise TemplateError(f"infra/access.yaml: {name} uses unknown table {table!r}")
    rid = index["tables"][table]
    gsis = data["Resources"][rid]["Properties"].get("GlobalSecondaryIndexes") or []
    return [{"Fn::GetAtt": [rid, "Arn"]}] + [
        {"Fn::Sub": f"${{{rid}.Arn}}/index/{gsi['IndexName']}"} for gsi in gsis
    ]


def _alarm(description: str, **props: Any) -> dict[str, Any]:
    base = {
        "AlarmDescription": description,
        "AlarmActions": [{"Ref": "AlarmTopic"}],
        "OKActions": [{"Ref": "AlarmTopic"}],
        "TreatMissingData": "notBreaching",
    }
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {**base, **props}}


def _alarms(
    res: dict[str, Any],
    functions: dict[str, dict[str, Any]],
    names: dict[str, str],
    index: dict[str, dict[str, str]],
) -> None:
    for dlq in sorted(set(index["dlqs"].values())):
        res[f"{dlq}DepthAlarm"] = _alarm(
            f"Messages in {dlq}: deliveries failed repeatedly; inspect and redrive",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}],
            Statistic="Maximum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    for rid in sorted(functions):
        for metric in ("Errors", "Throttles"):
            res[f"{rid}{metric}Alarm"] = _alarm(
                f"{names[rid]}: {metric.lower()} in the last 5 minutes",
                Namespace="AWS/Lambda",
                MetricName=metric,
                Dimensions=[{"Name": "FunctionName", "Value": {"Ref": rid}}],
                Statistic="Sum",
                Period=300,
                EvaluationPeriods=1,
                Threshold=1,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
            )
    for rid in sorted(functions):
        events = (functions[rid]["Properties"].get("Events") or {}).values()
        if any(event["Type"] == "DynamoDB" for event in events):
            res[f"{rid}IteratorAgeAlarm"] = _alarm(
                f"{names[rid]}: its oldest unread stream record is over 5 minutes old; records "
                "older than the stream's 24 h retention are lost",
                Namespace="AWS/Lambda",
                MetricName="IteratorAge",
                Dimensions=[{"Name": "FunctionName", "Value": {"Ref": rid}}],
                Statistic="Maximum",
                Period=60,
                EvaluationPeriods=5,
                Threshold=STREAM_ITERATOR_AGE_ALARM_MS,
                ComparisonOperator="GreaterThanThreshold",
            )
    worker = _notification_worker(functions, index)
    if worker is None:
        return
    for metric, pattern in NOTIFICATION_OUTCOME_FILTERS.items():
        res[f"{metric}MetricFilter"] = {
            "Type": "AWS::Logs::MetricFilter",
            "Properties": {
                "LogGroupName": {"Ref": f"{worker}LogGroup"},
                "FilterPattern": pattern,
                "MetricTransformations": [
                    {
                        "MetricNamespace": {"Fn::Sub": f"{METRIC_NAMESPACE}/${{Prefix}}"},
                        "MetricName": metric,
                        "MetricValue": "1",
                        "DefaultValue": 0,
                    }
                ],
            },
        }

    def stat(metric_id: str, metric: str) -> dict[str, Any]:
        return {
            "Id": metric_id,
            "ReturnData": False,
            "MetricStat": {
                "Metric": {"Namespace": {"Fn::Sub": f"{METRIC_NAMESPACE}/${{Prefix}}"}, "MetricName": metric},
                "Period": 900,
                "Stat": "Sum",
            },
        }

    res["NotificationFailureRateAlarm"] = _alarm(
        "More than NotificationFailureRateThreshold % of notifications failed in 15 minutes "
        "(at least 10 attempts): token, quota (45009) or template problems",
        Metrics=[
            stat("sent", "NotificationsSent"),
            stat("failed", "NotificationsFailed"),
            {
                "Id": "rate",
                "Label": "failure rate %",
                "ReturnData": True,
                # Below 10 attempts a single failure is noise: report 0 then.
                "Expression": "IF((sent + failed) >= 10, 100 * failed / (sent + failed), 0)",
            },
        ],
        EvaluationPeriods=1,
        Threshold={"Ref": "NotificationFailureRateThreshold"},
        ComparisonOperator="GreaterThanThreshold",
    )


def _notification_worker(
    functions: dict[str, dict[str, Any]], index: dict[str, dict[str, str]]
) -> str | None:
    """The function consuming the notifications queue (after its event was rewritten)."""
    queue_id = index["queues"].get(NOTIFICATIONS_QUEUE)
    for rid, fn in functions.items():
        for event in (fn["Properties"].get("Events") or {}).values():
            if event["Type"] == "SQS" and event["Properties"]["Queue"] == {"Fn::GetAtt": [queue_id, "Arn"]}:
                return rid
    return None


# ---------------------------------------------------------------- the app's function names


def app_function_names() -> list[str]:
    """Every Lambda function the Chalice app defines, by its Chalice name."""
    sys.path.insert(0, str(ROOT))
    from chalice.app import Chalice

    import app as app_module  # noqa: PLC0415 - the app is imported only when building

    app: Chalice = app_module.app
    names = [source.name for source in app.event_sources]
    names += [fn.name for fn in app.pure_lambda_functions]
    if app.routes or app.websocket_handlers:
        names.append("api_handler")
    return sorted(set(names))


def build_artifacts(stage: str, out: Path) -> Path:
    """deployment.zip (app code) and layer.zip (dependencies) in `out`; Chalice's template in
    out/chalice/sam.json. Returns out/chalice."""
    from infra.bytecode import precompile
    from infra.layer import build_layer

    out.mkdir(parents=True, exist_ok=True)
    package_dir = chalice_package(stage, out / "chalice")
    shutil.copy2(package_dir / "deployment.zip", out / "deployment.zip")
    precompile(out / "deployment.zip")
    shutil.copy2(build_layer(), out / "layer.zip")
    return package_dir


def build(stage: str, out: Path | None = None) -> Path:
    """Everything a deploy uploads, in build/<stage>/: deployment.zip, layer.zip, template.json."""
    out = out or BUILD / stage
    package_dir = build_artifacts(stage, out)
    sam = json.loads((package_dir / "sam.json").read_text())
    api_stage = chalice_config()["stages"].get(stage, {}).get("api_gateway_stage", "api")
    final = finalize(sam, load_yaml(DATA_TEMPLATE), load_yaml(ACCESS_FILE), app_function_names(), api_stage)
    (out / "template.json").write_text(json.dumps(final, indent=1, sort_keys=False))
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Build a stage's artifacts and template into build/<stage>/")
    parser.add_argument("stage")
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--artifacts-only", action="store_true", help="the zips, not the final template")
    args = parser.parse_args(argv)
    out = args.out or BUILD / args.stage
    if args.artifacts_only:
        build_artifacts(args.stage, out)
        print(out)
    else:
        print(build(args.stage, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
