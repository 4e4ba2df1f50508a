"""Rollback on the twin: after a real fix by the workflow, `python -m warden_ops rollback` restores
the before-snapshot exactly under the operator's own credentials, refuses when someone changed the
resource since the fix, exempts the resource for a while so Warden does not undo it, and records it."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from unittest import mock

import pytest

from local import scenarios
from tests.conftest import event
from warden import registry
from warden.aws import for_finding
from warden.findings import Finding
from warden.steps import FAMILY_STEPS
from warden_ops import rollback as operator_rollback
from warden_ops.target import TwinTarget

S = scenarios
BUCKET = S.TRAINING_BUCKET
PUBLIC_POLICY_EVENT = "cloudtrail-s3-putbucketpolicy-public.json"

# Per family, one event per remediation the fixture's scenario exposes (each on its own resource):
# the workflow fixes it, then it is rolled back. One twin per family keeps the suite fast.
FIXED_BY = {
    "s3_public": {
        "s3-quarantine-public-bucket": PUBLIC_POLICY_EVENT,
        "s3-account-block-public-access": "config-s3-account-level-public-access-blocks.json",
    },
    "encryption": {
        "s3-restore-default-encryption": "cloudtrail-s3-deletebucketencryption.json",
        "sqs-restore-queue-encryption": "cloudtrail-sqs-setqueueattributes-sse-off.json",
        "sns-restore-topic-encryption": "cloudtrail-sns-settopicattributes-kms-removed.json",
        "ec2-enable-ebs-encryption-by-default": "cloudtrail-ec2-disableebsencryptionbydefault.json",
        "kms-keep-key-usable": "cloudtrail-kms-disablekey.json",
        "kms-enable-key-rotation": "cloudtrail-kms-disablekeyrotation.json",
        "cloudtrail-restart-logging": "cloudtrail-cloudtrail-stoplogging.json",
        "sagemaker-stop-exposed-notebook": "cloudtrail-sagemaker-createnotebookinstance-internet.json",
    },
    "iam": {
        "iam-restrict-managed-policy (earlier version)": "cloudtrail-iam-createpolicyversion-admin.json",
        "iam-restrict-managed-policy (new version)": "cloudtrail-iam-createpolicy-full-access.json",
        "iam-strip-inline-policy": "cloudtrail-iam-putrolepolicy-admin.json",
        "iam-detach-admin-policies": "cloudtrail-iam-attachrolepolicy-administratoraccess.json",
        "iam-revoke-role-sessions": "guardduty-iam-instancecredentialexfiltration-outsideaws.json",
        "iam-deactivate-access-key": "guardduty-iam-maliciousipcaller-accesskey.json",
    },
}


def fix(twin, event_file: str) -> dict:
    """Send the event through the real rules and workflow; the audit record of a fix that was applied."""
    result = twin.send(event(event_file))
    assert result.status == "SUCCEEDED" and result.decision == "enforce", (result.decision, result.executions)
    (record,) = result.audit_records
    assert record["applied"], f"{event_file} changed nothing, so there is nothing to roll back"
    return record


def reread(twin, record: dict) -> dict:
    """The resource's state now, read by the remediation's own snapshot with a function's environment."""
    remediation = registry.get(record["remediation"])
    finding = Finding.from_dict(record["finding"])
    env = twin.functions[twin.physical[f"{FAMILY_STEPS[remediation.family]}Function"]]["env"]  # the family's own
    with mock.patch.dict(os.environ, env):
        return remediation.state(remediation.snapshot(finding, for_finding(finding)))


def rollback(twin, finding_id: str, force: bool = False, exempt_for: timedelta | None = None) -> dict:
    """What `python -m warden_ops rollback` runs, as the twin's caller (moto's default identity)."""
    return operator_rollback.run(TwinTarget(twin), finding_id, force=force, exempt_for=exempt_for)


