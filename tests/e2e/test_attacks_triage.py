"""Issue 11's attacks on triage, written as the attacker does them: boto3 calls on the twin with
what PowerUserAccess allows (no IAM, no Organizations). Each failed before the change it names.

Part 1, authenticated findings: forged GuardDuty findings, samples, archived findings, another
account's events, and attaching a harmless policy. Part 5: re-exposure inside the dedupe window and
a forged dedupe record.
"""

from __future__ import annotations

import copy
import json
import re

from local import scenarios as S
from tests.conftest import event

EXFILTRATION = "guardduty-iam-instancecredentialexfiltration-outsideaws.json"
PRODUCTION_ROLE = "prod-inference-fleet"  # every instance of the fleet runs with it
OTHER_ACCOUNT = "210987654321"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def sessions_revoked(twin, role: str) -> bool:
    policies = twin.client("iam").list_role_policies(RoleName=role)["PolicyNames"]
    return "AWSRevokeOlderSessions" in policies


def forged_exfiltration(role: str, finding_id: str = "0" * 32, detector: str = S.GUARDDUTY_DETECTOR) -> dict:
    """A credential-exfiltration finding event naming `role`, as an attacker writes one."""
    forged = copy.deepcopy(event(EXFILTRATION))
    detail = forged["detail"]
    detail["id"] = finding_id
    detail["arn"] = f"arn:aws:guardduty:us-east-1:{S.ACCOUNT}:detector/{detector}/finding/{finding_id}"
    detail["resource"]["accessKeyDetails"].update(userName=role, principalId=f"AROAFORGED:{role}")
    return forged


def production_role(twin) -> None:
    twin.client("iam").create_role(RoleName=PRODUCTION_ROLE, AssumeRolePolicyDocument=json.dumps(S.TRUST_EC2))


def rejected_reason(result) -> str:
    assert result.decision == "rejected", (result.decision, result.executions[0].triage)
    assert [n["attributes"]["severity"] for n in result.notifications] == ["HIGH"]
    return result.executions[0].triage["reason"]


# --- forged input: StartExecution with a made-up GuardDuty finding ------------------------------


def test_iam_a_made_up_guardduty_finding_started_by_hand_revokes_nothing(twin):
    production_role(twin)

    result = twin.start_execution(forged_exfiltration(PRODUCTION_ROLE))

    reason = rejected_reason(result)
    assert f"GuardDuty holds no finding {'0' * 32} in detector {S.GUARDDUTY_DETECTOR}" in reason
    assert not sessions_revoked(twin, PRODUCTION_ROLE)
    assert "WHY WARDEN DID NOT ACT" in result.notifications[0]["body"]


def test_iam_a_sample_finding_the_attacker_generated_revokes_nothing(twin):
    production_role(twin)
    guardduty = twin.client("guardduty")
    held_before = set(guardduty.list_findings(DetectorId=S.GUARDDUTY_DETECTOR)["FindingIds"])
    guardduty.create_sample_findings(
        DetectorId=S.GUARDDUTY_DETECTOR, FindingTypes=["UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"]
    )
    (sample_id,) = set(guardduty.list_findings(DetectorId=S.GUARDDUTY_DETECTOR)["FindingIds"]) - held_before

    result = twin.start_execution(forged_exfiltration(PRODUCTION_ROLE, sample_id))

    assert f"GuardDuty finding {sample_id} is a sample" in rejected_reason(result)
    assert not sessions_revoked(twin, PRODUCTION_ROLE)


def test_iam_a_real_finding_retold_about_another_role_revokes_nothing(twin):
    production_role(twin)
    real = event(EXFILTRATION)["detail"]  # GuardDuty holds it: it is about inference-instance-role

    result = twin.start_execution(forged_exfiltration(PRODUCTION_ROLE, real["id"]))

    reason = rejected_reason(result)
    assert f"role/{S.INSTANCE_ROLE}, not {real['type']} on arn:aws:iam::{S.ACCOUNT}:role/{PRODUCTION_ROLE}" in reason
    assert not sessions_revoked(twin, PRODUCTION_ROLE)
    assert not sessions_revoked(twin, S.INSTANCE_ROLE)


