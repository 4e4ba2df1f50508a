"""Amazon Macie on the twin: its policy findings through the real rules and workflow, a sample
finding as a wiring test, and a bucket shared with another account (reported, never changed).

tests/e2e/test_events.py runs every events/macie-*.json file; these tests look closer. The `twin`
fixture enables the Macie parameter for tests whose name says macie.
"""

from __future__ import annotations

import json

from local import scenarios
from local.faults import attribute_calls_to_functions, record_api_calls
from tests.conftest import event
from tests.robustness.world import bucket_public_access, event_for_bucket, quarantined, s3_twin

PARTNER = scenarios.PARTNER_ACCOUNT


def test_macie_sample_finding_is_a_wiring_test_even_when_it_names_a_real_public_bucket(twin):
    """A sample whose placeholders happen to be valid is never acted on: nothing read, nothing changed."""
    sample = event_for_bucket("macie-sample-s3bucketpublic.json", scenarios.TRAINING_BUCKET)
    assert sample["detail"]["sample"] is True
    before = bucket_public_access(twin.client("s3"), scenarios.TRAINING_BUCKET)

    with attribute_calls_to_functions(twin), record_api_calls() as calls:
        result = twin.send(sample)

    assert result.decision == "wiring-test" and result.status == "SUCCEEDED"
    assert bucket_public_access(twin.client("s3"), scenarios.TRAINING_BUCKET) == before
    assert [c for c in calls if c.service in ("s3", "s3control", "macie2")] == [], "a sample reads nothing"
    (message,) = result.notifications
    assert message["attributes"] == {"severity": "LOW", "outcome": "wiring-test", "remediation": "s3-quarantine-public-bucket"}
    assert message["subject"].startswith("[Warden] Wiring test received, nothing changed")
    body = message["body"]
    assert "macie marked this finding a sample" in body
    assert "Policy:IAMUser/S3BucketPublic" in body
    assert "turn on all four Block Public Access settings" in body, "it says what Warden would do"
    assert "Mode is enforce, so it would apply that at once" in body
    assert result.audit_records[0]["outcome"] == "wiring-test"


def test_macie_shared_externally_bucket_that_is_not_public_is_reported_and_left_alone(twin):
    s3 = twin.client("s3")
    before = bucket_public_access(s3, scenarios.PARTNER_BUCKET)

    result = twin.send(event("macie-policy-s3bucketsharedexternally.json"))

    assert result.status == "SUCCEEDED"
    assert bucket_public_access(s3, scenarios.PARTNER_BUCKET) == before, "the partner keeps its access; nothing changed"
    assert before["block"] is None, "not even Block Public Access: the bucket was never public"
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "needs-decision"
    body = " ".join(message["body"].split())
    assert "shared with other AWS accounts, which is not public access: Warden changed nothing" in body
    assert f"Sid 'PartnerReadsExchange' allows account {PARTNER}: s3:GetObject, s3:ListBucket" in body


def test_macie_shared_externally_bucket_that_is_also_public_loses_only_its_public_access(twin):
    s3, bucket = twin.client("s3"), "ml-partner-public"
    scenarios.partner_shared_bucket(s3, name=bucket)
    shared = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    public = {"Sid": "AnyoneReads", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [*shared, public]}))

    retold = json.dumps(event("macie-policy-s3bucketsharedexternally.json")).replace(scenarios.PARTNER_BUCKET, bucket)
    result = twin.send(json.loads(retold))

    assert result.status == "SUCCEEDED"
    assert quarantined(s3, bucket)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"] == shared, "the cross-account grant stays exactly"
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "remediated"
    body = " ".join(message["body"].split())
    assert "Removed 1 public statement(s) from the bucket policy (Sid 'AnyoneReads'" in body
    assert f"Kept, not public, so not changed: bucket policy Sid 'PartnerReadsExchange' allows account {PARTNER}" in body


def test_macie_findings_start_nothing_while_the_macie_parameter_is_disabled():
    with s3_twin() as twin:  # Macie: disabled, the default
        assert twin.parameters["Macie"] == "disabled"
        result = twin.send(event("macie-policy-s3bucketpublic.json"))
        assert result.matched_rules == [] and result.executions == []
        assert not quarantined(twin.client("s3"), scenarios.TRAINING_BUCKET)