def caller(twin) -> str:
    return TwinTarget(twin).caller()


@pytest.mark.parametrize("family", sorted(FIXED_BY))
def test_rollback_restores_the_before_state_exactly(twin, family):
    """Names with "iam" make the fixture load the IAM scenario (tests/conftest.py)."""
    assert {registry.get(name.split(" ")[0]).family for name in FIXED_BY[family]} == {family}
    not_exact = {}
    for name, event_file in FIXED_BY[family].items():
        record = fix(twin, event_file)
        remediation = registry.get(record["remediation"])
        before = remediation.state(record["before"])
        assert reread(twin, record) != before, f"{name}: the fix changed the resource"

        answer = rollback(twin, record["finding_id"])

        assert answer["status"] == "rolled-back", f"{name}: {answer['message']}"
        if reread(twin, record) != before or not answer["restored_exactly"]:
            not_exact[name] = answer["differences"]
    assert not not_exact, f"not restored exactly: {not_exact}"


def test_rollback_of_the_public_bucket_puts_back_policy_acl_tags_and_block(twin):
    record = fix(twin, PUBLIC_POLICY_EVENT)
    s3 = twin.client("s3")

    answer = rollback(twin, record["finding_id"])

    assert answer["status"] == "rolled-back"
    assert "rolled back to its before-snapshot" in answer["message"]
    assert "exempt" in answer["warning"], "the operator is told Warden may fix it again"
    assert json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"]) == S.TRAINING_POLICY
    assert {"Type": "Group", "URI": S.ALL_USERS} in [g["Grantee"] for g in s3.get_bucket_acl(Bucket=BUCKET)["Grants"]]
    assert s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"] == [{"Key": "data-classification", "Value": "training"}]
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchPublicAccessBlockConfiguration"):
        s3.get_public_access_block(Bucket=BUCKET)
    stored = audit_record(twin, record["finding_id"])
    assert stored["rolled_back_at"]
    assert stored["rollback"]["requested_by"] == caller(twin), "as AWS names the caller (sts:GetCallerIdentity)"
    assert stored["rollback"]["forced"] is False
    assert stored["rollback"]["restored_exactly"] is True
    assert stored["outcome"] == "remediated", "the original outcome stays; the rollback is recorded beside it"


def audit_record(twin, finding_id: str) -> dict:
    from warden import audit

    with mock.patch.dict(os.environ, {"WARDEN_AUDIT_TABLE": twin.physical["AuditTable"]}):
        return audit.read(finding_id)


def drift_the_bucket(twin) -> dict:
    """Someone adds a statement to the (fixed) bucket policy after Warden's fix."""
    s3 = twin.client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    added = {"Sid": "AnalyticsRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/Analytics"},
             "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}  # fmt: skip
    policy["Statement"].append(added)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    return policy


def test_rollback_is_refused_when_the_resource_changed_since_the_fix(twin):
    record = fix(twin, PUBLIC_POLICY_EVENT)
    changed_policy = drift_the_bucket(twin)

    answer = rollback(twin, record["finding_id"])

    assert answer["status"] == "refused"
    assert "changed since Warden's fix" in answer["message"]
    assert "AnalyticsRead" in answer["message"], "the message shows what changed"
    assert "--force" in answer["message"]
    assert [line for line in answer["drift"] if line.startswith("policy.Statement: added")] == [
        line for line in answer["drift"] if "AnalyticsRead" in line
    ] != []
    s3 = twin.client("s3")
    assert json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"]) == changed_policy, "nothing was changed"
    assert "rolled_back_at" not in audit_record(twin, record["finding_id"])


