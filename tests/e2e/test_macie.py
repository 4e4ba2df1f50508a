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


# --- sensitive data raises the stakes -----------------------------------------------------------
# The `twin` fixture (tests/conftest.py) has Macie hold a sensitive-data finding for the training
# bucket, dated two days ago: events/macie-sensitivedata-s3object-multiple.json.

PUBLIC_POLICY_EVENT = "cloudtrail-s3-putbucketpolicy-public.json"


def macie_calls(calls) -> list[str]:
    return [f"{c.function}: {c.action}" for c in calls if c.service == "macie2"]


def test_macie_sensitive_data_makes_a_public_bucket_critical_and_says_what_data_and_since_when(twin):
    raw = event(PUBLIC_POLICY_EVENT)
    with attribute_calls_to_functions(twin), record_api_calls() as calls:
        result = twin.send(raw)

    assert result.status == "SUCCEEDED" and quarantined(twin.client("s3"), scenarios.TRAINING_BUCKET)
    assert macie_calls(calls) == ["TriageFunction: macie2:ListFindings", "TriageFunction: macie2:GetFindings"]
    (message,) = result.notifications
    assert message["attributes"]["severity"] == "CRITICAL" and message["attributes"]["outcome"] == "remediated"
    assert message["subject"] == "[Warden] Fixed: public S3 bucket with sensitive data ml-training-data-prod"
    body = message["body"]
    assert "SENSITIVE DATA IN THIS BUCKET (severity raised from HIGH to CRITICAL)" in body
    assert "Amazon Macie reported sensitive data in 1 object(s) in the last 30 days" in body
    assert "    PERSONAL_INFORMATION: 1190\n    FINANCIAL_INFORMATION: 14\n" in body
    assert "by type: NAME 800, EMAIL_ADDRESS 390, CREDIT_CARD_NUMBER 14" in body
    assert f"Exposed since {raw['detail']['eventTime'].replace('Z', '+00:00')} (cloudtrail PutBucketPolicy)" in body
    assert "$.customer_name" not in body and "datasets/2026-11/part-0000.parquet" not in body, "categories and counts, never the data"
    (record,) = result.audit_records
    assert record["finding"]["severity"] == "CRITICAL"
    assert record["finding"]["details"]["sensitive_data"]["categories"] == {"PERSONAL_INFORMATION": 1190, "FINANCIAL_INFORMATION": 14}


def test_macie_sensitive_data_makes_a_bucket_that_lost_its_encryption_critical(twin):
    held = event("macie-sensitivedata-s3object-multiple.json")["detail"]
    scenarios.macie_found_sensitive_data(held, bucket=scenarios.FEATURES_BUCKET, id="5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b")

    result = twin.send(event("macie-policy-s3bucketencryptiondisabled.json"))

    (message,) = result.notifications
    assert message["attributes"] == {"severity": "CRITICAL", "outcome": "remediated", "remediation": "s3-restore-default-encryption"}
    assert "severity raised from LOW to CRITICAL" in message["body"]
    assert "Exposed since 2026-11-30T11:40:02+00:00 (macie Policy:IAMUser/S3BucketEncryptionDisabled)" in message["body"]


def test_macie_sensitive_data_in_approve_mode_still_asks_but_marks_the_request_urgent(twin):
    from tests.e2e.test_approval import Waiting, is_public, settings

    settings(twin, {"modes": {"s3-quarantine-public-bucket": "approve"}, "approval_timeout_seconds": 30})
    waiting = Waiting(twin, PUBLIC_POLICY_EVENT)
    assert is_public(twin), "nothing is applied before a person answers"
    status, _ = waiting.answer("reject", waiting.finding_id, "--reason", "checking with the data owner")
    result = waiting.finished()

    assert status == 0 and is_public(twin)
    asked = result.notifications[0]
    assert asked["attributes"]["outcome"] == "awaiting-approval" and asked["attributes"]["severity"] == "CRITICAL"
    assert asked["subject"].startswith("[Warden] URGENT APPROVAL NEEDED: public S3 bucket with sensitive data")
    assert "URGENT: the bucket holds sensitive data (above) and stays exposed until someone answers." in asked["body"]
    assert "PERSONAL_INFORMATION: 1190" in asked["body"]


def test_macie_with_nothing_sensitive_leaves_the_severity_as_it_was(twin):
    """Macie enabled, but what it holds does not count: another bucket, too old, archived, or a sample."""
    held = event("macie-sensitivedata-s3object-multiple.json")["detail"]
    bucket = "ml-eval-data"
    scenarios.public_training_bucket(twin.client("s3"), name=bucket)
    scenarios.macie_found_sensitive_data(held, bucket=bucket, days_ago=31, id="a1")  # older than MacieLookbackDays
    scenarios.macie_found_sensitive_data(held, bucket=bucket, archived=True, id="a2")
    scenarios.macie_found_sensitive_data(held, bucket=bucket, sample=True, id="a3")

    with attribute_calls_to_functions(twin), record_api_calls() as calls:
        result = twin.send(event_for_bucket(PUBLIC_POLICY_EVENT, bucket))

    assert quarantined(twin.client("s3"), bucket)
    assert macie_calls(calls) == ["TriageFunction: macie2:ListFindings"], "nothing listed, nothing more to read"
    (message,) = result.notifications
    assert message["attributes"]["severity"] == "HIGH" and "SENSITIVE DATA" not in message["body"]


def test_macie_the_security_teams_tag_raises_the_severity_when_macie_found_nothing(twin):
    s3, bucket = twin.client("s3"), "ml-labels-prod"
    scenarios.public_training_bucket(s3, name=bucket)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "warden:sensitive-data", "Value": "PII: patient records"}]})

    result = twin.send(event_for_bucket(PUBLIC_POLICY_EVENT, bucket))

    (message,) = result.notifications
    assert message["attributes"]["severity"] == "CRITICAL"
    assert "The security team tagged the bucket warden:sensitive-data='PII: patient records'." in message["body"]


def test_macie_not_enabled_in_the_region_never_stops_the_fix(twin):
    twin.client("macie2").disable_macie()

    result = twin.send(event(PUBLIC_POLICY_EVENT))

    assert result.status == "SUCCEEDED" and quarantined(twin.client("s3"), scenarios.TRAINING_BUCKET)
    (message,) = result.notifications
    assert message["attributes"]["severity"] == "HIGH"
    assert "Macie could not be read (AccessDeniedException)" in result.executions[0].triage["reason"]


def test_with_the_macie_parameter_disabled_warden_makes_no_macie_call():
    with s3_twin() as twin, attribute_calls_to_functions(twin), record_api_calls() as calls:
        result = twin.send(event(PUBLIC_POLICY_EVENT))
        assert quarantined(twin.client("s3"), scenarios.TRAINING_BUCKET)
    assert [c for c in calls if c.service == "macie2"] == []
    (message,) = result.notifications
    assert message["attributes"]["severity"] == "HIGH" and "SENSITIVE DATA" not in message["body"]
