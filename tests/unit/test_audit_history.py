"""A resource's audit history through the by-resource index, which holds keys only (template.yaml): the
records come back whole, all of them, newest first, however many pages of keys and however DynamoDB
splits the BatchGetItem that reads them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from unittest import mock

import boto3
import pytest
from cfnlint.decode import decode
from moto import mock_aws

from warden import audit, history
from warden.remediations.base import RetryLater

ROOT = Path(__file__).resolve().parents[2]
AUDIT_TABLE = decode(str(ROOT / "template.yaml"))[0]["Resources"]["AuditTable"]["Properties"]
BUCKET = "arn:aws:s3:::ml-training-data-prod"
OTHER = "arn:aws:s3:::public-model-cards"
RECORDS = 250  # three pages of keys


@pytest.fixture
def dynamodb():
    with mock_aws(), mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": "us-east-1", "WARDEN_AUDIT_TABLE": "audit"}):
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="audit",
            **{key: AUDIT_TABLE[key] for key in ("BillingMode", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes")},
        )
        for n in range(RECORDS):
            dynamodb.put_item(TableName="audit", Item=item(f"cloudtrail:{n:03}", BUCKET, n))
        dynamodb.put_item(TableName="audit", Item=item("config:other", OTHER, RECORDS // 2))
        with mock.patch("warden.audit.client", lambda service: dynamodb):
            yield dynamodb


def item(finding_id: str, resource_arn: str, minute: int) -> dict:
    return {
        "finding_id": {"S": finding_id},
        "resource_arn": {"S": resource_arn},
        "recorded_at": {"S": f"2026-11-{1 + minute // 1440:02}T{minute // 60 % 24:02}:{minute % 60:02}:00.000+00:00"},
        "remediation": {"S": "s3-quarantine-public-bucket"},
        "outcome": {"S": "remediated"},
        "before": {"S": json.dumps({"policy": {"Statement": [{"Sid": f"Public{minute}"}]}})},
    }


def batch_gets(dynamodb) -> list[int]:
    """The number of keys in each BatchGetItem the client sends."""
    sizes: list[int] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.BatchGetItem",
        lambda params, **_: sizes.append(sum(len(table["Keys"]) for table in params["RequestItems"].values())),
    )
    return sizes


NEWEST_FIRST = [f"cloudtrail:{n:03}" for n in reversed(range(RECORDS))]


def test_an_operators_history_of_a_resource_with_several_pages_of_records_is_complete_and_newest_first(dynamodb):
    sizes = batch_gets(dynamodb)

    found = history.records(dynamodb, "audit", resource=BUCKET, limit=1000)

    assert [r["finding_id"] for r in found] == NEWEST_FIRST
    # whole records, not the index's keys: the before-snapshot rollback needs, the status history shows
    assert found[0]["before"] == {"policy": {"Statement": [{"Sid": f"Public{RECORDS - 1}"}]}}
    assert {history.status(r) for r in found} == {"remediated"}
    assert sizes == [100, 100, 50]  # one BatchGetItem per page of keys, at most 100 keys each


def test_a_limited_history_reads_only_the_records_it_returns(dynamodb):
    sizes = batch_gets(dynamodb)

    assert [r["finding_id"] for r in history.records(dynamodb, "audit", resource=BUCKET, limit=30)] == NEWEST_FIRST[:30]
    newest = audit.history(BUCKET, limit=50)  # what Triage's revert check and the previous-key lookup read

    assert [r["finding_id"] for r in newest] == NEWEST_FIRST[:50]
    assert all(r["remediation"] == "s3-quarantine-public-bucket" and r["before"] for r in newest)
    assert sizes == [30, 50]


def test_keys_dynamodb_leaves_unprocessed_are_asked_for_again_and_the_order_kept(dynamodb, monkeypatch):
    monkeypatch.setattr(audit.time, "sleep", lambda seconds: None)
    sizes = batch_gets(dynamodb)

    def throttle_half_of_the_first_answer(parsed, **_):
        if len(sizes) == 1:  # as DynamoDB does when throttled: part of the answer, the rest unprocessed
            items = parsed["Responses"]["audit"]
            parsed["Responses"]["audit"] = items[::2]
            parsed["UnprocessedKeys"] = {"audit": {"Keys": [{"finding_id": i["finding_id"]} for i in items[1::2]]}}

    dynamodb.meta.events.register("after-call.dynamodb.BatchGetItem", throttle_half_of_the_first_answer)

    assert [r["finding_id"] for r in audit.history(BUCKET, limit=40)] == NEWEST_FIRST[:40]
    assert sizes == [40, 20]


def test_records_still_unprocessed_after_the_last_try_make_the_step_retry_later(dynamodb, monkeypatch):
    monkeypatch.setattr(audit.time, "sleep", lambda seconds: None)
    sizes = batch_gets(dynamodb)

    def throttle_everything(parsed, **_):
        keys = [{"finding_id": i["finding_id"]} for i in parsed["Responses"]["audit"]]
        parsed["Responses"]["audit"], parsed["UnprocessedKeys"] = [], {"audit": {"Keys": keys}}

    dynamodb.meta.events.register("after-call.dynamodb.BatchGetItem", throttle_everything)

    with pytest.raises(RetryLater, match="left 10 record"):
        audit.history(BUCKET, limit=10)
    assert sizes == [10] * audit.BATCH_GET_TRIES
