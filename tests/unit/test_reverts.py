"""Revert detection (warden.reverts), pure: who is a deployer, and which revert this is within the window."""

from __future__ import annotations

from warden.finding import Finding
from warden.ownership import classify as owner_of
from warden.reverts import classify, deployer

ARN = "arn:aws:s3:::ml-curated-data"
STACK = owner_of({"aws:cloudformation:stack-name": "ml-data", "aws:cloudformation:logical-id": "Bucket"})


def finding(time="2026-11-21T10:00:00+00:00", actor="arn:aws:sts::123456789012:assumed-role/Dev/alice", **details) -> Finding:
    return Finding(id=f"cloudtrail:{time}", source="cloudtrail", type="PutBucketPolicy", account="123456789012", region="us-east-1",
                   resource_type="AWS::S3::Bucket", resource_arn=ARN, actor=actor, time=time, severity="HIGH", raw_ref="x",
                   details=details)  # fmt: skip


def fix(finding_id="cloudtrail:fix", at="2026-11-21T09:00:00.000+00:00", **extra) -> dict:
    return {"finding_id": finding_id, "remediation": "s3-quarantine-public-bucket", "outcome": "remediated", "recorded_at": at, **extra}


def test_who_is_a_deployer():
    assert deployer(finding(invoked_by="cloudformation.amazonaws.com"), {}, STACK) == "stack ml-data's deploy (CloudFormation)"
    assert deployer(finding(invoked_by="cloudformation.amazonaws.com"), {}, None) == "a CloudFormation deploy"
    pipeline = {"deployer_roles": ["arn:aws:iam::123456789012:role/deploy-ml"]}
    by_pipeline = finding(actor="arn:aws:sts::123456789012:assumed-role/deploy-ml/build-42")
    assert deployer(by_pipeline, pipeline, None) == "pipeline role deploy-ml"
    assert deployer(finding(), pipeline, STACK) is None, "a person is not a deployer"
    other_account = finding(actor="arn:aws:sts::210987654321:assumed-role/deploy-ml/build-42")
    assert deployer(other_account, pipeline, None) is None


def test_no_earlier_fix_is_no_revert():
    assert classify(finding(), "s3-quarantine-public-bucket", "x", [], 86400) is None
    rolled_back = fix(rolled_back_at="2026-11-21T09:30:00+00:00")
    assert classify(finding(), "s3-quarantine-public-bucket", "x", [rolled_back], 86400) is None


def test_first_revert_then_later_ones_within_the_window_then_first_again_after_it():
    first = classify(finding(), "s3-quarantine-public-bucket", "x", [fix()], 86400)
    assert (first.count, first.fixed_by, first.seconds_after_fix) == (1, "cloudtrail:fix", 3600)
    records = [fix("cloudtrail:first", "2026-11-21T10:00:01.000+00:00", revert=first.to_dict()), fix()]
    second = classify(finding("2026-11-21T12:00:00+00:00"), "s3-quarantine-public-bucket", "x", records, 86400)
    assert (second.count, second.fixed_by) == (2, "cloudtrail:fix")
    assert "recorded, neither fixed nor paged again" in second.reason()
    later = classify(finding("2026-11-23T12:00:00+00:00"), "s3-quarantine-public-bucket", "x", records, 86400)
    assert later.count == 1, "after the window a revert escalates again"
