"""Fault injection on the twin: throttling, refusals, resources vanishing mid-flight and a broken
notification topic. Faults answer at the wire in place of moto (local/faults.py), so botocore's
standard retry mode and the workflow's Retry/Catch see exactly what AWS would send."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from local import scenarios
from local.faults import (
    Error,
    Fault,
    access_denied,
    attribute_calls_to_functions,
    inject,
    record_api_calls,
    throttling,
    without_backoff,
)
from tests.robustness.world import (
    bucket_public_access,
    event_for_bucket,
    forget_claims,
    public_bucket,
    quarantined,
    s3_twin,
    training_policy,
)
from warden.remediations.s3_public import BLOCK_SETTINGS

EXPRESS = json.loads((Path(__file__).resolve().parents[2] / "statemachines" / "fast_path.asl.json").read_text())
_buckets = itertools.count()
PUBLIC_POLICY = "cloudtrail-s3-putbucketpolicy-public.json"
ACCOUNT_EVENT = "config-s3-account-level-public-access-blocks.json"


@pytest.fixture(scope="module")
def shared_twin():
    with s3_twin() as twin:
        yield twin


@pytest.fixture
def twin(shared_twin, request):
    """One twin for the module (building one takes seconds): each test gets its own public bucket
    (see `bucket`), the account's block off again and an empty dedupe window."""
    scenarios.account_block_off(shared_twin.client("s3control"))
    forget_claims(shared_twin)
    return shared_twin


@pytest.fixture
def bucket(twin, request) -> str:
    """A public training bucket of this test's own."""
    words = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower().removeprefix("test_")).strip("-")
    return public_bucket(twin, f"b{next(_buckets):03d}-{words}"[:63].rstrip("-"))


def send(twin, name: str, bucket: str, tag: str = ""):
    """An events/ file about `bucket`, with an event id of its own."""
    return twin.send(event_for_bucket(name, bucket, f"{bucket}{tag}"))


@pytest.fixture
def waits():
    """Retries happen as in AWS, without the waits between them (the suite stays fast); the waits
    that would have happened are listed."""
    with without_backoff() as waited:
        yield waited


def account_block(twin) -> dict:
    config = twin.client("s3control").get_public_access_block(AccountId=twin.account)["PublicAccessBlockConfiguration"]
    return {s: config[s] for s in BLOCK_SETTINGS}


def delete_bucket(twin, bucket: str):
    def delete() -> None:
        s3 = twin.client("s3")
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
        s3.delete_bucket(Bucket=bucket)

    return delete


# --- throttling: any call Warden makes, throttled once, and the event is still fixed --------------


def calls_of_a_remediated_event(twin) -> list[tuple[str, str]]:
    """(service, operation) of every call Warden's functions make for one remediated event, in order."""
    scenarios.public_training_bucket(twin.client("s3"), name="baseline-bucket")
    with attribute_calls_to_functions(twin), record_api_calls() as calls:
        result = twin.send(event_for_bucket(PUBLIC_POLICY, "baseline-bucket", "baseline"))
    assert result.status == "SUCCEEDED"
    return list(dict.fromkeys((c.service, c.operation) for c in calls if c.function))


def test_every_aws_call_warden_makes_survives_one_throttling_error(twin, waits):
    operations = calls_of_a_remediated_event(twin)
    assert len(operations) >= 10, operations  # S3 reads and writes, DynamoDB claims and audit, SNS
    for index, (service, operation) in enumerate(operations):
        bucket = f"throttled-{index}-{operation.lower()}"[:63]
        scenarios.public_training_bucket(twin.client("s3"), name=bucket)
        with inject(Fault(service, operation, throttling(service), times=1)) as fault:
            result = twin.send(event_for_bucket(PUBLIC_POLICY, bucket, f"throttle-{index}"))

        where = f"{service}.{operation} throttled once"
        assert fault.hits == 1, f"{where}: the fault never fired"
        assert fault.requests >= 2, f"{where}: nobody retried"
        assert result.status == "SUCCEEDED", f"{where}: {result.executions[0].error} {result.executions[0].cause}"
        assert [n["attributes"]["outcome"] for n in result.notifications] == ["remediated"], where
        assert quarantined(twin.client("s3"), bucket), where