def test_forced_rollback_restores_the_before_state_over_later_changes(twin):
    record = fix(twin, PUBLIC_POLICY_EVENT)
    drift_the_bucket(twin)

    answer = rollback(twin, record["finding_id"], force=True)

    assert answer["status"] == "rolled-back"
    assert answer["forced"] is True and answer["drift"]
    assert "forced over changes made since the fix" in answer["message"]
    assert json.loads(twin.client("s3").get_bucket_policy(Bucket=BUCKET)["Policy"]) == S.TRAINING_POLICY
    stored = audit_record(twin, record["finding_id"])["rollback"]
    assert stored["forced"] is True
    assert any("AnalyticsRead" in line for line in stored["drift"])
    assert "AnalyticsRead" in json.dumps(stored["overwritten_state"]), "what the rollback overwrote is on record"


def test_a_second_rollback_is_refused(twin):
    record = fix(twin, PUBLIC_POLICY_EVENT)
    assert rollback(twin, record["finding_id"])["status"] == "rolled-back"

    again = rollback(twin, record["finding_id"])

    assert again["status"] == "refused"
    assert "already rolled back" in again["message"] and caller(twin) in again["message"]


def test_nothing_to_roll_back_for_a_dry_run_or_an_unknown_id():
    from local.twin import Twin

    with Twin(parameters={"Mode": "dry-run"}) as twin:
        S.public_training_bucket(twin.client("s3"))
        result = twin.send(event(PUBLIC_POLICY_EVENT))
        assert result.decision == "dry-run"

        dry_run = rollback(twin, result.audit_records[0]["finding_id"])
        unknown = rollback(twin, "cloudtrail:no-such-finding")

    assert dry_run["status"] == "refused"
    assert "Warden changed nothing for this finding (decision 'dry-run'" in dry_run["message"]
    assert unknown["status"] == "refused"
    assert "no audit record has finding_id 'cloudtrail:no-such-finding'" in unknown["message"]


def test_the_operators_restore_is_exempted_so_warden_does_not_undo_it():
    """The restore is the operator's own API call, so its CloudTrail event reaches Warden like anyone's:
    the rollback exempts exactly that resource for a while, named after the caller and the finding."""
    from local.twin import Twin

    with Twin(parameters={"Mode": "enforce", "SettingsCacheSeconds": "0"}) as twin:
        S.public_training_bucket(twin.client("s3"))
        record = fix(twin, PUBLIC_POLICY_EVENT)

        answer = rollback(twin, record["finding_id"], exempt_for=timedelta(hours=24))
        restore_event = event(PUBLIC_POLICY_EVENT) | {"id": "d9b2c3e4-f5a6-4789-bcde-f01234567890"}
        restore_event["detail"]["eventID"] = "d9b2c3e4-f5a6-4789-bcde-f01234567890"  # the operator's own call
        again = twin.send(restore_event)
        settings = json.loads(twin.client("ssm").get_parameter(Name=twin.physical["SettingsParameter"])["Parameter"]["Value"])
        stored = audit_record(twin, record["finding_id"])
        operator = caller(twin)
        policy_after = json.loads(twin.client("s3").get_bucket_policy(Bucket=BUCKET)["Policy"])

    assert answer["status"] == "rolled-back"
    (entry,) = settings["exempt_resources"]
    assert entry["resource"] == f"arn:aws:s3:::{BUCKET}"
    assert entry["reason"] == f"rolled back by {operator}: {record['finding_id']}"
    assert answer["exemption"]["until"] == entry["until"] == stored["rollback"]["exempted_until"]
    assert again.decision == "exempt" and "rolled back by" in again.executions[0].triage["reason"]
    assert policy_after == S.TRAINING_POLICY, "still as rolled back"


def test_a_refused_rollback_adds_no_exemption(twin):
    record = fix(twin, PUBLIC_POLICY_EVENT)
    drift_the_bucket(twin)

    answer = rollback(twin, record["finding_id"], exempt_for=timedelta(hours=24))

    assert answer["status"] == "refused" and "exemption" not in answer
    assert json.loads(twin.client("ssm").get_parameter(Name=twin.physical["SettingsParameter"])["Parameter"]["Value"]) == {}
