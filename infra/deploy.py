"""infra/deploy <stage> [--dry-run]: build, check and deploy one stage to AWS.

1. the dependency layer (infra/layer.py, manylinux wheels, cached under build/layers/);
2. `chalice package --merge-template` with infra/data.yaml, made production-ready by
   infra/template.py (ReportBatchItemFailures, per-function roles, alarms, ...);
3. the checks of infra/checks.py and cfn-lint; any finding stops here;
4. (not with --dry-run) uploads the artifacts to S3 by content hash, as `aws cloudformation
   package` does, then creates and executes a change set on stack `wechat-retail-<stage>`
   with the stage's parameters (infra/stages.yaml) - boto3 only, no aws CLI needed;
5. creates the account's menu (infra/menu.json, made for the stage by infra/menu.py) on
   WeChat, with the app secret the stage keeps in SSM; `--dry-run` prints the menu instead,
   and `--menu-only` creates it without deploying;
6. prints the API URL and the callback URL to paste into the WeChat admin console.

`--previous` redeploys the template deployed before the current one (a rollback); the
stack itself rolls back on its own when a deploy fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from functions.core.secrets import parameter_name
from infra import menu
from infra.checks import problems
from infra.template import BUILD, SECRETS_ROOT, build, stage_parameters

APP = "wechat-retail"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]


def stack_name(stage: str) -> str:
    return f"{APP}-{stage}"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- validation


def validate(template_path: Path) -> None:
    template = json.loads(template_path.read_text())
    findings = problems(template)
    if findings:
        raise SystemExit("template checks failed:\n  " + "\n  ".join(findings))
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(template_path)],
        capture_output=True,
        text=True,
    )
    if lint.returncode != 0:
        raise SystemExit(f"cfn-lint failed:\n{lint.stdout}{lint.stderr}")


def parameters_for(template: dict[str, Any], stage: str, overrides: dict[str, str]) -> dict[str, str]:
    values = {**stage_parameters(stage), **overrides}
    return {k: v for k, v in values.items() if k in template.get("Parameters", {})}


def summary(template: dict[str, Any], parameters: dict[str, str]) -> str:
    lines = ["functions:"]
    for rid, r in sorted(template["Resources"].items()):
        if r["Type"] != "AWS::Serverless::Function":
            continue
        p = r["Properties"]
        events = [e["Type"] for e in (p.get("Events") or {}).values()] or [
            "api" if rid == "APIHandler" else "-"
        ]
        reserved = p.get("ReservedConcurrentExecutions")
        lines.append(
            f"  {rid:<24} {p['MemorySize']:>5} MB {p['Timeout']:>4} s  {','.join(events)}"
            + (f"  reserved concurrency {reserved}" if reserved else "")
        )
    kinds: dict[str, int] = {}
    for r in template["Resources"].values():
        kinds[r["Type"]] = kinds.get(r["Type"], 0) + 1
    lines.append("resources: " + ", ".join(f"{n} {k.split('::')[-1]}" for k, n in sorted(kinds.items())))
    lines.append("parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(parameters.items())))
    return "\n".join(lines)


def stage_menu(stage: str) -> dict[str, Any]:
    """infra/menu.json as the stage's account gets it: view buttons open its pages."""
    values = stage_parameters(stage)
    return menu.render(
        menu.load(),
        oauth_base=values.get("WechatOauthBase", "https://open.weixin.qq.com").rstrip("/"),
        app_id=values["WechatAppId"],
        h5_base_url=values["H5BaseUrl"],
    )


# ---------------------------------------------------------------- AWS (boto3)


def artifacts_bucket(session: Any, name: str | None) -> str:
    """The deploy bucket (created private and encrypted on first use)."""
    s3 = session.client("s3")
    region = session.region_name
    if not name:
        account = session.client("sts").get_caller_identity()["Account"]
        name = f"{APP}-artifacts-{account}-{region}"
    try:
        s3.head_bucket(Bucket=name)
    except s3.exceptions.ClientError:
        log(f"creating artifacts bucket {name}")
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=name, **extra)
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    return name