def test_a_publish_that_fails_after_the_fix_is_sent_by_notify_and_nothing_is_applied_again(twin, bucket, waits):
    """SNS answers 429 Throttled (botocore does not retry it) when the family function tells on-call
    its fix is verified: the step still succeeds (a retry would plan again from the fixed bucket), and
    the workflow's NotifyRemediated sends the one message."""
    with attribute_calls_to_functions(twin), record_api_calls() as calls, inject(Fault("sns", "Publish", throttling("sns"), times=1)) as fault:
        result = send(twin, PUBLIC_POLICY, bucket)

    execution = result.executions[0]
    assert fault.hits == 1 and fault.requests == 2
    assert waits == [], "no step was retried"
    assert result.status == "SUCCEEDED"
    assert execution.states == ["Triage", "Route", "S3PublicAccess", "WhatWasPlanned", "NotifyRemediated"]
    assert execution.output["result"]["notified"] is False and "Throttled" in execution.output["result"]["notify_error"]
    assert [c.function for c in calls if c.service == "sns"] == ["S3PublicAccessFunction", "NotifyFunction"]
    changes = [c.operation for c in calls if c.service == "s3" and not c.operation.startswith(("Get", "List"))]
    assert "PutPublicAccessBlock" in changes and sorted(changes) == sorted(set(changes)), f"applied once, never again: {changes}"
    assert quarantined(twin.client("s3"), bucket)
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "remediated" and message["subject"].startswith("[Warden] Fixed: public S3 bucket")
    assert "Re-read the resource after the change: Block Public Access is on" in message["body"]
    record = result.audit_records[0]
    assert record["outcome"] == "remediated" and "notified_at" in record


def test_a_read_throttled_beyond_the_client_retries_is_retried_by_the_workflow(twin, bucket, waits):
    # warden.aws.CLIENT_CONFIG's total_max_attempts=3: 3 attempts, 2 backoffs, then the AWS error
    # (well inside the function timeout: tests/unit/test_aws.py); a read still throttled becomes
    # RetryLater, and the remediation state's Retry runs the whole step again 30 s later.
    with inject(Fault("s3", "GetPublicAccessBlock", throttling("s3"), times=3)) as fault:
        result = send(twin, PUBLIC_POLICY, bucket)
    assert fault.hits == 3 and fault.requests > 3  # read again by the retried step (and its re-read after the fix)
    assert [source for source, _ in waits] == ["botocore", "botocore", "workflow"]
    assert result.status == "SUCCEEDED"
    assert [n["attributes"]["outcome"] for n in result.notifications] == ["remediated"]
    assert quarantined(twin.client("s3"), bucket)


def test_triage_reading_tags_throttled_beyond_the_client_retries_is_triaged_again_by_the_standard_workflow(twin, bucket, waits):
    """The Express workflow does not wait for a throttled Triage: the Standard one triages the event
    again, with its own RetryLater retries (an hour of them) if it is still throttled."""
    with inject(Fault("s3", "GetBucketTagging", throttling("s3"), times=3)) as fault:
        result = send(twin, PUBLIC_POLICY, bucket)
    assert fault.hits == 3
    assert [source for source, _ in waits] == ["botocore", "botocore"]
    assert result.executions[0].states[:3] == ["Triage", "TriageAgainInStandard", "Triage"]
    assert result.status == "SUCCEEDED"
    assert [n["attributes"]["outcome"] for n in result.notifications] == ["remediated"]


