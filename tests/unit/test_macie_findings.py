"""Amazon Macie's EventBridge findings (events/macie-*.json) as Warden findings, and which family answers each."""

from __future__ import annotations

import copy

import pytest

from tests.conftest import event
from warden import registry
from warden.findings import RejectedEvent, parse_finding

# file -> (finding type, bucket, severity, remediation)
POLICY_FINDINGS = {
    "macie-policy-s3bucketpublic.json": (
        "Policy:IAMUser/S3BucketPublic", "ml-training-data-prod", "HIGH", "s3-quarantine-public-bucket"),
    # Block Public Access off is a hardening gap (issue 13): BPA back on, quarantined only if also public
    "macie-policy-s3blockpublicaccessdisabled.json": (
        "Policy:IAMUser/S3BlockPublicAccessDisabled", "ml-training-data-prod", "HIGH", "s3-bucket-block-public-access"),
    "macie-policy-s3bucketsharedexternally.json": (
        "Policy:IAMUser/S3BucketSharedExternally", "ml-partner-exchange", "HIGH", "s3-quarantine-public-bucket"),
    "macie-policy-s3bucketencryptiondisabled.json": (
        "Policy:IAMUser/S3BucketEncryptionDisabled", "ml-features-prod", "LOW", "s3-restore-default-encryption"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(POLICY_FINDINGS))
def test_each_policy_finding_names_its_bucket_and_goes_to_the_family_that_fixes_it(name):
    finding_type, bucket, severity, remediation = POLICY_FINDINGS[name]
    raw = event(name)
    finding = parse_finding(raw)
    assert (finding.source, finding.type) == ("macie", finding_type)
    assert (finding.resource_type, finding.resource_arn) == ("AWS::S3::Bucket", f"arn:aws:s3:::{bucket}")
    assert finding.account == raw["detail"]["accountId"] and finding.region == raw["detail"]["region"]
    assert finding.severity == severity
    assert finding.raw_ref == raw["detail"]["id"], "the Macie finding id, to find it in Macie"
    assert finding.id == f"macie:{raw['id']}", "each occurrence of a recurring policy finding is its own finding"
    assert finding.actor == raw["detail"]["policyDetails"]["actor"]["userIdentity"]["assumedRole"]["arn"]
    assert finding.details["exposed_since"].startswith(raw["detail"]["policyDetails"]["action"]["apiCallDetails"]["firstSeen"][:19])
    assert not finding.sample
    assert registry.remediation_for(finding).name == remediation


def test_a_recurring_finding_is_exposed_since_its_first_occurrence():
    raw = event("macie-policy-s3bucketpublic.json")
    raw["detail"].update(count=4, updatedAt="2026-12-01T08:00:00Z")
    raw["detail"]["policyDetails"]["action"]["apiCallDetails"].update(firstSeen="2026-11-29T07:00:00Z", lastSeen="2026-12-01T08:00:00Z")
    finding = parse_finding(raw)
    assert finding.details == {"occurrences": 4, "exposed_since": "2026-11-29T07:00:00+00:00"}
    assert finding.time == "2026-12-01T08:00:00+00:00"


def test_a_sample_finding_is_marked_as_one():
    finding = parse_finding(event("macie-sample-s3bucketpublic.json"))
    assert finding.sample
    assert registry.remediation_for(finding).name == "s3-quarantine-public-bucket"  # what it would do


def test_a_sensitive_data_finding_parses_but_no_remediation_answers_it():
    finding = parse_finding(event("macie-sensitivedata-s3object-multiple.json"))
    assert finding.type == "SensitiveData:S3Object/Multiple"
    assert "exposed_since" not in finding.details  # it says what is in the bucket, not who exposed it
    assert registry.remediation_for(finding) is None


def _with(change) -> dict:
    raw = copy.deepcopy(event("macie-policy-s3bucketpublic.json"))
    change(raw["detail"])
    return raw


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda d: d.update(archived=True), "is archived"),
        (lambda d: d["resourcesAffected"].update(s3Bucket=None), "detail.resourcesAffected.s3Bucket names no bucket"),
        (lambda d: d["resourcesAffected"]["s3Bucket"].update(name="x; curl evil.example"),
         "detail.resourcesAffected.s3Bucket.name: 'x; curl evil.example' is not a valid value"),
        (lambda d: d.update(accountId="12345"), "detail.accountId"),
        (lambda d: d["severity"].update(description="Catastrophic"), "detail.severity.description"),
        (lambda d: d.pop("createdAt"), "detail.createdAt: Field required"),
    ],
    ids=["archived", "no-bucket", "hostile-bucket-name", "bad-account", "unknown-severity", "no-createdAt"],
)
def test_a_malformed_macie_finding_is_rejected_with_a_reason_that_names_the_problem(change, reason):
    with pytest.raises(RejectedEvent) as rejected:
        parse_finding(_with(change))
    assert reason in str(rejected.value)
