"""infra/deploy, infra/teardown and infra/put-secrets, as far as they can run without AWS."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest
import yaml

from infra import deploy, teardown
from infra.local.provision import provision
from infra.template import ROOT

pytestmark = pytest.mark.slow


def test_deploy_dry_run_builds_and_validates_end_to_end_without_aws(tmp_path):
    # Given no AWS at all: no credentials and an endpoint where nothing listens
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    # When the one command runs with --dry-run
    done = subprocess.run(
        [str(ROOT / "infra" / "deploy"), "dev", "--dry-run", "--out", str(tmp_path / "dev")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # Then it built, checked and described the stage, and printed where WeChat must point
    assert done.returncode == 0, done.stderr
    assert "NotificationWorker" in done.stdout and "reserved concurrency" in done.stdout
    assert "/api/wechat/callback" in done.stdout
    # and the menu it would create on WeChat, its view buttons through the stage's sign-in
    assert "menu (infra/menu.json for dev; not created):" in done.stdout
    assert "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx-dev-app-id" in done.stdout
    for artifact in ("deployment.zip", "layer.zip", "template.json"):
        assert (tmp_path / "dev" / artifact).exists()


def test_the_layer_holds_every_requirement_as_lambda_platform_wheels(built: Path):
    requirements = [
        line.split("==")[0].lower().replace("-", "_")
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    with zipfile.ZipFile(built / "layer.zip") as layer:
        names = layer.namelist()
        wheels = [n for n in names if n.endswith(".dist-info/WHEEL")]
        tags = {
            line for w in wheels for line in layer.read(w).decode().splitlines() if line.startswith("Tag:")
        }
    dists = {n.split("/")[4].split("-")[0].lower() for n in wheels}
    assert set(requirements) <= dists
    assert all(n.startswith("python/lib/python3.11/site-packages/") for n in names)
    # Only pure wheels or manylinux/abi3 ones: nothing compiled on (and for) this machine
    binary = {t for t in tags if "none-any" not in t}
    assert binary and all("manylinux" in t for t in binary), binary


def test_code_package_is_only_the_app(built: Path):
    with zipfile.ZipFile(built / "deployment.zip") as code:
        names = code.namelist()
    assert "app.py" in names and any(n.startswith("functions/notifications/") for n in names)
    assert not any(n.startswith(("pynamodb/", "botocore/")) for n in names)


def test_package_uploads_artifacts_by_content_and_points_the_template_at_them(aws, built, template):
    s3 = boto3.client("s3", endpoint_url=aws)
    bucket = f"artifacts-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    packaged = deploy.package(s3, bucket, "dev", built, template)
    uris = {
        r["Properties"].get("CodeUri") or r["Properties"].get("ContentUri")
        for r in packaged["Resources"].values()
        if r["Type"].startswith("AWS::Serverless::") and r["Type"] != "AWS::Serverless::Api"
    }
    assert len(uris) == 2 and all(u.startswith(f"s3://{bucket}/dev/") for u in uris)
    # A second deploy of the same code uploads nothing new
    before = s3.list_objects_v2(Bucket=bucket)["KeyCount"]
    deploy.package(s3, bucket, "dev", built, template)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == before == 2


# Every table of the data template (infra/data.yaml)
TABLES = sum(
    1
    for resource in yaml.safe_load((ROOT / "infra" / "data.yaml").read_text())["Resources"].values()
    if resource["Type"] == "AWS::DynamoDB::Table"
)


def _tables(aws: str, prefix: str) -> set[str]:
    names = boto3.client("dynamodb", endpoint_url=aws).list_tables(Limit=100)["TableNames"]
    return {n for n in names if n.startswith(prefix + "-")}


def test_teardown_keeps_the_tables_unless_told_to_delete_data(aws, monkeypatch):
    # Given a stage whose stack holds its data (the data template, as in AWS after a deploy)
    stage = f"td{uuid.uuid4().hex[:6]}"
    prefix = f"wx-{stage}"
    provision(aws, prefix, stack_name=deploy.stack_name(stage))
    assert len(_tables(aws, prefix)) == TABLES
    # When torn down without --delete-data, the tables stay
    assert teardown.main([stage]) == 0
    assert len(_tables(aws, prefix)) == TABLES
    # When torn down with --delete-data --yes, stack and tables are gone
    assert teardown.main([stage, "--delete-data", "--yes"]) == 0
    assert _tables(aws, prefix) == set()
    assert (
        deploy._stack_status(boto3.client("cloudformation", endpoint_url=aws), deploy.stack_name(stage))
        is None
    )


def test_put_secrets_command_refuses_a_bad_aes_key(tmp_path):
    env = {**os.environ, **{n: "x" for n in ("WECHAT_APP_SECRET", "WECHAT_TOKEN", "KUAIDI100_SALT")}}
    env["WECHAT_ENCODING_AES_KEY"] = "too-short"
    done = subprocess.run(
        [sys.executable, "-m", "infra.secrets", "dev", "--generate-missing"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode != 0 and "43 characters" in done.stderr
