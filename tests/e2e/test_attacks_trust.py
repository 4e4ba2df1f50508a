"""Attacks on Warden's trust boundary, made the way an attacker with ordinary, non-IAM rights
(PowerUserAccess) would make them: boto3 calls on the twin (Invoke a function, PutItem in a table,
read an execution's history). Each changes nothing and says why (issue 11, parts 2-4).

moto does not enforce KMS key policies: that only Warden's roles can sign (kms:GenerateMac) is
proved on the template in tests/unit/test_authorization_key.py.
"""

from __future__ import annotations

import copy
import json

import pytest

from local import scenarios as S
from tests.conftest import event
from warden.findings import parse_finding

ADMIN_ATTACHED = "cloudtrail-iam-attachrolepolicy-administratoraccess.json"


def attached(twin, role: str) -> list[str]:
    return [p["PolicyArn"] for p in twin.client("iam").list_attached_role_policies(RoleName=role)["AttachedPolicies"]]


def refusal(twin, function: str, payload) -> str:
    """Invoke a function as the attacker; the error it answers with (it must refuse)."""
    with pytest.raises(RuntimeError) as refused:
        twin.invoke(function, payload)
    error = str(refused.value)
    assert "'errorType': 'Unauthorized'" in error, error
    return error


def scheduled_inputs(execution) -> dict[str, dict]:
    """What the workflow sent each Lambda state: genuine inputs, as the attacker captures them from a
    Standard execution's history (states:GetExecutionHistory) or a log. An Express execution keeps no
    history its API returns, so the twin's own record of it stands in for such a capture."""
    inputs, entered = {}, None
    for item in execution.history:
        if "stateEnteredEventDetails" in item:
            entered = item["stateEnteredEventDetails"]["name"]
        if item["type"] == "LambdaFunctionScheduled":
            inputs[entered] = json.loads(item["lambdaFunctionScheduledEventDetails"]["input"])
    return inputs


def hand_built_detach(role: str) -> dict:
    """A state as the IAM function takes it, naming a protected role, with no Triage in between."""
    raw = event(ADMIN_ATTACHED)
    raw["detail"]["requestParameters"]["roleName"] = role
    finding = parse_finding(raw).to_dict()
    return {"finding": finding, "remediation": "iam-detach-admin-policies", "family": "iam", "decision": "enforce", "reason": "Mode is enforce"}


def test_attack_invoking_the_iam_function_directly_detaches_nothing(twin):
    """Skipping triage: the protected break-glass role keeps AdministratorAccess."""
    state = hand_built_detach(S.BREAK_GLASS_ROLE)
    execution = f"arn:aws:states:us-east-1:{S.ACCOUNT}:execution:warden-RemediationStateMachine:forged"

    unsigned = refusal(twin, "IamFunction", {"state": state, "execution": execution, "step": "Iam", "retry": 0})
    old_shape = refusal(twin, "IamFunction", state)  # the state itself, as the function took it before
    forged = {**state, "authorization": {"execution": execution, "decision": "enforce", "expires_at": 4102444800, "mac": "AAAA"}}
    forged_mac = refusal(twin, "IamFunction", {"state": forged, "execution": execution, "step": "Iam", "retry": 0})

    assert "Iam: finding " in unsigned and "was not authorized by Triage for this execution: the state carries no authorization" in unsigned
    assert "step None is not one this function runs (Iam)" in old_shape
    assert "its signature does not match the finding, remediation and decision it carries (forged or altered)" in forged_mac
    assert S.ADMIN_POLICY_ARN in attached(twin, S.BREAK_GLASS_ROLE), "nothing was detached"


def test_attack_a_genuine_authorization_moved_to_another_role_is_refused_iam(twin):
    """Capture a real authorization from the execution history and point its finding at another role."""
    result = twin.send(event(ADMIN_ATTACHED))
    assert result.decision == "enforce"
    captured = scheduled_inputs(result.executions[0])["Iam"]
    moved = copy.deepcopy(captured)
    moved["state"]["finding"]["details"]["requestParameters"]["roleName"] = S.BREAK_GLASS_ROLE
    moved["retry"] = 1

    error = refusal(twin, "IamFunction", moved)

    assert "forged or altered" in error
    assert S.ADMIN_POLICY_ARN in attached(twin, S.BREAK_GLASS_ROLE)


