"""Who owns a resource, on the twin: a stack's bucket made public is still fixed, and the message,
the audit record and `warden_ops history` say which stack owns it and the template change that
keeps the fix past its next deploy."""

from __future__ import annotations

import io
import json

from local import scenarios as S
from tests.conftest import event
from warden_ops.cli import main
from warden_ops.target import TwinTarget

STACK_BUCKET_ARN = f"arn:aws:s3:::{S.STACK_BUCKET}"


def public_policy_event(bucket: str) -> dict:
    """The PutBucketPolicy event of the sample file, on another bucket."""
    return json.loads(json.dumps(event("cloudtrail-s3-putbucketpolicy-public.json")).replace(S.TRAINING_BUCKET, bucket))


def is_public(s3, bucket: str) -> bool:
    return s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"]


def history_text(twin, *argv: str) -> str:
    out = io.StringIO()
    assert main(["history", *argv], target=TwinTarget(twin), out=out) == 0
    return out.getvalue()


def test_stack_owned_bucket_is_fixed_and_the_message_gives_the_template_change(twin):
    s3 = twin.client("s3")
    S.stack_owned_public_bucket(s3)
    assert is_public(s3, S.STACK_BUCKET)

    result = twin.send(public_policy_event(S.STACK_BUCKET))

    assert not is_public(s3, S.STACK_BUCKET), "a managed resource is still contained"
    assert all(s3.get_public_access_block(Bucket=S.STACK_BUCKET)["PublicAccessBlockConfiguration"].values())
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=S.STACK_BUCKET)["TagSet"]}
    assert tags["aws:cloudformation:stack-name"] == S.STACK, "the stack's system tags are kept"
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "remediated"
    body = message["body"]
    assert f"Owned by CloudFormation stack {S.STACK} (logical id {S.STACK_LOGICAL_ID})" in body
    assert "The next deploy of that stack will REVERT this fix" in body
    assert (
        f"AWS::S3::Bucket {S.STACK_LOGICAL_ID}: set PublicAccessBlockConfiguration = "
        '{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}'
    ) in body
    assert f"AWS::S3::BucketPolicy for {S.STACK_LOGICAL_ID}: remove from PolicyDocument.Statement" in body and '"Sid": "PublicReadForSharing"' in body
    assert f"AWS::S3::Bucket {S.STACK_LOGICAL_ID}: set AccessControl = \"Private\"" in body

    record = result.audit_records[0]
    assert record["owner"]["kind"] == "cloudformation" and record["owner"]["stack"] == S.STACK
    patched = {(p["resource_type"], p["property"]) for p in record["template_patch"]}
    assert patched == {
        ("AWS::S3::Bucket", "PublicAccessBlockConfiguration"),
        ("AWS::S3::BucketPolicy", "PolicyDocument.Statement"),
        ("AWS::S3::Bucket", "AccessControl"),
    }

    printed = history_text(twin, "--resource", STACK_BUCKET_ARN)
    assert f"Owned by CloudFormation stack {S.STACK} (logical id {S.STACK_LOGICAL_ID})" in printed
    assert "set PublicAccessBlockConfiguration" in printed


def test_terraform_owned_bucket_gets_a_terraform_snippet(twin):
    s3 = twin.client("s3")
    S.public_training_bucket(s3, "ml-tf-bucket")
    s3.put_bucket_tagging(Bucket="ml-tf-bucket", Tagging={"TagSet": [{"Key": "terraform:module", "Value": "data_lake"}]})

    result = twin.send(public_policy_event("ml-tf-bucket"))

    body = result.notifications[0]["body"]
    assert "Owned by Terraform module data_lake (tag terraform:module=data_lake)" in body
    assert "The next terraform apply will REVERT this fix" in body
    assert 'resource "aws_s3_bucket_public_access_block" "ml_tf_bucket" {' in body
    assert "restrict_public_buckets = true" in body
    assert "AWS::S3::Bucket" not in body.split("WHO OWNS IT")[1], "a Terraform owner gets Terraform, not CloudFormation"


def test_terraform_tag_key_comes_from_the_settings_document(twin):
    s3 = twin.client("s3")
    S.public_training_bucket(s3, "ml-tf-custom")
    s3.put_bucket_tagging(Bucket="ml-tf-custom", Tagging={"TagSet": [{"Key": "iac-repo", "Value": "infra-live"}]})
    twin.client("ssm").put_parameter(
        Name=twin.physical["SettingsParameter"], Value=json.dumps({"iac": {"terraform_tag_keys": ["iac-repo"]}}),
        Type="String", Overwrite=True,
    )  # fmt: skip

    result = twin.send(public_policy_event("ml-tf-custom"))

    assert "Owned by Terraform module infra-live (tag iac-repo=infra-live)" in result.notifications[0]["body"]