def upload(s3: Any, bucket: str, key: str, path: Path) -> None:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return  # same content, already there
    except s3.exceptions.ClientError:
        pass
    log(f"uploading {path.name} -> s3://{bucket}/{key}")
    s3.upload_file(str(path), bucket, key)


def package(s3: Any, bucket: str, stage: str, out: Path, template: dict[str, Any]) -> dict[str, Any]:
    """What `aws cloudformation package` does: local CodeUri/ContentUri -> S3, by content hash."""
    packaged = json.loads(json.dumps(template))
    for resource in packaged["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            local = props.get(key)
            if isinstance(local, str) and not local.startswith("s3://"):
                path = (out / local).resolve()
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                s3_key = f"{stage}/{path.stem}-{digest[:32]}.zip"
                upload(s3, bucket, s3_key, path)
                props[key] = f"s3://{bucket}/{s3_key}"
    return packaged


def upload_template(s3: Any, bucket: str, stage: str, packaged: dict[str, Any]) -> str:
    body = json.dumps(packaged, sort_keys=True).encode()
    key = f"{stage}/templates/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return key


def previous_template_key(s3: Any, bucket: str, stage: str) -> str:
    keys = sorted(
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{stage}/templates/")
        for o in page.get("Contents", [])
    )
    if len(keys) < 2:
        raise SystemExit("no previous deployment of this stage to roll back to")
    return keys[-2]


def apply_change_set(cfn: Any, stack: str, template_url: str, parameters: dict[str, str]) -> None:
    status = _stack_status(cfn, stack)
    if status == "ROLLBACK_COMPLETE":  # a first deploy that failed: nothing to keep
        log(f"{stack} is ROLLBACK_COMPLETE from a failed first deploy; deleting it first")
        cfn.delete_stack(StackName=stack)
        cfn.get_waiter("stack_delete_complete").wait(StackName=stack)
        status = None
    kind = "CREATE" if status is None else "UPDATE"
    name = f"deploy-{int(time.time())}"
    cfn.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType=kind,
        TemplateURL=template_url,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=CAPABILITIES,
        Tags=[{"Key": "app", "Value": APP}],
    )
    try:
        cfn.get_waiter("change_set_create_complete").wait(
            StackName=stack, ChangeSetName=name, WaiterConfig={"Delay": 5, "MaxAttempts": 120}
        )
    except Exception:
        described = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
        reason = described.get("StatusReason", "")
        if "didn't contain changes" in reason or "No updates" in reason:
            log("no changes to deploy")
            cfn.delete_change_set(StackName=stack, ChangeSetName=name)
            return
        raise SystemExit(f"change set failed: {reason}") from None
    log(f"executing {kind.lower()} change set {name} on {stack}")
    cfn.execute_change_set(StackName=stack, ChangeSetName=name)
    waiter = "stack_create_complete" if kind == "CREATE" else "stack_update_complete"
    try:
        cfn.get_waiter(waiter).wait(StackName=stack, WaiterConfig={"Delay": 10, "MaxAttempts": 360})
    except Exception:
        raise SystemExit(
            f"deploy failed; CloudFormation rolled {stack} back. Events:\n" + _failure_events(cfn, stack)
        ) from None


def _stack_status(cfn: Any, stack: str) -> str | None:
    try:
        return cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except cfn.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return None
        raise


def _failure_events(cfn: Any, stack: str) -> str:
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"][:40]
    return "\n".join(
        f"  {e['LogicalResourceId']}: {e['ResourceStatus']} {e.get('ResourceStatusReason', '')}"
        for e in events
        if e["ResourceStatus"].endswith("FAILED")
    )


