"""Whole-workflow behaviour on the twin: dry-run, loop prevention, dedupe, rejection, failures."""

from __future__ import annotations

import json
import time
from unittest import mock

import pytest
from moto.s3.exceptions import BucketAccessDeniedError
from moto.s3.models import S3Backend

from local import scenarios
from local.faults import attribute_calls_to_functions, record_api_calls
from local.twin import Twin
from tests.conftest import event
from warden.notify import compose
from warden.remediations.s3_public import QuarantinePublicBucket, split_policy

BUCKET = scenarios.TRAINING_BUCKET
PUBLIC_POLICY_EVENT = "cloudtrail-s3-putbucketpolicy-public.json"


def is_public(s3, bucket=BUCKET) -> bool:
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    return bool(split_policy(policy)[0])


def test_dry_run_changes_nothing_and_says_what_it_would_do():
    with Twin(parameters={"Mode": "dry-run"}) as twin:
        s3 = twin.client("s3")
        scenarios.public_training_bucket(s3)
        before_policy = s3.get_bucket_policy(Bucket=BUCKET)["Policy"]

        result = twin.send(event(PUBLIC_POLICY_EVENT))

        assert result.decision == "dry-run"
        assert s3.get_bucket_policy(Bucket=BUCKET)["Policy"] == before_policy
        assert len(s3.get_bucket_acl(Bucket=BUCKET)["Grants"]) == 2
        (message,) = result.notifications
        assert message["attributes"]["outcome"] == "would-remediate"
        assert "DRY RUN" in message["subject"]
        assert "Would remove 1 public statement(s)" in message["body"]
        assert "DRY RUN: nothing was changed (Mode is dry-run)." in message["body"]
        assert result.audit_records[0]["before"]["policy"] == scenarios.TRAINING_POLICY


def test_warden_own_change_does_not_start_a_second_remediation(twin):
    first = twin.send(event(PUBLIC_POLICY_EVENT))
    assert first.decision == "enforce"
    s3 = twin.client("s3")
    # Someone re-adds the public grant; only Warden's own CloudTrail event arrives for it.
    scenarios.public_training_bucket(s3, name="second-bucket")
    own = twin.send(event("cloudtrail-s3-putbucketacl-by-warden.json"))

    assert own.decision == "ignored"
    assert "Warden's own role" in own.executions[0].triage["reason"]
    assert own.executions[0].states == ["Triage", "Route", "Ignored"]
    assert own.notifications == []
    assert own.audit_records[0]["decision"] == "ignored"
    assert "changes" not in own.audit_records[0], "no remediation ran"


def test_the_same_exposure_from_three_sources_is_fixed_once(twin):
    outcomes = [
        twin.send(event(name)).decision
        for name in (
            PUBLIC_POLICY_EVENT,
            "config-s3-bucket-public-read-prohibited.json",
            "guardduty-s3-bucketpublicaccessgranted.json",
        )
    ]
    assert outcomes == ["enforce", "duplicate", "duplicate"]
    remediations = [m for m in twin.emitted_metrics if "Remediations" in m]
    assert len(remediations) == 1


def test_dedupe_window_expires():
    with Twin(parameters={"Mode": "enforce", "DedupeWindowSeconds": "1"}) as twin:
        scenarios.public_training_bucket(twin.client("s3"))
        assert twin.send(event(PUBLIC_POLICY_EVENT)).decision == "enforce"
        time.sleep(1.5)
        again = twin.send(event("config-s3-bucket-public-read-prohibited.json"))
        assert again.decision == "enforce"
        # The bucket is already quarantined: nothing to change, nobody paged.
        assert again.executions[0].states[-1] == "AlreadyCompliant"
        assert again.notifications == []


def test_after_a_failed_fix_the_next_finding_tries_again_within_the_dedupe_window(twin):
    with mock.patch.object(S3Backend, "put_bucket_acl", side_effect=BucketAccessDeniedError(BUCKET)):
        failed = twin.send(event(PUBLIC_POLICY_EVENT))
    assert [n["attributes"]["outcome"] for n in failed.notifications] == ["failed"]

    # the cause is fixed (the denial is gone); Config reports the bucket seconds later
    retried = twin.send(event("config-s3-bucket-public-read-prohibited.json"))

    assert retried.decision == "enforce"
    failed_id = failed.audit_records[0]["finding_id"]
    assert f"{failed_id} failed to fix this resource within the dedupe window, so Warden tries again" in retried.executions[0].triage["reason"]
    assert [n["attributes"]["outcome"] for n in retried.notifications] == ["remediated"]
    assert not is_public(twin.client("s3"))
    # the failed finding still holds the window: a third report looks again, finds nothing to change,
    # and pages nobody
    third = twin.send(event("guardduty-s3-bucketpublicaccessgranted.json"))
    assert third.executions[0].states[-1] == "AlreadyCompliant" and third.notifications == []


