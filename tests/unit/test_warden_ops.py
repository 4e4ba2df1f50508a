"""warden_ops against a deployed stack: resources found by logical id through CloudFormation (moto)."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from moto import mock_aws

from warden_ops.cli import main
from warden_ops.target import Stack

TABLE = {
    "Type": "AWS::DynamoDB::Table",
    "Properties": {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "finding_id", "AttributeType": "S"},
            {"AttributeName": "resource_arn", "AttributeType": "S"},
            {"AttributeName": "recorded_at", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "finding_id", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by-resource",
                "KeySchema": [{"AttributeName": "resource_arn", "KeyType": "HASH"}, {"AttributeName": "recorded_at", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},  # as template.yaml's
            }
        ],
    },
}


@pytest.fixture
def stack(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
        cloudformation.create_stack(StackName="warden-prod", TemplateBody=json.dumps({"Resources": {"AuditTable": TABLE}}))
        table = Stack("warden-prod", region="eu-west-1").physical("AuditTable")
        boto3.client("dynamodb", region_name="eu-west-1").put_item(
            TableName=table,
            Item={
                "finding_id": {"S": "cloudtrail:1"},
                "recorded_at": {"S": "2026-11-21T09:14:07.000+00:00"},
                "resource_arn": {"S": "arn:aws:s3:::ml-training-data-prod"},
                "remediation": {"S": "s3-quarantine-public-bucket"},
                "decision": {"S": "enforce"},
                "outcome": {"S": "remediated"},
            },
        )
        yield table


def test_history_finds_the_audit_table_of_the_named_stack(stack):
    out = io.StringIO()
    status = main(["--stack", "warden-prod", "--region", "eu-west-1", "--json", "history", "--outcome", "remediated"], out=out)
    assert status == 0
    (row,) = json.loads(out.getvalue())
    assert row["finding_id"] == "cloudtrail:1" and row["recorded_at"] == "2026-11-21 09:14:07"


def test_a_stack_without_the_resource_is_named_in_the_error(stack, capsys):
    status = main(["--stack", "warden-prod", "--region", "eu-west-1", "rollback", "cloudtrail:1"])
    assert status == 2
    assert "stack 'warden-prod' has no resource 'AuthorizationKey'" in capsys.readouterr().err


def test_global_flags_go_before_or_after_the_subcommand(stack):
    for argv in (
        ["--stack", "warden-prod", "--region", "eu-west-1", "--json", "history"],
        ["history", "--stack", "warden-prod", "--region", "eu-west-1", "--json"],
        ["--region", "eu-west-1", "history", "--outcome", "remediated", "--json", "--stack", "warden-prod"],
    ):
        out = io.StringIO()
        assert main(argv, out=out) == 0, argv
        assert [row["finding_id"] for row in json.loads(out.getvalue())] == ["cloudtrail:1"], argv


@pytest.fixture
def no_aws_configuration(monkeypatch, tmp_path):
    """A newcomer's shell: no credentials, no region, no config files, no instance metadata."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                "AWS_REGION", "AWS_DEFAULT_REGION"):  # fmt: skip
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["history", "--json"], "error: no AWS region: pass --region or set AWS_DEFAULT_REGION"),
        (["--region", "eu-west-1", "history"], "error: no AWS credentials found; configure AWS"),
        (["rollback", "cloudtrail:1", "--region", "eu-west-1"], "error: no AWS credentials found; configure AWS"),
        (["--profile", "nobody", "settings", "show"], "error: The config profile (nobody) could not be found"),
    ],
)
def test_without_aws_configuration_one_line_and_exit_3(no_aws_configuration, capsys, argv, message):
    """Exit 3, not 1: 1 means Warden refused; here nothing was asked of Warden at all."""
    assert main(argv) == 3
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert line.startswith(message)
    assert captured.out == ""


def test_expired_credentials_are_named_with_exit_3(stack, capsys, monkeypatch):
    from botocore.exceptions import ClientError

    from warden_ops import target

    def expired(self):
        raise ClientError({"Error": {"Code": "ExpiredToken", "Message": "The security token included in the request is expired"}}, "ListStackResources")

    monkeypatch.setattr(target.Stack, "_resources", property(expired))
    assert main(["--stack", "warden-prod", "--region", "eu-west-1", "history"]) == 3
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: AWS does not accept your credentials (ExpiredToken): renew the session")
