"""Creates every table and queue from infra/data.yaml through CloudFormation on the moto server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import boto3
import yaml

TEMPLATE = Path(__file__).resolve().parents[1] / "data.yaml"


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def provision(endpoint: str, prefix: str, stack_name: str | None = None) -> dict[str, Any]:
    """Create the data stack (idempotent) and return its outputs."""
    session = boto3.session.Session()
    cfn = session.client("cloudformation", endpoint_url=endpoint)
    stack_name = stack_name or f"{prefix}-data"
    existing = [
        s
        for s in cfn.list_stacks()["StackSummaries"]
        if s["StackName"] == stack_name and s["StackStatus"] != "DELETE_COMPLETE"
    ]
    if not existing:
        cfn.create_stack(
            StackName=stack_name,
            TemplateBody=TEMPLATE.read_text(),
            Parameters=[{"ParameterKey": "Prefix", "ParameterValue": prefix}],
        )
    status = ""
    for _ in range(300):
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status.endswith("_COMPLETE") or status.endswith("_FAILED"):
            break
        time.sleep(0.1)
    if status != "CREATE_COMPLETE":
        raise RuntimeError(f"data stack {stack_name} ended in {status}")
    _apply_ttl(session.client("dynamodb", endpoint_url=endpoint), prefix)
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _apply_ttl(dynamodb: Any, prefix: str) -> None:
    # moto's CloudFormation ignores TimeToLiveSpecification; apply it directly.
    for resource in load_template()["Resources"].values():
        props = resource.get("Properties", {})
        ttl = props.get("TimeToLiveSpecification")
        if resource["Type"] == "AWS::DynamoDB::Table" and ttl:
            name = props["TableName"]["Fn::Sub"].replace("${Prefix}", prefix)
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
