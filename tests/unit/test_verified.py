"""Each family's "Fixed" message says what its verify checked, in its own words (issue 13):
a KMS fix never claims "no public access remains"."""

from __future__ import annotations

import pytest

from warden import registry
from warden.findings import Finding
from warden.notify import compose

FINDING = Finding(
    id="config:1", source="config", type="rule", account="123456789012", region="eu-west-1",
    resource_type="AWS::::Account", resource_arn="AWS::::Account:123456789012", actor=None,
    time="2026-11-21T09:14:07+00:00", severity="HIGH", raw_ref="rule",
)  # fmt: skip

STATEMENTS = {
    "s3-quarantine-public-bucket": "Block Public Access is on (all four settings) and no public policy statement or public ACL grant remains",
    "s3-bucket-block-public-access": "Block Public Access is on for the bucket (all four settings) and no public policy statement or public ACL grant remains",
    "s3-account-block-public-access": "the account's Block Public Access is on (all four settings)",
    "s3-restore-default-encryption": "the bucket's default encryption is SSE-KMS with the intended key",
    "sqs-restore-queue-encryption": "the queue has server-side encryption",
    "sns-restore-topic-encryption": "the topic is encrypted with a KMS key",
    "ec2-enable-ebs-encryption-by-default": "EBS encryption by default is on in eu-west-1",
    "kms-keep-key-usable": "the key is enabled, not pending deletion",
    "kms-enable-key-rotation": "automatic key rotation is enabled",
    "cloudtrail-restart-logging": "the trail is logging",
    "sagemaker-stop-exposed-notebook": "the notebook instance has no root access and no IMDSv1 where Warden changed them, and is stopped if it has direct internet access",
    "sagemaker-report-abused-endpoint": "nothing was changed: the endpoint has no throttle Warden can set",
    "iam-restrict-managed-policy": "no over-broad statement remains in the policy's default version",
    "iam-strip-inline-policy": "no inline policy of the principal grants over-broad access",
    "iam-detach-admin-policies": "no administrator policy remains attached to the principal",
    "iam-revoke-role-sessions": "the role denies every session issued before the fix",
    "iam-deactivate-access-key": "the access key is inactive",
    "bedrock-restore-invocation-logging": "Bedrock model invocation logging is on, delivered where it was, in eu-west-1",
    "sagemaker-needs-recreate": "nothing was changed: the resource must be recreated",
}


def test_every_remediation_states_what_it_verified():
    assert sorted(r.name for r in registry.all_remediations()) == sorted([*STATEMENTS, "apigw-throttle-stage"])


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_each_family_says_what_it_verified_in_the_fixed_message(name):
    statement = registry.get(name).verified(FINDING, {"before": {}})
    assert statement == STATEMENTS[name]
    state = {"finding": FINDING.to_dict(), "remediation": name, "decision": "enforce", "reason": "Mode is enforce",
             "result": {"changes": [], "verification": {"exposed": [], "verified": statement}}}  # fmt: skip
    body = compose("remediated", state).body
    assert f"Re-read the resource after the change: {statement}." in body
    if not name.startswith("s3-"):
        assert "public access" not in body


def test_the_throttle_says_the_limits_the_stage_now_has():
    throttle = registry.get("apigw-throttle-stage")
    before = {"before": {"settings": {"rate_limit": 5.0, "burst_limit": 12, "cooldown_seconds": 60, "max_cooldowns": 1}}}
    assert throttle.verified(FINDING, before) == "stage limited to 5 rps / 12 burst"
    assert throttle.verified(FINDING, None) == "stage limited to 10 rps / 20 burst"  # the defaults


def test_every_remediation_describes_its_fix_in_a_few_words():
    """The sweep's table and a GuardDuty sample's message say what Warden would do with these."""
    summaries = {r.name: r.summary for r in registry.all_remediations()}
    assert all(summaries.values()) and len(set(summaries.values())) == len(summaries)
