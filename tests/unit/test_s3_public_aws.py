"""The S3 remediations against moto: snapshot, apply, verify and rollback on real API shapes."""

from __future__ import annotations

import json
import re

import boto3
import pytest
from moto import mock_aws

from local import scenarios
from warden.aws import Aws, reset_clients
from warden.findings import Finding, account_resource
from warden.remediations.base import ResourceGone
from warden.remediations.s3_public import BlockAccountPublicAccess, QuarantinePublicBucket

REGION, ACCOUNT, BUCKET = "us-east-1", scenarios.ACCOUNT, scenarios.TRAINING_BUCKET


def finding(resource_type="AWS::S3::Bucket", arn=f"arn:aws:s3:::{BUCKET}") -> Finding:
    return Finding(
        id="test:1", source="config", type="s3-bucket-public-read-prohibited", account=ACCOUNT, region=REGION,
        resource_type=resource_type, resource_arn=arn, actor=None, time="2026-11-21T09:00:00+00:00",
        severity="HIGH", raw_ref="rule",
    )


@pytest.fixture
def aws(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        reset_clients()
        yield Aws(ACCOUNT, REGION)


TAGGED = ["s3:PutBucketPublicAccessBlock", "s3:PutBucketPolicy", "s3:PutBucketAcl", "s3:PutBucketTagging"]


@pytest.mark.parametrize("quarantine_tag", ["disabled", "enabled"])
def test_quarantine_then_rollback_restores_the_exact_before_state(aws, monkeypatch, quarantine_tag):
    monkeypatch.setenv("WARDEN_QUARANTINE_TAG", quarantine_tag)
    s3 = boto3.client("s3", region_name=REGION)
    scenarios.public_training_bucket(s3)
    remediation, target = QuarantinePublicBucket(), finding()

    before = remediation.snapshot(target, aws)
    assert before["public_access_block"] is None
    assert before["policy"] == scenarios.TRAINING_POLICY
    assert ("tags" in before) == (quarantine_tag == "enabled"), "the tags are read only when the fix may tag"

    changes = remediation.plan(target, before)
    applied = remediation.apply(target, changes, aws)["applied"]
    assert applied == (TAGGED if quarantine_tag == "enabled" else TAGGED[:3])
    assert remediation.verify(target, aws) == []
    assert remediation.plan(target, remediation.snapshot(target, aws)) == [], "a second run changes nothing"
    # The after-snapshot takes the policy (and tags) as Warden wrote them: they equal S3's own answer.
    result = {"before": before, "changes": [c.to_dict() for c in changes], "applied": applied}
    after, exposed = remediation.after_fix(target, aws, result)
    assert exposed == [] and after == remediation.snapshot_as(target, aws, before)

    remediation.rollback(target, before, aws)
    assert remediation.snapshot(target, aws) == before
    assert remediation.verify(target, aws) != [], "after rollback the bucket is public again, as it was"


def test_without_the_quarantine_tag_the_buckets_tags_are_never_read_or_written(aws, monkeypatch):
    monkeypatch.delenv("WARDEN_QUARANTINE_TAG", raising=False)  # the default: disabled
    s3 = boto3.client("s3", region_name=REGION)
    scenarios.public_training_bucket(s3)
    remediation, target = QuarantinePublicBucket(), finding()
    tags_before = s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]
    remediation.apply(target, remediation.plan(target, remediation.snapshot(target, aws)), aws)
    assert s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"] == tags_before
    assert remediation.verify(target, aws) == []


def test_after_the_fix_s3s_verdict_on_the_policy_is_read_afresh(aws, monkeypatch):
    """The policy is not read again after the fix, so a public statement put back meanwhile is seen
    by GetBucketPolicyStatus: the fix is not told as verified."""
    s3 = boto3.client("s3", region_name=REGION)
    scenarios.public_training_bucket(s3)
    remediation, target = QuarantinePublicBucket(), finding()
    before = remediation.snapshot(target, aws)
    changes = remediation.plan(target, before)
    applied = remediation.apply(target, changes, aws)["applied"]
    # Someone, in that instant, lifts the block (while it is on, S3 refuses a public policy) and puts the policy back.
    s3.delete_public_access_block(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(scenarios.TRAINING_POLICY))
    result = {"before": before, "changes": [c.to_dict() for c in changes], "applied": applied}
    _, exposed = remediation.after_fix(target, aws, result)
    assert "S3 reports the bucket policy as public (GetBucketPolicyStatus)" in exposed


def test_bucket_with_only_public_statements_loses_its_policy_not_its_objects(aws):
    s3 = boto3.client("s3", region_name=REGION)
    scenarios.exempt_website_bucket(s3, tag_key="unrelated")
    s3.put_object(Bucket=scenarios.EXEMPT_BUCKET, Key="index.html", Body=b"<html/>")
    target = finding(arn=f"arn:aws:s3:::{scenarios.EXEMPT_BUCKET}")
    remediation = QuarantinePublicBucket()

    changes = remediation.plan(target, remediation.snapshot(target, aws))
    assert [c.action for c in changes] == ["s3:PutBucketPublicAccessBlock", "s3:DeleteBucketPolicy"]
    remediation.apply(target, changes, aws)

    assert remediation.snapshot(target, aws)["policy"] is None
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=scenarios.EXEMPT_BUCKET)["Contents"]] == ["index.html"]
    assert remediation.verify(target, aws) == []


def test_verify_reports_every_remaining_exposure(aws):
    s3 = boto3.client("s3", region_name=REGION)
    scenarios.public_training_bucket(s3)
    problems = QuarantinePublicBucket().verify(finding(), aws)
    assert len(problems) == 4  # block off, public statement, S3's own policy status, public ACL grant
    assert any("Block Public Access settings still off" in p for p in problems)
    assert any("ACL still grants 1 public permission" in p for p in problems)


def test_missing_bucket_is_resource_gone(aws):
    with pytest.raises(ResourceGone):
        QuarantinePublicBucket().snapshot(finding(), aws)
    with pytest.raises(ResourceGone):
        QuarantinePublicBucket().resource_tags(finding(), aws)


def test_account_block_public_access_on_and_rolled_back(aws):
    scenarios.account_block_off(boto3.client("s3control", region_name=REGION))
    remediation, target = BlockAccountPublicAccess(), finding("AWS::::Account", account_resource(ACCOUNT))

    before = remediation.snapshot(target, aws)
    assert remediation.verify(target, aws) != []
    remediation.apply(target, remediation.plan(target, before), aws)
    assert remediation.verify(target, aws) == []

    remediation.rollback(target, before, aws)
    assert remediation.snapshot(target, aws) == before


def test_tags_are_merged_and_values_are_valid(aws, monkeypatch):
    monkeypatch.setenv("WARDEN_QUARANTINE_TAG", "enabled")
    s3 = boto3.client("s3", region_name=REGION)
    scenarios.public_training_bucket(s3)
    remediation, target = QuarantinePublicBucket(), finding()
    remediation.apply(target, remediation.plan(target, remediation.snapshot(target, aws)), aws)
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]}
    assert tags["data-classification"] == "training"
    assert tags["warden:quarantine-reason"] == "config s3-bucket-public-read-prohibited"
    allowed = re.compile(r"^[\w\s+\-=.:/@]*$")  # S3's tag value alphabet
    assert all(allowed.match(value) for value in tags.values()), tags
