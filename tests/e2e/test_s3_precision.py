"""A fix follows from an exposure (issue 13): a bucket made private is not paged as a public bucket,
and a bucket that only lacks Block Public Access is a hardening gap, fixed as such when a finding says so."""

from __future__ import annotations

import pytest

from local.twin import Twin
from tests.conftest import event
from warden.remediations.s3_public import BLOCK_SETTINGS

PRIVATE_BUCKET = "ml-training-data-prod"  # the name the event files use


def block(s3) -> dict:
    try:
        config = s3.get_public_access_block(Bucket=PRIVATE_BUCKET)["PublicAccessBlockConfiguration"]
    except s3.exceptions.ClientError:
        return {}
    return {s: config[s] for s in BLOCK_SETTINGS}


def tags(s3) -> dict:
    try:
        return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=PRIVATE_BUCKET)["TagSet"]}
    except s3.exceptions.ClientError:
        return {}


@pytest.fixture
def private_bucket_twin():
    """Enforce mode; the bucket is private (owner-only ACL, no policy) and has no Block Public Access.
    QuarantineTag=enabled, so that the tag tells a quarantine from a hardening fix."""
    with Twin(parameters={"Mode": "enforce", "QuarantineTag": "enabled"}) as twin:
        twin.client("s3").create_bucket(Bucket=PRIVATE_BUCKET)
        yield twin


def test_a_putbucketacl_that_makes_a_bucket_private_is_not_paged_or_changed(private_bucket_twin):
    twin = private_bucket_twin
    s3 = twin.client("s3")
    acl_before = s3.get_bucket_acl(Bucket=PRIVATE_BUCKET)["Grants"]

    result = twin.send(event("cloudtrail-s3-putbucketacl-private.json"))

    assert result.status == "SUCCEEDED"
    assert result.notifications == [], "nobody is paged: nothing is public"
    assert block(s3) == {} and "warden:quarantined-by" not in tags(s3)
    assert s3.get_bucket_acl(Bucket=PRIVATE_BUCKET)["Grants"] == acl_before
    record = result.audit_records[0]
    assert record["outcome"] == "ignored" and record["changes"] == []
    assert record["reason"].startswith("the bucket is not public (no public policy statement, no public ACL grant)")
    assert "hardening gap" in record["reason"] and "Security Hub S3.8" in record["reason"]


def test_a_public_policy_right_after_the_private_acl_is_still_fixed(private_bucket_twin):
    """The private event's dedupe claim must not hide a real exposure a minute later."""
    twin = private_bucket_twin
    s3 = twin.client("s3")
    assert twin.send(event("cloudtrail-s3-putbucketacl-private.json")).audit_records[0]["outcome"] == "ignored"
    s3.put_bucket_policy(Bucket=PRIVATE_BUCKET, Policy=(
        '{"Version":"2012-10-17","Statement":[{"Sid":"Open","Effect":"Allow","Principal":"*",'
        f'"Action":"s3:GetObject","Resource":"arn:aws:s3:::{PRIVATE_BUCKET}/*"}}]}}'))  # fmt: skip

    result = twin.send(event("cloudtrail-s3-putbucketpolicy-public.json"))

    assert [n["attributes"]["outcome"] for n in result.notifications] == ["remediated"]
    assert "found nothing to change (ignored), but it is exposed now" in result.executions[0].triage["reason"]
    assert all(block(s3).values()) and tags(s3)["warden:quarantined-by"] == "warden"
    assert "public S3 bucket" in result.notifications[0]["subject"]


def test_a_hardening_finding_turns_block_public_access_on_without_calling_the_bucket_public(private_bucket_twin):
    s3 = private_bucket_twin.client("s3")

    result = private_bucket_twin.send(event("config-s3-bucket-level-public-access-prohibited.json"))

    assert block(s3) == {s: True for s in BLOCK_SETTINGS}
    assert "warden:quarantined-by" not in tags(s3), "not quarantined: it was never public"
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "remediated"
    assert message["attributes"]["remediation"] == "s3-bucket-block-public-access"
    assert message["subject"] == f"[Warden] Fixed: S3 bucket Block Public Access off {PRIVATE_BUCKET}"
    assert "public S3 bucket" not in message["body"]
    assert [c["action"] for c in result.audit_records[0]["changes"]] == ["s3:PutBucketPublicAccessBlock"]