def test_throttling_that_never_ends_fails_loudly_and_changes_nothing(twin, bucket, waits):
    before = bucket_public_access(twin.client("s3"), bucket)
    with inject(Fault("s3", "GetPublicAccessBlock", throttling("s3"), times=None)) as fault:
        result = send(twin, PUBLIC_POLICY, bucket)
    # 1 + MaxAttempts runs of the step (the Express workflow's RetryLater Retry: 2, which fits in its
    # 5 minutes), each with the client's 3 attempts
    (later,) = [r for r in EXPRESS["States"]["S3PublicAccess"]["Retry"] if r["ErrorEquals"] == ["RetryLater"]]
    assert fault.requests == 3 * (1 + later["MaxAttempts"])
    assert [source for source, _ in waits].count("workflow") == later["MaxAttempts"]
    assert result.status == "FAILED"
    assert result.executions[0].error == "Warden.RemediationFailed"
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "failed"
    assert "GetPublicAccessBlock is throttled (SlowDown); nothing was changed" in message["body"]
    assert bucket_public_access(twin.client("s3"), bucket) == before, "nothing was changed"


# --- refusals: the workflow fails, says so, and never changes anything it has not recorded -------

DENIALS = {
    # name: (event, the fault, what the failure message must say, whether some change was applied)
    "triage cannot read tags": (PUBLIC_POLICY, lambda: Fault("s3", "GetBucketTagging", access_denied("s3"), times=None), "GetBucketTagging was denied", False),
    "first read of the snapshot": (PUBLIC_POLICY, lambda: Fault("s3", "GetPublicAccessBlock", access_denied("s3")), "GetPublicAccessBlock was denied", False),
    "before-snapshot cannot be recorded": (
        PUBLIC_POLICY,
        lambda: Fault("dynamodb", "UpdateItem", access_denied("dynamodb")),  # the fix's first write (Triage's is a transaction)
        "AccessDeniedException",
        False,
    ),
    "first change": (PUBLIC_POLICY, lambda: Fault("s3", "PutPublicAccessBlock", access_denied("s3")), "s3:PutBucketPublicAccessBlock was denied; nothing was applied", False),
    "third change": (
        PUBLIC_POLICY,
        lambda: Fault("s3", "PutBucketAcl", access_denied("s3")),
        "s3:PutBucketAcl was denied; already applied: s3:PutBucketPublicAccessBlock, s3:PutBucketPolicy",
        True,
    ),
    "account-level change": (ACCOUNT_EVENT, lambda: Fault("s3control", "PutPublicAccessBlock", access_denied("s3control")), "s3:PutAccountPublicAccessBlock was denied; nothing was applied", False),
}


@pytest.mark.parametrize("case", sorted(DENIALS))
def test_access_denied_fails_cleanly_and_notifies(twin, bucket, case):
    name, make_fault, says, applied_some = DENIALS[case]
    s3, fault = twin.client("s3"), make_fault()
    bucket_before, account_before = bucket_public_access(s3, bucket), account_block(twin)

    with inject(fault):
        result = send(twin, name, bucket)

    # A Triage that fails in the Express workflow is triaged again in the Standard one, and denied again.
    assert fault.hits == 1 + ("TriageAgainInStandard" in result.executions[0].states)
    assert result.status == "FAILED"
    assert result.executions[0].error == "Warden.RemediationFailed"
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "failed" and message["attributes"]["severity"] == "HIGH"
    assert says in message["body"]
    assert account_block(twin) == account_before, "the account setting is unchanged"
    if not applied_some:
        assert bucket_public_access(s3, bucket) == bucket_before, "nothing was changed"
    else:
        assert bucket_public_access(s3, bucket) != bucket_before
        record = result.audit_records[0]
        assert record["before"]["policy"] == training_policy(bucket), "what was applied can be rolled back"
    if "NotifyTriageFailed" in result.executions[0].states:  # Triage itself failed: no finding recorded
        assert result.audit_records == []
    else:
        assert result.audit_records[0]["outcome"] == "failed"


# --- the resource changes under Warden's feet -----------------------------------------------------


def test_bucket_deleted_in_the_middle_of_the_fix_is_resource_gone(twin, bucket):
    gone = Fault("s3", "PutBucketPolicy", before=delete_bucket(twin, bucket))
    with inject(gone):
        result = send(twin, PUBLIC_POLICY, bucket)
    assert gone.hits == 1
    assert result.status == "SUCCEEDED"
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "resource-gone"
    assert "vanished during s3:PutBucketPolicy; already applied: s3:PutBucketPublicAccessBlock" in message["body"]


