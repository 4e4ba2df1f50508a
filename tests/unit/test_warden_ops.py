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
                "Projection": {"ProjectionType": "ALL"},
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
    assert "stack 'warden-prod' has no resource 'RollbackFunction'" in capsys.readouterr().err