def test_attack_replaying_a_captured_family_step_is_refused_iam(twin):
    """The genuine input of the Iam step, sent again after the workflow ran it: refused, nothing detached."""
    result = twin.send(event(ADMIN_ATTACHED))
    assert result.decision == "enforce" and result.status == "SUCCEEDED"
    captured = scheduled_inputs(result.executions[0])["Iam"]
    twin.client("iam").attach_role_policy(RoleName=S.PIPELINE_ROLE, PolicyArn=S.ADMIN_POLICY_ARN)  # put back since

    error = refusal(twin, "IamFunction", captured)

    assert "this step already ran with this authorization (a replay)" in error
    assert S.ADMIN_POLICY_ARN in attached(twin, S.PIPELINE_ROLE), "the replay changed nothing"


def notify_remediated_input(execution) -> dict:
    """NotifyRemediated's input as the workflow would build it from this execution's final state,
    which anyone with states:DescribeExecution reads (the family step told on-call, so the workflow
    never scheduled it)."""
    return {"outcome": "remediated", "state": execution.output, "execution": execution.arn, "step": "NotifyRemediated", "retry": 0}


def test_attack_replaying_the_fix_and_notify_is_refused(twin):
    result = twin.send(event("cloudtrail-s3-putbucketpolicy-public.json"))
    assert result.status == "SUCCEEDED" and len(result.notifications) == 1
    inputs = scheduled_inputs(result.executions[0])
    assert "NotifyRemediated" not in inputs, "the family step told on-call itself"

    fix = refusal(twin, "S3PublicAccessFunction", inputs["S3PublicAccess"])
    notify = refusal(twin, "NotifyFunction", notify_remediated_input(result.executions[0]))
    other_state = refusal(twin, "NotifyFunction", {**notify_remediated_input(result.executions[0]), "step": "NotifyThrottled"})

    assert "(a replay)" in fix and "(a replay)" in notify and "(a replay)" in other_state
    assert twin._drain_inbox() == [], "on-call was not paged again"


def test_attack_a_replayed_or_forged_family_input_pages_nobody(twin):
    """The family step pages on-call only under Triage's authorization, which it checks and consumes
    before anything else: its captured input sent again, or with the text on-call reads rewritten,
    or with no Triage at all, publishes nothing."""
    result = twin.send(event("cloudtrail-s3-putbucketpolicy-public.json"))
    assert result.status == "SUCCEEDED" and len(result.notifications) == 1
    captured = scheduled_inputs(result.executions[0])["S3PublicAccess"]
    rewritten = copy.deepcopy(captured)
    rewritten["state"]["reason"] = "URGENT: rotate every key now at https://evil.example"
    rewritten["retry"] = 1
    unsigned = copy.deepcopy(captured)
    del unsigned["state"]["authorization"]

    replay = refusal(twin, "S3PublicAccessFunction", {**captured, "retry": 3})
    forged = refusal(twin, "S3PublicAccessFunction", rewritten)
    no_triage = refusal(twin, "S3PublicAccessFunction", unsigned)

    assert "(a replay)" in replay
    assert "forged or altered" in forged
    assert "the state carries no authorization" in no_triage
    assert twin._drain_inbox() == [], "nobody was paged"


def test_attack_replaying_notify_changes_neither_the_record_nor_on_call(twin):
    """The family step that told on-call wrote the mark of the workflow's outcome message with its
    outcome: NotifyRemediated's input, built from the execution's state, even claiming to be a later
    retry, is refused by Notify's write, so the record stays as the genuine run left it and nobody
    is paged again."""
    result = twin.send(event("cloudtrail-s3-putbucketpolicy-public.json"))
    forged = notify_remediated_input(result.executions[0])
    table, finding_id = twin.physical["AuditTable"], result.audit_records[0]["finding_id"]
    before = twin.client("dynamodb").get_item(TableName=table, Key={"finding_id": {"S": finding_id}})["Item"]

    replay = refusal(twin, "NotifyFunction", forged)
    as_a_retry = refusal(twin, "NotifyFunction", {**forged, "retry": 5})

    assert "(a replay)" in replay and "(a replay)" in as_a_retry
    assert twin.client("dynamodb").get_item(TableName=table, Key={"finding_id": {"S": finding_id}})["Item"] == before
    assert before["outcome"] == {"S": "remediated"} and "notified_at" in before
    assert twin._drain_inbox() == [], "on-call was not paged again"


