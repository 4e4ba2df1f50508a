"""Who owns a resource (warden.ownership) and the template change per remediation (warden.template_patches): pure."""

from __future__ import annotations

import pytest

from warden import registry
from warden.findings import Finding
from warden.ownership import classify
from warden.template_patches import PATCHES, patches_for, render

CFN = {"aws:cloudformation:stack-name": "ml-data", "aws:cloudformation:logical-id": "Bucket"}


@pytest.mark.parametrize(
    "tags, configured, kind, name",
    [
        (CFN, None, "cloudformation", "ml-data"),
        ({**CFN, "cdk:app": "MlPlatformApp"}, None, "cdk", "MlPlatformApp"),
        ({**CFN, "ManagedBy": "cdk"}, None, "cdk", "ml-data"),
        ({"terraform:module": "data_lake"}, None, "terraform", "data_lake"),
        ({"terraform": "true"}, None, "terraform", None),
        ({"managed-by": "Terraform"}, None, "terraform", None),
        ({"managed-by": "pulumi"}, None, "other-iac", "pulumi"),
        ({"iac-repo": "infra-live"}, {"terraform_tag_keys": ["iac-repo"]}, "terraform", "infra-live"),
        ({"terraform:module": "data_lake"}, {"terraform_tag_keys": ["iac-repo"]}, "unknown", None),  # the list replaces the defaults
        ({"team": "ml"}, None, "unknown", None),
        ({}, None, "unknown", None),
    ],
)
def test_classify(tags, configured, kind, name):
    owner = classify(tags, configured)
    assert (owner.kind, owner.name) == (kind, name)
    assert owner.managed == (kind != "unknown")


def test_cloudformation_owner_names_its_stack_and_logical_id():
    owner = classify(CFN)
    assert (owner.stack, owner.logical_id) == ("ml-data", "Bucket")
    assert owner.describe() == "CloudFormation stack ml-data (logical id Bucket)"


def test_an_account_setting_has_no_tags_so_its_owner_is_unknown():
    owner = classify({}, taggable=False)
    assert owner.kind == "unknown" and "carries no tags" in owner.describe()


def test_every_remediation_has_a_template_patch_entry():
    assert sorted(PATCHES) == sorted(r.name for r in registry.all_remediations())


def bucket_finding() -> Finding:
    return Finding(id="f", source="cloudtrail", type="PutBucketPolicy", account="123456789012", region="us-east-1",
                   resource_type="AWS::S3::Bucket", resource_arn="arn:aws:s3:::ml-data", actor=None, time="2026-11-21T09:14:07+00:00",
                   severity="HIGH", raw_ref="x")  # fmt: skip


def test_no_change_means_no_patch():
    assert patches_for("s3-quarantine-public-bucket", bucket_finding(), {"policy": None}, []) == []


def test_patch_renders_for_cloudformation_and_terraform():
    changes = [{"action": "s3:PutBucketPublicAccessBlock", "summary": "", "undo": "", "params": {}}]
    (patch,) = [p.to_dict() for p in patches_for("s3-quarantine-public-bucket", bucket_finding(), {"policy": None}, changes)]
    cloudformation = "\n".join(render(classify(CFN), [patch]))
    assert "AWS::S3::Bucket Bucket: set PublicAccessBlockConfiguration" in cloudformation
    terraform = "\n".join(render(classify({"terraform:module": "lake"}), [patch]))
    assert 'resource "aws_s3_bucket_public_access_block" "ml_data"' in terraform and "block_public_acls = true" in terraform
