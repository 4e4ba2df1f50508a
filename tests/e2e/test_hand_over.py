"""The Express workflow every event starts, and the Standard one Triage hands over to, on the twin;
and what an attacker can do with the two (nothing more than with one)."""

from __future__ import annotations

import json
from unittest import mock

import pytest

from local import scenarios as S
from local.faults import Fault, access_denied, inject
from tests.conftest import event
from warden import audit

PUBLIC_POLICY_EVENT = "cloudtrail-s3-putbucketpolicy-public.json"


def settings(twin, document: dict) -> None:
    twin.client("ssm").put_parameter(Name=twin.physical["SettingsParameter"], Value=json.dumps(document), Type="String", Overwrite=True)


def is_public(twin) -> bool:
    s3 = twin.client("s3")
    try:
        block = s3.get_public_access_block(Bucket=S.TRAINING_BUCKET)["PublicAccessBlockConfiguration"]
    except s3.exceptions.ClientError:  # no block at all
        return True
    return not all(block.values())


def test_a_fix_is_triaged_applied_verified_and_told_in_one_express_execution(twin):
    result = twin.send(event(PUBLIC_POLICY_EVENT))

    (execution,) = result.executions
    assert execution.handed_over_to is None
    assert execution.states == ["Triage", "Route", "S3PublicAccess", "WhatWasPlanned", "Remediated"]
    assert ":stateMachine:" not in execution.arn and execution.arn.split(":")[6] == twin.state_machine_arn.split(":")[6]
    assert result.audit_records[0]["execution"] == execution.arn
    assert [n["attributes"]["outcome"] for n in result.notifications] == ["remediated"]
    assert not is_public(twin)


def test_approve_mode_is_handed_to_the_standard_workflow_where_a_person_can_answer(twin):
    """The Express Triage reads and records nothing: the Standard one decides, from the same event."""
    settings(twin, {"modes": {"s3_public": "approve"}, "approval_timeout_seconds": 1})

    result = twin.send(event(PUBLIC_POLICY_EVENT))

    (execution,) = result.executions
    assert execution.states[:3] == ["Triage", "Route", "HandOver"]
    assert execution.states[3:] == ["Triage", "Route", "S3PublicAccess", "WhatWasPlanned", "AwaitApproval", "NotifyExpired"]
    assert execution.handed_over_to == twin.standard_execution(execution.arn)
    assert execution.handed_over_to.split(":")[-1] == execution.arn.split(":")[-1], "the same name"
    (record,) = result.audit_records
    assert record["execution"] == execution.handed_over_to and record["decision"] == "approve"
    assert "attempts" not in record, "the Express Triage recorded nothing"
    assert [n["attributes"]["outcome"] for n in result.notifications] == ["awaiting-approval", "expired"]
    assert is_public(twin)


def test_a_throttle_is_handed_over_and_its_cool_down_runs_in_the_standard_workflow_cloudwatch(twin):
    result = twin.send(event("cloudwatch-alarm-apigw-rest-4xx.json"))

    (execution,) = result.executions
    assert execution.states[:3] == ["Triage", "Route", "HandOver"] and "CooldownWait" in execution.states[3:]
    assert execution.triage["decision"] == "enforce" and execution.handed_over_to


def test_settings_that_switch_protection_off_are_told_before_the_hand_over(twin):
    """The one hand-over Triage signs: the settings alert's message (Notify checks it) comes first."""
    settings(twin, {"modes": {"s3_public": "approve", "iam": "off"}, "approval_timeout_seconds": 1})

    result = twin.send(event(PUBLIC_POLICY_EVENT))

    (execution,) = result.executions
    assert execution.states[:5] == ["Triage", "Route", "NotifySettingsRemoveProtection", "Route", "HandOver"]
    outcomes = [n["attributes"]["outcome"] for n in result.notifications]
    assert outcomes[0] == "settings-changed" and outcomes[1:] == ["awaiting-approval", "expired"]


def test_a_triage_that_fails_in_express_is_triaged_again_in_standard_and_its_failure_told_there(twin):
    """Notify believes a failed Triage only from the execution's history, which Express does not keep:
    the Standard workflow triages again and, failing too, tells on-call."""
    with inject(Fault("s3", "GetBucketTagging", access_denied("s3"), times=None)):  # Triage cannot read the tags
        result = twin.send(event(PUBLIC_POLICY_EVENT))

    (execution,) = result.executions
    assert execution.states[:2] == ["Triage", "TriageAgainInStandard"]
    assert execution.states[2:] == ["Triage", "NotifyTriageFailed", "RemediationFailed"]
    assert execution.status == "FAILED" and execution.handed_over_to
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "failed" and "GetBucketTagging was denied" in message["body"]
    assert is_public(twin), "nothing was changed"


# --- as the attacker (PowerUserAccess) ----------------------------------------------------------


def test_attack_starting_the_standard_workflow_directly_with_a_forged_finding_changes_nothing(twin):
    """The Standard workflow starts at Triage, as the Express one does: every check applies to it."""
    forged = event("guardduty-iam-instancecredentialexfiltration-outsideaws.json")
    forged["detail"]["id"] = "0" * 32  # a finding GuardDuty does not hold
    sfn = twin.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=twin.long_running_arn, name="attacker", input=json.dumps(forged))["executionArn"]

    twin.settle()

    assert sfn.describe_execution(executionArn=arn)["status"] == "FAILED"  # EventRejected: the alarm counts it
    (message,) = twin._drain_inbox()
    assert message["attributes"]["outcome"] == "rejected" and f"GuardDuty holds no finding {'0' * 32}" in message["body"]


def test_attack_invoking_triage_as_the_express_workflow_gets_a_hand_over_and_nothing_else(twin):
    """fast_path only makes Triage hand the event on: it reads, records and authorizes no fix."""
    settings(twin, {"modes": {"s3_public": "approve"}})
    execution = f"arn:aws:states:us-east-1:{S.ACCOUNT}:express:warden-RemediationStateMachine:attacker:1"

    answer = twin.invoke("TriageFunction", {"event": event(PUBLIC_POLICY_EVENT), "execution": execution, "fast_path": True})

    assert answer["decision"] == "hand-over" and "approve" in answer["reason"]
    assert answer["event"] == event(PUBLIC_POLICY_EVENT) and "finding" not in answer
    assert "authorization" not in answer, "signed nothing: only the Standard workflow's start takes a hand-over"
    with mock.patch.dict("os.environ", {"WARDEN_AUDIT_TABLE": twin.physical["AuditTable"]}):
        assert audit.history(f"arn:aws:s3:::{S.TRAINING_BUCKET}") == []
    assert is_public(twin)


def test_attack_a_failed_triage_claimed_for_an_express_execution_pages_nobody(twin):
    """Express keeps no history, so Notify cannot believe a 'Triage failed' input about one."""
    execution = f"arn:aws:states:us-east-1:{S.ACCOUNT}:execution:{twin.state_machine_arn.split(':')[-1]}:made-up"
    payload = {"outcome": "failed", "state": {"error": {"Error": "Boom", "Cause": "invented text"}},
               "execution": execution, "step": "NotifyTriageFailed", "retry": 0}  # fmt: skip

    with pytest.raises(RuntimeError) as refused:
        twin.invoke("NotifyFunction", payload)

    assert "'errorType': 'Unauthorized'" in str(refused.value) and "cannot be read" in str(refused.value)
    assert twin._drain_inbox() == []