def test_untagged_bucket_is_unknown_not_unmanaged(twin):
    result = twin.send(event("cloudtrail-s3-putbucketpolicy-public.json"))

    body = result.notifications[0]["body"]
    assert "Owner: unknown (no CloudFormation, CDK or Terraform tag; a missing tag does not prove that nothing manages it)" in body
    assert "REVERT" not in body
    assert result.audit_records[0]["owner"]["kind"] == "unknown"
    assert "template_patch" not in result.audit_records[0]


def cloudformation_event(bucket: str, event_id: str) -> dict:
    """The stack's deploy putting the public policy back (CloudTrail: invokedBy cloudformation.amazonaws.com)."""
    text = json.dumps(event("cloudtrail-s3-putbucketpolicy-by-cloudformation.json")).replace(S.TRAINING_BUCKET, bucket)
    return json.loads(text.replace("5f0e1d2c-3b4a-4958-8776-65544332211f", event_id))


def stack_deploy_reverts(s3, bucket: str) -> None:
    """What the stack's deploy does to the bucket: its template's (public) settings come back."""
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(S.TRAINING_POLICY).replace(S.TRAINING_BUCKET, bucket))


def test_a_revert_by_the_stacks_deploy_is_fixed_once_escalated_once_and_then_only_recorded(twin):
    s3 = twin.client("s3")
    S.stack_owned_public_bucket(s3)
    fixed = twin.send(public_policy_event(S.STACK_BUCKET))
    assert fixed.notifications[0]["attributes"]["outcome"] == "remediated"

    stack_deploy_reverts(s3, S.STACK_BUCKET)
    first = twin.send(cloudformation_event(S.STACK_BUCKET, "5f0e1d2c-3b4a-4958-8776-000000000001"))

    assert first.decision == "enforce", "within the dedupe window, but a revert is not a duplicate"
    assert not is_public(s3, S.STACK_BUCKET), "fixed once more"
    (message,) = first.notifications
    assert message["attributes"]["severity"] == "HIGH"
    assert message["subject"].startswith("[Warden] REVERTED BY A DEPLOY, fixed again: public S3 bucket")
    body = message["body"]
    assert body.startswith("REVERTED BY A DEPLOY: CHANGE THE TEMPLATE\n")
    assert f"Reverted by stack {S.STACK}'s deploy (CloudFormation) at 2026-11-21T09:31:44+00:00" in body
    assert f"after Warden's fix ({fixed.audit_records[0]['finding_id']})" in body
    assert f"AWS::S3::Bucket {S.STACK_LOGICAL_ID}: set PublicAccessBlockConfiguration" in body.split("WHAT WAS FOUND")[0]
    assert first.audit_records[0]["revert"]["count"] == 1

    stack_deploy_reverts(s3, S.STACK_BUCKET)
    again = twin.send(cloudformation_event(S.STACK_BUCKET, "5f0e1d2c-3b4a-4958-8776-000000000002"))

    assert again.decision == "ignored" and again.notifications == [], "no second page, no fix loop"
    assert is_public(s3, S.STACK_BUCKET), "left as the deploy made it: Warden does not fight the deploy"
    record = again.audit_records[0]
    assert record["revert"]["count"] == 2 and record["revert"]["fixed_by"] == fixed.audit_records[0]["finding_id"]
    assert "recorded, neither fixed nor paged again" in record["reason"]
    printed = history_text(twin, "--resource", STACK_BUCKET_ARN)
    assert f"reverted again by stack {S.STACK}'s deploy (CloudFormation)" in printed
    assert (f"REVERTED by stack {S.STACK}'s deploy (CloudFormation) at 2026-11-21T09:31:44+00:00, after fix "
            f"{fixed.audit_records[0]['finding_id']}: fixed once more, escalated") in printed  # fmt: skip


def test_a_pipeline_role_named_in_the_settings_is_a_deployer_too(twin):
    s3 = twin.client("s3")
    S.public_training_bucket(s3, "ml-tf-pipeline")
    s3.put_bucket_tagging(Bucket="ml-tf-pipeline", Tagging={"TagSet": [{"Key": "terraform:module", "Value": "lake"}]})
    twin.client("ssm").put_parameter(
        Name=twin.physical["SettingsParameter"], Type="String", Overwrite=True,
        Value=json.dumps({"iac": {"deployer_roles": [f"arn:aws:iam::{S.ACCOUNT}:role/DataScientist"]}}),
    )  # fmt: skip
    twin.send(public_policy_event("ml-tf-pipeline"))
    stack_deploy_reverts(s3, "ml-tf-pipeline")
    revert = public_policy_event("ml-tf-pipeline")
    revert["detail"]["eventID"] = "aaaaaaaa-0000-4000-8000-000000000003"

    result = twin.send(revert)

    body = result.notifications[0]["body"]
    assert "Reverted by pipeline role DataScientist (deploying Terraform module lake)" in body
    assert 'resource "aws_s3_bucket_public_access_block" "ml_tf_pipeline"' in body.split("WHAT WAS FOUND")[0]