def create_menu(session: Any, stage: str) -> None:
    """The stage's menu on WeChat, with the app secret from the stage's SSM parameters."""
    values = stage_parameters(stage)
    name = parameter_name(f"{SECRETS_ROOT}/{stage}", "WECHAT_APP_SECRET")
    try:
        secret = session.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except Exception as error:
        raise SystemExit(
            f"menu not created: cannot read {name} ({error}); run infra/put-secrets {stage}"
        ) from None
    try:
        menu.create(
            stage_menu(stage),
            api_base=values.get("WechatApiBase", "https://api.weixin.qq.com").rstrip("/"),
            app_id=values["WechatAppId"],
            app_secret=secret,
        )
    except (menu.MenuRefused, OSError) as error:
        raise SystemExit(
            f"menu not created: {error}; fix it, then run infra/deploy {stage} --menu-only"
        ) from None
    log(f"menu created on WeChat for {values['WechatAppId']}")


def outputs(cfn: Any, stack: str) -> dict[str, str]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


# ---------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="infra/deploy", description="Deploy one stage to AWS.")
    parser.add_argument("stage", help="stage name, e.g. dev or prod (infra/stages.yaml)")
    parser.add_argument("--dry-run", action="store_true", help="build and validate only; never calls AWS")
    parser.add_argument("--region", help="AWS region (default: your AWS configuration)")
    parser.add_argument(
        "--bucket", help="artifacts bucket (default wechat-retail-artifacts-<account>-<region>)"
    )
    parser.add_argument("--alarm-email", help="subscribe this e-mail to the stage's alarm topic")
    parser.add_argument("--previous", action="store_true", help="roll back: redeploy the previous template")
    parser.add_argument("--out", type=Path, help="build folder (default build/<stage>)")
    parser.add_argument(
        "--menu-only", action="store_true", help="only create the menu (infra/menu.json) on WeChat"
    )
    args = parser.parse_args(argv)
    out = args.out or BUILD / args.stage
    overrides = {"AlarmEmail": args.alarm_email} if args.alarm_email else {}

    if args.menu_only:
        import boto3

        create_menu(boto3.session.Session(region_name=args.region), args.stage)
        return 0
    if not args.previous:
        started = time.monotonic()
        log(f"building {args.stage} into {out}")
        build(args.stage, out)
        validate(out / "template.json")
        log(f"built and checked in {time.monotonic() - started:.1f} s")
    template = json.loads((out / "template.json").read_text()) if (out / "template.json").exists() else {}
    parameters = parameters_for(template, args.stage, overrides)
    if args.dry_run:
        print(summary(template, parameters))
        print(f"menu (infra/menu.json for {args.stage}; not created):")
        print(json.dumps(stage_menu(args.stage), ensure_ascii=False, indent=2))
        print(f"dry run: stack {stack_name(args.stage)} not deployed; artifacts in {out}")
        print("API URL: https://<rest-api-id>.execute-api.<region>.amazonaws.com/api/")
        print(
            "WeChat callback URL: https://<rest-api-id>.execute-api.<region>.amazonaws.com/api/wechat/callback"
        )
        return 0

    import boto3

    session = boto3.session.Session(region_name=args.region)
    if not session.region_name:
        raise SystemExit("no AWS region: pass --region or set AWS_REGION")
    s3, cfn = session.client("s3"), session.client("cloudformation")
    bucket = artifacts_bucket(session, args.bucket)
    stack = stack_name(args.stage)
    if args.previous:
        key = previous_template_key(s3, bucket, args.stage)
        log(f"rolling {stack} back to {key}")
        parameters = parameters_for(
            json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()), args.stage, overrides
        )
    else:
        key = upload_template(s3, bucket, args.stage, package(s3, bucket, args.stage, out, template))
    # CloudFormation reads it with the deployer's credentials; the bucket stays private.
    url = f"https://{bucket}.s3.{session.region_name}.amazonaws.com/{key}"
    apply_change_set(cfn, stack, url, parameters)
    create_menu(session, args.stage)
    found = outputs(cfn, stack)
    print(f"API URL: {found.get('EndpointURL', '(no routes)')}")
    print(f"WeChat callback URL: {found.get('CallbackURL', '(no routes)')}")
    print(f"alarms go to: {found.get('AlarmTopicArn')}; secrets are read from SSM {found.get('SecretsPath')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