def test_iam_an_archived_finding_revokes_nothing(twin):
    real = event(EXFILTRATION)
    twin.client("guardduty").archive_findings(DetectorId=S.GUARDDUTY_DETECTOR, FindingIds=[real["detail"]["id"]])

    result = twin.send(real)

    assert "is archived" in rejected_reason(result)
    assert not sessions_revoked(twin, S.INSTANCE_ROLE)


def test_iam_the_genuine_finding_still_revokes_the_sessions(twin):
    result = twin.send(event(EXFILTRATION))

    assert result.decision == "enforce"
    assert sessions_revoked(twin, S.INSTANCE_ROLE)


# --- another account's event ---------------------------------------------------------------------


def retold_in(account: str, source: dict, envelope_only: bool = False) -> dict:
    """The event as another account's CloudTrail would send it (or only its envelope changed)."""
    if envelope_only:
        return {**source, "account": account}
    return json.loads(json.dumps(source).replace(S.ACCOUNT, account))


def test_another_accounts_event_changes_nothing_here(twin):
    # The same bucket name exists here, public: only this account's own events may fix it.
    foreign = retold_in(OTHER_ACCOUNT, event("cloudtrail-s3-putbucketpolicy-public.json"))

    assert twin.send(foreign).matched_rules == [], "the rules filter on this account"
    result = twin.start_execution(foreign)  # skipping the rules

    reason = rejected_reason(result)
    assert f"account {OTHER_ACCOUNT} is not this stack's account {S.ACCOUNT}" in reason
    assert twin.client("s3").get_bucket_policy(Bucket=S.TRAINING_BUCKET), "the public policy is untouched"
    assert [r["decision"] for r in result.audit_records] == ["rejected"], "the attempt is on record"


def test_an_event_whose_envelope_and_detail_disagree_is_rejected(twin):
    mismatched = retold_in(OTHER_ACCOUNT, event("cloudtrail-s3-putbucketpolicy-public.json"), envelope_only=True)

    reason = rejected_reason(twin.start_execution(mismatched))

    assert f"the event's account '{OTHER_ACCOUNT}' is not the account its detail names ({S.ACCOUNT})" in reason
    assert twin.client("s3").get_bucket_policy(Bucket=S.TRAINING_BUCKET)


# --- attaching a harmless policy -----------------------------------------------------------------

CDK_ROLE = "cdk-hnb659fds-cfn-exec-role-123456789012-us-east-1"  # AdministratorAccess by design


def attach_event(role: str, policy_arn: str) -> dict:
    attach = copy.deepcopy(event("cloudtrail-iam-attachrolepolicy-administratoraccess.json"))
    attach["detail"]["requestParameters"] = {"roleName": role, "policyArn": policy_arn}
    attach["detail"]["eventID"] = f"attach-{role}-{policy_arn.rsplit('/', 1)[1]}"
    return attach


def attached(twin, role: str) -> list[str]:
    return sorted(p["PolicyArn"] for p in twin.client("iam").list_attached_role_policies(RoleName=role)["AttachedPolicies"])


def test_iam_attaching_read_only_access_leaves_the_roles_admin_policy_alone(twin):
    iam = twin.client("iam")
    iam.create_role(RoleName=CDK_ROLE, AssumeRolePolicyDocument=json.dumps(S.TRUST_EC2))
    iam.attach_role_policy(RoleName=CDK_ROLE, PolicyArn=S.ADMIN_POLICY_ARN)
    iam.attach_role_policy(RoleName=CDK_ROLE, PolicyArn=READ_ONLY)

    result = twin.send(attach_event(CDK_ROLE, READ_ONLY))

    assert result.decision == "ignored"
    assert f"{READ_ONLY}, is not administrator-equivalent" in result.executions[0].triage["reason"]
    assert attached(twin, CDK_ROLE) == sorted([S.ADMIN_POLICY_ARN, READ_ONLY]), "the CDK role keeps working"


