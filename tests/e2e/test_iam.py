"""The IAM family on the twin: its own mode, protected principals, the version limit, other regions."""

from __future__ import annotations

import json

from local import scenarios as S
from local.twin import Twin
from tests.conftest import event

ACCOUNT = S.ACCOUNT
ATTACH_ADMIN = "cloudtrail-iam-attachrolepolicy-administratoraccess.json"


def iam_twin(**parameters) -> Twin:
    return Twin(parameters={"Mode": "enforce", **parameters}, aws_managed_policies=True)


def attached(twin, role):
    return [p["PolicyArn"] for p in twin.client("iam").list_attached_role_policies(RoleName=role)["AttachedPolicies"]]


def test_iam_stays_in_dry_run_while_other_families_enforce():
    with iam_twin() as twin:  # IamMode defaults to dry-run
        S.iam_over_broad(twin.client)
        S.public_training_bucket(twin.client("s3"))
        iam_result = twin.send(event(ATTACH_ADMIN))
        s3_result = twin.send(event("cloudtrail-s3-putbucketpolicy-public.json"))

        assert iam_result.decision == "dry-run"
        assert "the iam family's mode is dry-run" in iam_result.executions[0].triage["reason"]
        assert S.ADMIN_POLICY_ARN in attached(twin, S.PIPELINE_ROLE), "nothing changed"
        body = iam_result.notifications[0]["body"]
        assert f"Would detach {S.ADMIN_POLICY_ARN} (administrator-equivalent) from role {S.PIPELINE_ROLE}" in body  # dry-run: conditional
        assert s3_result.decision == "enforce"


def test_remediated_message_shows_removed_statements_and_the_undo_command():
    with iam_twin(IamMode="enforce") as twin:
        S.iam_over_broad(twin.client)
        result = twin.send(event("cloudtrail-iam-putrolepolicy-admin.json"))
    body = result.notifications[0]["body"]
    assert "Inline policy 'DebugAllAccess' rewritten without Sid 'DebugEverything' allowing * on ['*']" in body
    assert "1 other statement(s) kept unchanged" in body
    assert f"aws iam put-role-policy --role-name {S.PIPELINE_ROLE} --policy-name DebugAllAccess --policy-document" in body


def test_policy_attached_to_a_protected_principal_is_never_edited():
    with iam_twin(IamMode="enforce", ProtectedPrincipalArns=f"arn:aws:iam::{ACCOUNT}:role/{S.BREAK_GLASS_ROLE}") as twin:
        S.iam_over_broad(twin.client)
        iam = twin.client("iam")
        iam.attach_role_policy(RoleName=S.BREAK_GLASS_ROLE, PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/{S.TEAM_POLICY}")
        result = twin.send(event("cloudtrail-iam-createpolicy-full-access.json"))

        assert result.decision == "exempt"
        reason = result.executions[0].triage["reason"]
        assert f"role/{S.BREAK_GLASS_ROLE}, a protected principal" in reason
        policy = iam.get_policy(PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/{S.TEAM_POLICY}")["Policy"]
        assert policy["DefaultVersionId"] == "v1"
        assert result.notifications[0]["attributes"]["outcome"] == "exempt"


def test_the_deployer_is_protected_even_when_named_by_its_session():
    deployer = f"arn:aws:sts::{ACCOUNT}:assumed-role/{S.PIPELINE_ROLE}/cfn-deploy"
    with iam_twin(IamMode="enforce", DeployerPrincipalArn=deployer) as twin:
        S.iam_over_broad(twin.client)
        result = twin.send(event(ATTACH_ADMIN))
        assert result.decision == "exempt"
        assert S.ADMIN_POLICY_ARN in attached(twin, S.PIPELINE_ROLE)


def test_fifth_version_makes_room_by_deleting_the_oldest_which_the_snapshot_keeps():
    with iam_twin(IamMode="enforce") as twin:
        S.iam_over_broad(twin.client)
        iam = twin.client("iam")
        arn = f"arn:aws:iam::{ACCOUNT}:policy/{S.TEAM_POLICY}"
        for _ in range(4):  # v2..v5, all over-broad
            iam.create_policy_version(PolicyArn=arn, PolicyDocument=S.document(S.SAGEMAKER_ALL, S.BUCKET_READ), SetAsDefault=True)
        result = twin.send(event("config-iam-policy-no-statements-with-full-access.json"))

        versions = {v["VersionId"]: v["IsDefaultVersion"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]}
        assert "v1" not in versions and len(versions) == 5
        default = next(v for v, is_default in versions.items() if is_default)
        document = iam.get_policy_version(PolicyArn=arn, VersionId=default)["PolicyVersion"]["Document"]
        assert document["Statement"] == [S.BUCKET_READ]
        before = result.audit_records[0]["before"]
        assert [v["id"] for v in before["versions"]] == ["v1", "v2", "v3", "v4", "v5"]


def test_iam_events_forwarded_from_us_east_1_are_handled_in_the_home_region():
    """iam-forwarder.yaml delivers the event unchanged to the home region's default bus."""
    with Twin(parameters={"Mode": "enforce", "IamMode": "enforce"}, region="eu-west-1", aws_managed_policies=True) as twin:
        S.iam_over_broad(twin.client)
        forwarded = event(ATTACH_ADMIN)
        assert forwarded["region"] == "us-east-1"
        result = twin.send(forwarded)
        assert result.decision == "enforce"
        assert attached(twin, S.PIPELINE_ROLE) == []


def test_warden_s_own_iam_change_is_ignored():
    with iam_twin(IamMode="enforce") as twin:
        S.iam_over_broad(twin.client)
        own = event("cloudtrail-iam-putrolepolicy-admin.json")
        own["detail"]["userIdentity"]["arn"] = f"arn:aws:sts::{ACCOUNT}:assumed-role/warden-IamFunctionRole/warden-IamFunction"
        result = twin.send(own)
        assert result.decision == "ignored"
        document = twin.client("iam").get_role_policy(RoleName=S.PIPELINE_ROLE, PolicyName="DebugAllAccess")["PolicyDocument"]
        assert json.loads(json.dumps(document))["Statement"][0] == S.ALL_ACCESS, "untouched"
