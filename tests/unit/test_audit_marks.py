"""Notify's consume-once mark lives in the finding's audit record, written by the same conditional
UpdateItem as the outcome (warden.audit, warden.authorization.Mark): what that one write must do
when the step runs once, is replayed, fails and is retried, or meets a record older than marks."""

from __future__ import annotations

import os
from unittest import mock

import boto3
import pytest
from moto import mock_aws

from warden import audit, authorization

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:warden-RemediationStateMachine:run-1"
FINDING = {"id": "finding-1", "resource_arn": "arn:aws:s3:::bucket", "account": "123456789012", "region": "us-east-1",
           "source": "cloudtrail", "type": "s3-bucket-public", "details": {}}  # fmt: skip


@pytest.fixture
def table():
    with mock_aws(), mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": "us-east-1", "WARDEN_AUDIT_TABLE": "audit"}):
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(TableName="audit", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "finding_id", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "finding_id", "KeyType": "HASH"}])  # fmt: skip
        with mock.patch("warden.audit.client", lambda service: dynamodb):
            yield dynamodb


def mark(retry: int = 0) -> authorization.Mark:
    key = f"{authorization.MARK_PREFIX}{EXECUTION}#Notify#enforce#0"
    return authorization.Mark(key, retry, 4102444800, "NotifyRemediated", {"finding": FINDING})


def record(table) -> dict:
    return audit.decode_item(table.get_item(TableName="audit", Key={"finding_id": {"S": "finding-1"}})["Item"])


def test_the_outcome_and_the_mark_are_one_write_and_a_replay_writes_nothing(table):
    audit.record_decision(FINDING, "enforce", "Mode is enforce", "s3-quarantine-public-bucket", EXECUTION)
    audit.update("finding-1", mark=mark(), outcome="remediated", notified_at="2026-12-01T18:00:00+00:00")
    first = record(table)

    with pytest.raises(authorization.Unauthorized, match=r"\(a replay\)"):
        audit.update("finding-1", mark=mark(retry=3), outcome="failed", notified_at="2026-12-01T19:00:00+00:00")

    assert record(table) == first
    assert first["outcome"] == "remediated"
    assert first["marks"][f"{EXECUTION}#Notify#enforce#0"]["state"] == "running"


def test_a_failed_attempt_is_undone_and_only_the_next_retry_takes_the_mark_over(table):
    audit.record_decision(FINDING, "enforce", "Mode is enforce", "s3-quarantine-public-bucket", EXECUTION)
    audit.update("finding-1", outcome="ignored")
    attempt = mark(retry=0)
    audit.update("finding-1", mark=attempt, outcome="remediated", notified_at="2026-12-01T18:00:00+00:00")

    attempt.undo()  # publishing failed

    undone = record(table)
    assert undone["outcome"] == "ignored" and "notified_at" not in undone, "the record claims nobody was told"
    with pytest.raises(authorization.Unauthorized, match=r"\(a replay\)"):
        audit.update("finding-1", mark=mark(retry=0), outcome="remediated")
    audit.update("finding-1", mark=mark(retry=1), outcome="remediated", notified_at="2026-12-01T18:01:00+00:00")
    assert record(table)["notified_at"] == "2026-12-01T18:01:00+00:00"


def test_a_record_written_before_marks_were_kept_still_takes_the_mark_once(table):
    """An execution in flight across the deploy: its record has no `marks` yet."""
    table.put_item(TableName="audit", Item={"finding_id": {"S": "finding-1"}, "decision": {"S": "approve"}})

    audit.record_attempt("finding-1", mark=mark(), outcome="remediated")

    with pytest.raises(authorization.Unauthorized, match=r"\(a replay\)"):
        audit.record_attempt("finding-1", mark=mark(retry=2), outcome="remediated")
    assert [a["outcome"] for a in record(table)["attempts"]] == ["remediated"]


def test_a_family_step_that_tells_on_call_holds_notify_s_mark_until_its_publish_fails(table):
    """The family step whose fix is verified records the outcome with the verification, and with
    NotifyRemediated's mark: NotifyRemediated is refused while that message stands, and takes over
    (at its first try) once the family step's publish failed, which leaves the fix on record."""
    audit.record_decision(FINDING, "enforce", "Mode is enforce", "s3-quarantine-public-bucket", EXECUTION)
    state = {"finding": FINDING, "decision": "enforce",
             "authorization": {"execution": EXECUTION, "decision": "enforce", "expires_at": 4102444800, "mac": "signed"}}  # fmt: skip
    told = authorization.fixed_and_told(state, restores=("outcome", "notified_at"))
    audit.update("finding-1", condition="not-applied", mark=told, applied=["s3:PutBucketPolicy"], verification={"exposed": []},
                 outcome="remediated", notified_at="2026-12-01T18:00:00+00:00")  # fmt: skip

    with pytest.raises(authorization.Unauthorized, match=r"\(a replay\)"):
        audit.update("finding-1", mark=mark(retry=0), outcome="remediated", notified_at="2026-12-01T18:05:00+00:00")
    told.undo()  # the family step's publish failed
    undone = record(table)
    audit.update("finding-1", mark=mark(retry=0), outcome="remediated", notified_at="2026-12-01T18:01:00+00:00")

    assert "outcome" not in undone and "notified_at" not in undone, "nobody was told yet"
    assert undone["applied"] == ["s3:PutBucketPolicy"] and undone["verification"] == {"exposed": []}, "the fix stays on record"
    assert record(table)["notified_at"] == "2026-12-01T18:01:00+00:00"
    assert record(table)["marks"][f"{EXECUTION}#Notify#enforce#0"] == {"attempt": 0, "state": "running", "at": mock.ANY}