def test_iam_attaching_an_admin_policy_detaches_that_policy_only(twin):
    iam = twin.client("iam")
    copy_arn = iam.create_policy(PolicyName="AdminCopy", PolicyDocument=S.document(S.ALL_ACCESS))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=S.PIPELINE_ROLE, PolicyArn=copy_arn)  # admin too, attached earlier on purpose

    result = twin.send(attach_event(S.PIPELINE_ROLE, S.ADMIN_POLICY_ARN))

    assert result.decision == "enforce"
    assert attached(twin, S.PIPELINE_ROLE) == [copy_arn]
    assert [c["params"]["PolicyArn"] for c in result.audit_records[0]["changes"]] == [S.ADMIN_POLICY_ARN]


# --- part 5: a duplicate is checked, not trusted -------------------------------------------------

PUBLIC_POLICY = "cloudtrail-s3-putbucketpolicy-public.json"
ATTACKER = f"arn:aws:sts::{S.ACCOUNT}:assumed-role/PowerUser/mallory"


def re_expose(s3, bucket: str = S.TRAINING_BUCKET) -> None:
    """What the attacker does right after Warden's fix: Block Public Access off, the public policy back."""
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(S.TRAINING_POLICY))


def cloudtrail_says(source: dict, event_id: str, actor: str) -> dict:
    """The CloudTrail event of the attacker's own call, delivered now."""
    from datetime import datetime, timezone

    retold = copy.deepcopy(source)
    retold["id"] = event_id
    retold["detail"].update(eventID=event_id, eventTime=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    retold["detail"]["userIdentity"]["arn"] = actor
    return retold


def is_public(s3, bucket: str = S.TRAINING_BUCKET) -> bool:
    from tests.robustness.world import quarantined

    return not quarantined(s3, bucket)


def test_a_bucket_made_public_again_inside_the_dedupe_window_is_fixed_again_and_escalated(twin):
    s3 = twin.client("s3")
    first = twin.send(event(PUBLIC_POLICY))
    assert first.decision == "enforce" and not is_public(s3)

    re_expose(s3)
    again = twin.send(cloudtrail_says(event(PUBLIC_POLICY), "re-exposed-by-mallory", ATTACKER))

    assert again.decision == "enforce"
    reason = again.executions[0].triage["reason"]
    first_id = first.audit_records[0]["finding_id"]
    assert re.search(rf"re-exposed \d+ seconds after the fix by {first_id}, by {re.escape(ATTACKER)}", reason), reason
    assert not is_public(s3), "fixed again"
    (message,) = again.notifications
    assert message["attributes"] == {"severity": "HIGH", "outcome": "remediated", "remediation": "s3-quarantine-public-bucket"}
    assert message["body"].startswith("ESCALATED\n  re-exposed ")
    # Config reports the same bucket later: it is fixed now, so that one is a plain duplicate
    config = twin.send(event("config-s3-bucket-public-read-prohibited.json"))
    assert config.decision == "duplicate" and "re-read now, it is not exposed" in config.executions[0].triage["reason"]


def test_a_bucket_still_fixed_inside_the_window_stays_a_duplicate(twin):
    twin.send(event(PUBLIC_POLICY))

    duplicate = twin.send(event("guardduty-s3-bucketpublicaccessgranted.json"))

    assert duplicate.decision == "duplicate"
    assert [n["attributes"]["severity"] for n in duplicate.notifications] == ["INFO"]


def test_a_forged_dedupe_record_with_a_far_future_expiry_suppresses_nothing():
    import time

    from local.twin import Twin

    with Twin(parameters={"Mode": "enforce", "DedupeWindowSeconds": "1"}) as twin:
        s3, dynamodb = twin.client("s3"), twin.client("dynamodb")
        S.public_training_bucket(s3)
        twin.send(event(PUBLIC_POLICY))
        # The attacker rewrites Warden's claim for the bucket to last until 2100, then re-exposes it.
        table = twin.physical["DedupeTable"]
        for item in dynamodb.scan(TableName=table)["Items"]:
            dynamodb.put_item(TableName=table, Item={**item, "expiration": {"N": "4102444800"}})
        re_expose(s3)
        time.sleep(1.5)  # the real window is over

        later = twin.send(event("config-s3-bucket-public-read-prohibited.json"))

        assert later.decision == "enforce"
        assert "claimed to suppress fixes until 2100-01-01T00:00:00+00:00, longer than the 1s window" in later.executions[0].triage["reason"]
        assert not is_public(s3)