@pytest.mark.parametrize(
    "garbage, reason",
    [
        (["not", "an", "object"], "must be a JSON object"),
        ({"detail-type": "Totally Unknown", "source": "aws.s3", "detail": {}}, "unknown detail-type 'Totally Unknown'"),
        ({**event("guardduty-s3-bucketpublicaccessgranted.json"), "detail": {"type": "x"}}, "detail.id: Field required"),
        ({"detail-type": "Config Rules Compliance Change", "detail": "truncated"}, "malformed"),
    ],
)
def test_malformed_input_is_rejected_with_a_reason_and_on_call_is_told(twin, garbage, reason):
    result = twin.start_execution(garbage)

    assert result.decision == "rejected"
    assert reason in result.executions[0].triage["reason"]
    assert result.status == "FAILED"
    assert result.executions[0].error == "Warden.EventRejected"
    (message,) = result.notifications
    assert message["attributes"] == {"severity": "HIGH", "outcome": "rejected", "remediation": "none"}
    assert reason in message["body"]


def test_access_denied_midway_fails_loudly_and_says_what_was_applied(twin):
    with mock.patch.object(S3Backend, "put_bucket_acl", side_effect=BucketAccessDeniedError(BUCKET)):
        result = twin.send(event(PUBLIC_POLICY_EVENT))

    assert result.status == "FAILED"
    assert result.executions[0].error == "Warden.RemediationFailed"
    assert "NotifyFailed" in result.executions[0].states
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "failed"
    assert "FAILED" in message["subject"]
    assert "s3:PutBucketAcl was denied; already applied: s3:PutBucketPublicAccessBlock, s3:PutBucketPolicy" in message["body"]
    record = result.audit_records[0]
    assert record["before"]["policy"] == scenarios.TRAINING_POLICY, "the before-snapshot is kept for rollback"
    assert record["outcome"] == "failed"


BUCKET_READS = ("GetPublicAccessBlock", "GetBucketPolicy", "GetBucketAcl", "GetBucketTagging", "GetBucketPolicyStatus")


DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def test_a_fix_runs_two_functions_writes_dynamodb_three_times_and_re_reads_the_bucket_once(twin):
    """The family function verifies its own fix and tells on-call itself: no Verify hop and no Notify
    hop. One re-read after the fix serves both as the verification and as rollback's after-snapshot,
    and the write that records it records the outcome too."""
    with attribute_calls_to_functions(twin), record_api_calls() as calls:
        result = twin.send(event(PUBLIC_POLICY_EVENT))

    execution = result.executions[0]
    assert result.status == "SUCCEEDED"
    assert execution.states == ["Triage", "Route", "S3PublicAccess", "WhatWasPlanned", "Remediated"]
    assert {c.function for c in calls if c.function} == {"TriageFunction", "S3PublicAccessFunction"}
    writes = [(c.function, c.operation) for c in calls if c.service == "dynamodb" and c.operation in DYNAMODB_WRITES]
    assert writes == [("TriageFunction", "TransactWriteItems"), ("S3PublicAccessFunction", "UpdateItem"), ("S3PublicAccessFunction", "UpdateItem")]
    fix = [c.operation for c in calls if c.function == "S3PublicAccessFunction" and c.service == "s3"]
    last_change = max(i for i, operation in enumerate(fix) if not operation.startswith("Get"))
    after = [operation for operation in fix[last_change + 1:]]
    assert sorted(after) == sorted(set(after)), f"a read after the fix was made twice: {after}"
    # What tells whether it is still public, read afresh; the policy as Warden wrote it is not read back.
    assert sorted(after) == ["GetBucketAcl", "GetBucketPolicyStatus", "GetPublicAccessBlock"]
    record = result.audit_records[0]
    assert record["verification"]["exposed"] == [] and record["after_snapshot"]["public_access_block"] == {
        s: True for s in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    }
    assert record["outcome"] == "remediated" and record["notified_at"] >= record["verification"]["verified_at"]
    (message,) = result.notifications
    assert "Re-read the resource after the change: Block Public Access is on" in message["body"]
    # Word for word what Notify composes for the state NotifyRemediated would have been given.
    notify_would = compose("remediated", execution.output, execution.arn)
    assert message == {"subject": notify_would.subject, "body": notify_would.body, "attributes": notify_would.attributes}
    assert message["subject"].startswith("[Warden] Fixed: public S3 bucket ")
    assert execution.output["result"]["notified"] is True