def test_bucket_deleted_between_fix_and_verification_is_resource_gone(twin, bucket):
    # the snapshot reads the public access block first; the second read is the re-read after the fix
    gone = Fault("s3", "GetPublicAccessBlock", before=delete_bucket(twin, bucket), after=1)
    with inject(gone):
        result = send(twin, PUBLIC_POLICY, bucket)
    assert gone.hits == 1
    assert result.executions[0].states[-1] == "NotifyResourceGone"
    assert result.audit_records[0]["applied"], "the fix is on record, without an after-snapshot"
    assert result.status == "SUCCEEDED"
    assert [n["attributes"]["outcome"] for n in result.notifications] == ["resource-gone"]


def test_account_block_turned_on_by_someone_else_meanwhile_is_already_compliant(twin):
    def someone_turns_it_on() -> None:
        twin.client("s3control").put_public_access_block(
            AccountId=twin.account, PublicAccessBlockConfiguration={s: True for s in BLOCK_SETTINGS}
        )

    meanwhile = Fault("s3control", "GetPublicAccessBlock", before=someone_turns_it_on)
    with inject(meanwhile):
        result = send(twin, ACCOUNT_EVENT, "account", "-turned-on")
    assert meanwhile.hits == 1
    assert result.decision == "enforce"
    assert result.executions[0].states[-1] == "AlreadyCompliant"
    assert result.notifications == [], "nobody is paged for nothing"
    record = result.audit_records[0]
    assert record["changes"] == [] and "applied" not in record, "Warden changed nothing"


def test_account_block_deleted_meanwhile_is_turned_back_on(twin):
    def someone_deletes_it() -> None:
        twin.client("s3control").delete_public_access_block(AccountId=twin.account)

    meanwhile = Fault("s3control", "GetPublicAccessBlock", before=someone_deletes_it)
    with inject(meanwhile):
        result = send(twin, ACCOUNT_EVENT, "account", "-deleted")
    assert result.status == "SUCCEEDED"
    assert all(account_block(twin).values())
    assert "delete-public-access-block" in result.notifications[0]["body"], "the undo restores 'no configuration'"


# --- the notification topic fails: the failure still surfaces -------------------------------------

BROKEN_TOPIC = Error(400, "KMSAccessDenied", "The ciphertext refers to a customer master key that does not exist or that you do not have access to.")


@pytest.mark.parametrize(
    "make_fault, outcome_before",
    [(lambda: None, "remediated"), (lambda: Fault("s3", "PutBucketAcl", access_denied("s3")), "failed")],
    ids=["after a fix", "after a failed fix"],
)
def test_broken_topic_fails_the_execution_so_the_alarm_fires(twin, bucket, waits, make_fault, outcome_before):
    publish, fault = Fault("sns", "Publish", BROKEN_TOPIC, times=None), make_fault()
    with inject(publish, *([fault] if fault else [])):
        result = send(twin, PUBLIC_POLICY, bucket)

    execution = result.executions[0]
    # After a fix the family function tries first, then NotifyRemediated: one attempt and its two retries.
    assert publish.requests == (4 if outcome_before == "remediated" else 3)
    assert waits == [("workflow", 2), ("workflow", 4)]
    assert result.notifications == []
    assert execution.status == "FAILED", "ExecutionsFailed counts this execution: the alarm fires"
    assert execution.error == "KMSAccessDeniedException"
    assert "KMSAccessDenied" in execution.cause
    record = result.audit_records[0]
    assert "notified_at" not in record, "the audit trail does not claim anyone was told"
    if outcome_before == "remediated":
        assert quarantined(twin.client("s3"), bucket), "the fix itself stands"
        assert record["verification"]["exposed"] == []
    alarm = twin.template["Resources"]["ExecutionsFailedAlarm"]["Properties"]
    watched = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
    assert {"Namespace": "AWS/States", "MetricName": "ExecutionsFailed",
            "Dimensions": [{"Name": "StateMachineArn", "Value": {"Ref": "RemediationStateMachine"}}]} in watched  # fmt: skip