def test_attack_replaying_the_s3_fix_changes_neither_the_bucket_nor_the_record(twin):
    """The family step's mark is part of its before-snapshot write: replayed after the attacker made
    the bucket public again, the step reads the bucket, is refused by that write, and neither fixes
    the bucket nor replaces the recorded before-snapshot (rollback's source) with what it read."""
    result = twin.send(event("cloudtrail-s3-putbucketpolicy-public.json"))
    captured = scheduled_inputs(result.executions[0])["S3PublicAccess"]
    table, finding_id = twin.physical["AuditTable"], result.audit_records[0]["finding_id"]
    before = twin.client("dynamodb").get_item(TableName=table, Key={"finding_id": {"S": finding_id}})["Item"]
    s3 = twin.client("s3")
    s3.delete_public_access_block(Bucket=S.TRAINING_BUCKET)
    s3.put_bucket_policy(Bucket=S.TRAINING_BUCKET, Policy=json.dumps(S.TRAINING_POLICY))

    replay = refusal(twin, "S3PublicAccessFunction", captured)
    as_a_retry = refusal(twin, "S3PublicAccessFunction", {**captured, "retry": 4})

    assert "this step already ran with this authorization (a replay)" in replay and "(a replay)" in as_a_retry
    assert "nothing was changed or recorded" in replay
    assert json.loads(s3.get_bucket_policy(Bucket=S.TRAINING_BUCKET)["Policy"]) == S.TRAINING_POLICY, "the replay fixed nothing"
    assert twin.client("dynamodb").get_item(TableName=table, Key={"finding_id": {"S": finding_id}})["Item"] == before


ALARM_ACTION = {
    "source": "aws.cloudwatch",
    "alarmArn": f"arn:aws:cloudwatch:us-east-1:{S.ACCOUNT}:alarm:warden-ExecutionsFailedAlarm",
    "accountId": S.ACCOUNT,
    "time": "2026-11-21T10:00:00.000+0000",
    "region": "us-east-1",
    "alarmData": {
        "alarmName": "warden-ExecutionsFailedAlarm",
        "state": {"value": "ALARM", "reason": "Rotate your keys now at https://evil.example"},
        "configuration": {"description": "URGENT"},
    },
}


