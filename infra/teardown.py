"""infra/teardown <stage> [--delete-data --yes]: remove a stage from AWS.

By default the data stays: the stack is updated to infra/data.yaml alone, so every function,
the API, the roles, alarms and log groups go, while the tables and queues remain in the same
stack - a later `infra/deploy <stage>` brings the rest back over the same data. A stage torn
down this way costs only its stored data.

`--delete-data` deletes the stack and then the tables (they are `DeletionPolicy: Retain`, so
CloudFormation leaves them): every customer record of the stage is gone for good. It asks for
the stage name unless `--yes` is given. Secrets (SSM) are kept unless `--delete-secrets`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from functions.core.secrets import SECRET_NAMES, parameter_name
from infra.deploy import _stack_status, log, stack_name
from infra.template import DATA_TEMPLATE, SECRETS_ROOT, stage_parameters


def data_only(cfn: Any, stack: str, prefix: str) -> None:
    try:
        cfn.update_stack(
            StackName=stack,
            TemplateBody=DATA_TEMPLATE.read_text(),
            Parameters=[{"ParameterKey": "Prefix", "ParameterValue": prefix}],
        )
    except cfn.exceptions.ClientError as error:
        if "No updates are to be performed" in str(error):
            log("already data only")
            return
        raise
    cfn.get_waiter("stack_update_complete").wait(
        StackName=stack, WaiterConfig={"Delay": 5, "MaxAttempts": 360}
    )


def table_names(prefix: str) -> list[str]:
    import yaml

    data = yaml.safe_load(DATA_TEMPLATE.read_text())
    return [
        r["Properties"]["TableName"]["Fn::Sub"].replace("${Prefix}", prefix)
        for r in data["Resources"].values()
        if r["Type"] == "AWS::DynamoDB::Table"
    ]


def delete_everything(session: Any, stack: str, prefix: str) -> None:
    cfn, dynamodb = session.client("cloudformation"), session.client("dynamodb")
    if _stack_status(cfn, stack) is not None:
        cfn.delete_stack(StackName=stack)
        cfn.get_waiter("stack_delete_complete").wait(
            StackName=stack, WaiterConfig={"Delay": 5, "MaxAttempts": 360}
        )
    for table in table_names(prefix):
        try:
            dynamodb.delete_table(TableName=table)
            log(f"deleted table {table}")
        except dynamodb.exceptions.ResourceNotFoundException:
            pass


def delete_secrets(session: Any, stage: str) -> None:
    names = [parameter_name(f"{SECRETS_ROOT}/{stage}", n) for n in SECRET_NAMES]
    session.client("ssm").delete_parameters(Names=names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="infra/teardown", description=__doc__.splitlines()[0])
    parser.add_argument("stage")
    parser.add_argument("--delete-data", action="store_true", help="also delete every table (irreversible)")
    parser.add_argument("--delete-secrets", action="store_true", help="also delete the stage's SSM secrets")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--region")
    args = parser.parse_args(argv)

    import boto3

    session = boto3.session.Session(region_name=args.region)
    stack = stack_name(args.stage)
    prefix = stage_parameters(args.stage)["Prefix"]
    if args.delete_data:
        if not args.yes:
            answer = input(f"Delete stack {stack} AND every {prefix}-* table? Type the stage name: ")
            if answer.strip() != args.stage:
                log("not confirmed; nothing deleted")
                return 1
        delete_everything(session, stack, prefix)
        print(f"{stack} and its data deleted")
    else:
        if _stack_status(session.client("cloudformation"), stack) is None:
            log(f"{stack} does not exist")
            return 0
        data_only(session.client("cloudformation"), stack, prefix)
        print(
            f"{stack} torn down; tables and queues of {prefix} kept (redeploy with infra/deploy {args.stage})"
        )
    if args.delete_secrets:
        delete_secrets(session, args.stage)
        print(f"secrets under {SECRETS_ROOT}/{args.stage} deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