def test_a_fix_that_did_not_hold_fails_loudly_after_recording_what_was_applied(twin):
    # S3 accepts the ACL call but the grants stay: the re-read after the fix finds them.
    with mock.patch.object(S3Backend, "put_bucket_acl", return_value=None):
        result = twin.send(event(PUBLIC_POLICY_EVENT))

    assert result.status == "FAILED"
    assert result.executions[0].states[-3:] == ["S3PublicAccess", "NotifyFailed", "RemediationFailed"]
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "failed"
    assert "StillExposed" in message["body"] and "the resource is still exposed: ACL still grants 1 public permission(s)" in message["body"]
    assert "applied s3:PutBucketPublicAccessBlock, s3:PutBucketPolicy, s3:PutBucketAcl" in message["body"]
    assert f"python -m warden_ops rollback {result.audit_records[0]['finding_id']}" in message["body"]
    record = result.audit_records[0]
    assert record["outcome"] == "failed" and "s3:PutBucketAcl" in record["applied"]
    assert record["verification"]["exposed"] == ["ACL still grants 1 public permission(s)"]
    assert record["after_snapshot"]["acl"]["Grants"], "rollback's after-snapshot is the same re-read"


def test_bucket_deleted_between_triage_and_remediation_ends_as_resource_gone(twin):
    s3 = twin.client("s3")
    original_snapshot = QuarantinePublicBucket.snapshot

    def bucket_vanishes_first(self, finding, aws):
        s3.delete_bucket_policy(Bucket=BUCKET)
        for obj in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
        s3.delete_bucket(Bucket=BUCKET)
        return original_snapshot(self, finding, aws)

    with mock.patch.object(QuarantinePublicBucket, "snapshot", bucket_vanishes_first):
        result = twin.send(event(PUBLIC_POLICY_EVENT))

    assert result.status == "SUCCEEDED"
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "resource-gone"
    assert "no longer exists" in message["body"]


def test_event_for_a_bucket_that_no_longer_exists_ends_as_resource_gone():
    with Twin(parameters={"Mode": "enforce"}) as twin:  # no bucket created
        result = twin.send(event(PUBLIC_POLICY_EVENT))
    assert result.decision == "resource-gone"
    assert result.status == "SUCCEEDED"
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "resource-gone"
    assert "no longer exists" in message["body"]


def test_exemption_by_resource_pattern():
    with Twin(parameters={"Mode": "enforce", "ExemptResourceArns": "arn:aws:s3:::ml-training-*"}) as twin:
        scenarios.public_training_bucket(twin.client("s3"))
        result = twin.send(event(PUBLIC_POLICY_EVENT))
        assert result.decision == "exempt"
        assert is_public(twin.client("s3"))


def test_failed_executions_alarm_reaches_on_call(twin):
    alarm_action = {
        "source": "aws.cloudwatch",
        "alarmArn": f"arn:aws:cloudwatch:us-east-1:{twin.account}:alarm:warden-ExecutionsFailedAlarm",
        "accountId": twin.account,
        "time": "2026-11-21T10:00:00.000+0000",
        "region": "us-east-1",
        "alarmData": {
            "alarmName": "warden-ExecutionsFailedAlarm",
            "state": {"value": "ALARM", "reason": "Threshold Crossed: 1 datapoint [2.0] was >= 1.0"},
            "previousState": {"value": "OK"},
            "configuration": {"description": "A Warden workflow execution failed."},
        },
    }
    # CloudWatch invokes Notify when the alarm goes to ALARM; Notify reads the alarm back.
    twin.client("cloudwatch").set_alarm_state(
        AlarmName="warden-ExecutionsFailedAlarm", StateValue="ALARM", StateReason="Threshold Crossed: 1 datapoint [2.0] was >= 1.0"
    )
    response = twin.invoke("NotifyFunction", alarm_action)
    assert response["outcome"] == "alarm"
    messages = twin._drain_inbox()
    assert [m["subject"] for m in messages] == ["[Warden] ALARM ALARM: warden-ExecutionsFailedAlarm"]
    assert "Threshold Crossed" in messages[0]["body"]


def test_an_execution_nobody_waited_for_ends_with_its_twin():
    """An execution still waiting when its twin closes (here for a person's approval) is stopped and
    joined: moto's patches are process-wide, so its thread must not run on into the next test's twin
    (it did: a sweep's orphan execution invoked the next twin's Notify and switched its calling role)."""
    with Twin() as twin:
        settings = {"modes": {"s3-quarantine-public-bucket": "approve"}, "approval_timeout_seconds": 3600}
        twin.client("ssm").put_parameter(Name=twin.physical["SettingsParameter"], Value=json.dumps(settings), Type="String", Overwrite=True)
        scenarios.public_training_bucket(twin.client("s3"))
        sfn = twin.client("stepfunctions")
        express = sfn.start_execution(stateMachineArn=twin.state_machine_arn, input=json.dumps(event(PUBLIC_POLICY_EVENT)))["executionArn"]
        arn = twin.standard_execution(express)  # approve mode: Triage hands the event to the Standard workflow
        deadline = time.monotonic() + 30
        while arn not in twin._execution_threads or not any(
            e.get("stateEnteredEventDetails", {}).get("name") == "AwaitApproval"
            for e in sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        ):
            assert time.monotonic() < deadline, "the execution never reached its wait for approval"
            time.sleep(0.05)
        thread = twin._execution_threads[arn]
        assert thread.is_alive()
    assert not thread.is_alive()