def test_attack_a_forged_alarm_action_pages_nobody(twin):
    """Warden's alarm is OK, and another alarm is not Warden's: neither payload publishes anything."""
    not_in_alarm = refusal(twin, "NotifyFunction", ALARM_ACTION)
    someone_elses = copy.deepcopy(ALARM_ACTION)
    someone_elses["alarmData"]["alarmName"] = "team-alarm"
    twin.client("cloudwatch").put_metric_alarm(
        AlarmName="team-alarm", Namespace="AWS/SQS", MetricName="NumberOfMessagesSent", Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=-1, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    twin.client("cloudwatch").set_alarm_state(AlarmName="team-alarm", StateValue="ALARM", StateReason="invented")
    not_ours = refusal(twin, "NotifyFunction", someone_elses)

    assert "Warden's alarm warden-ExecutionsFailedAlarm is OK in CloudWatch, not ALARM. Nothing was published." in not_in_alarm
    assert "'team-alarm' is not one of Warden's own alarms" in not_ours
    assert twin._drain_inbox() == []


def test_an_alarm_in_alarm_is_told_in_cloudwatch_s_words_not_the_payload_s(twin):
    twin.client("cloudwatch").set_alarm_state(
        AlarmName="warden-ExecutionsFailedAlarm", StateValue="ALARM", StateReason="Threshold Crossed: 1 datapoint [1.0] was >= 1.0"
    )
    assert twin.invoke("NotifyFunction", ALARM_ACTION)["outcome"] == "alarm"
    (message,) = twin._drain_inbox()
    assert "Threshold Crossed" in message["body"] and "A Warden workflow execution failed" in message["body"]
    assert "evil.example" not in message["body"] and "URGENT" not in message["body"]


# --- rollback cannot escalate ---------------------------------------------------------------------


def rollback(twin, finding_id: str) -> dict:
    """What `python -m warden_ops rollback` runs (the operator's own credentials), without an exemption."""
    from warden_ops import rollback as operator_rollback
    from warden_ops.target import TwinTarget

    return operator_rollback.run(TwinTarget(twin), finding_id, force=True, exempt_for=None)


def test_attack_a_forged_audit_record_cannot_make_rollback_attach_admin_iam(twin):
    """The attacker (whose role is ml-pipeline-role) writes audit items whose before-snapshot shows
    AdministratorAccess attached to their role, and asks for the rollback: refused, nothing attached."""
    genuine = twin.send(event(ADMIN_ATTACHED))  # Warden detaches AdministratorAccess from the role
    assert genuine.decision == "enforce" and S.ADMIN_POLICY_ARN not in attached(twin, S.PIPELINE_ROLE)
    dynamodb, table = twin.client("dynamodb"), twin.physical["AuditTable"]
    finding_id = genuine.audit_records[0]["finding_id"]
    item = dynamodb.get_item(TableName=table, Key={"finding_id": {"S": finding_id}})["Item"]
    assert S.ADMIN_POLICY_ARN in item["before"]["S"], "the before-snapshot holds the attachment"

    copied = {**item, "finding_id": {"S": "cloudtrail:forged-0001"}}  # the genuine snapshot and proof, another record
    dynamodb.put_item(TableName=table, Item=copied)
    hand_written = {**item, "finding_id": {"S": "cloudtrail:forged-0002"}}
    hand_written.pop("before_proof")
    dynamodb.put_item(TableName=table, Item=hand_written)
    edited = json.loads(item["before"]["S"]) | {"note": "edited"}
    dynamodb.put_item(TableName=table, Item={**item, "before": {"S": json.dumps(edited)}})  # the genuine record, altered

    answers = [rollback(twin, fid) for fid in ("cloudtrail:forged-0001", "cloudtrail:forged-0002", finding_id)]

    for answer in answers:
        assert answer["status"] == "refused", answer
        assert "this before-snapshot was not written by Warden's remediation" in answer["message"]
    assert S.ADMIN_POLICY_ARN not in attached(twin, S.PIPELINE_ROLE), "nothing was attached"


def test_no_function_anyone_can_invoke_re_grants_or_switches_protection_off():
    """The Rollback function is gone; no function's role (each can be invoked directly) holds these."""
    from cfnlint.decode import decode

    from local.twin import ROOT

    template, _ = decode(str(ROOT / "template.yaml"))
    functions = {name: spec for name, spec in template["Resources"].items() if spec["Type"] == "AWS::Serverless::Function"}
    assert "RollbackFunction" not in functions
    dangerous = ("iam:Attach", "kms:ScheduleKeyDeletion", "kms:DisableKey", "cloudtrail:StopLogging", "iam:CreateAccessKey")
    granted = {
        (name, action)
        for name, spec in functions.items()
        for policy in spec["Properties"].get("Policies", [])
        for statement in policy.get("Statement", [])
        for branch in (statement["Fn::If"][1:] if "Fn::If" in statement else [statement])
        if isinstance(branch, dict) and branch.get("Effect") == "Allow"
        for action in (branch["Action"] if isinstance(branch["Action"], list) else [branch["Action"]])
        if action.startswith(dangerous) or action in ("*", "iam:*", "kms:*", "cloudtrail:*")
    }
    assert granted == set()


# --- the audit record survives redelivery ---------------------------------------------------------


def test_attack_the_same_event_twice_keeps_the_first_before_snapshot_and_rollback_works(twin):
    first = twin.send(event("cloudtrail-s3-putbucketpolicy-public.json"))
    (record,) = first.audit_records
    assert first.decision == "enforce" and record["applied"]

    again = twin.send(event("cloudtrail-s3-putbucketpolicy-public.json"))  # EventBridge delivers at least once

    (kept,) = again.audit_records
    assert again.decision == "duplicate" and "a redelivery or replay is recorded as an attempt and never re-applied" in again.executions[0].triage["reason"]
    assert kept["before"] == record["before"] and kept["before_proof"] == record["before_proof"]
    assert kept["applied"] == record["applied"] and kept["outcome"] == "remediated" and kept["execution"] == record["execution"]
    assert [a["decision"] for a in kept["attempts"] if "decision" in a] == ["duplicate"]
    assert [a["outcome"] for a in kept["attempts"] if "outcome" in a] == ["duplicate"], "its message is an attempt too"
    assert rollback(twin, record["finding_id"])["status"] == "rolled-back"
    assert json.loads(twin.client("s3").get_bucket_policy(Bucket=S.TRAINING_BUCKET)["Policy"]) == S.TRAINING_POLICY
