"""GuardDuty sample findings are a wiring test (issue 13): GuardDuty's own samples, whose placeholder
ids fail validation, are answered with a LOW "wiring test received" message saying what Warden would
do, the execution succeeds, and nothing is changed, even when the placeholders name real resources."""

from __future__ import annotations

import copy

from local import scenarios as S
from tests.conftest import event
from tests.e2e.test_events import bucket_state

S3_SAMPLE = "guardduty-sample-s3-bucketpublicaccessgranted.json"
IAM_SAMPLE = "guardduty-sample-iam-maliciousipcaller.json"


def test_guardduty_s3_sample_says_what_warden_would_do_and_changes_nothing(twin):
    result = twin.send(event(S3_SAMPLE))

    assert result.status == "SUCCEEDED" and result.decision == "wiring-test"
    (message,) = result.notifications
    assert message["attributes"] == {"severity": "LOW", "outcome": "wiring-test", "remediation": "s3-quarantine-public-bucket"}
    assert message["subject"] == "[Warden] Wiring test received, nothing changed: public S3 bucket bucketName"
    body = message["body"]
    assert "guardduty marked this finding a sample (service.additionalInfo.sample is true), so it is a wiring test" in body
    assert "For a real Policy:S3/BucketPublicAccessGranted finding it would run s3-quarantine-public-bucket: turn on" in body
    assert "Mode is enforce, so it would apply that at once" in body
    assert result.audit_records[0]["decision"] == "wiring-test"


def test_a_sample_whose_placeholders_name_real_resources_is_never_acted_on(twin):
    """A sample edited so that its bucket is the real public one: still a sample, the bucket stays as it was."""
    s3 = twin.client("s3")
    before = bucket_state(s3, S.TRAINING_BUCKET)
    real = copy.deepcopy(event(S3_SAMPLE))
    bucket = real["detail"]["resource"]["s3BucketDetails"][0]
    bucket["name"], bucket["arn"] = S.TRAINING_BUCKET, f"arn:aws:s3:::{S.TRAINING_BUCKET}"

    result = twin.send(real)

    assert result.status == "SUCCEEDED" and result.decision == "wiring-test"
    assert [n["attributes"]["outcome"] for n in result.notifications] == ["wiring-test"]
    assert bucket_state(s3, S.TRAINING_BUCKET) == before


def test_guardduty_iam_sample_without_the_flag_is_recognised_by_its_placeholders(twin):
    """GuardDuty's IAM sample used to end as a HIGH 'malformed event' page and a FAILED execution."""
    unflagged = copy.deepcopy(event(IAM_SAMPLE))
    del unflagged["detail"]["service"]["additionalInfo"]["sample"]

    result = twin.send(unflagged)

    assert result.status == "SUCCEEDED" and result.decision == "wiring-test"
    (message,) = result.notifications
    assert message["attributes"] == {"severity": "LOW", "outcome": "wiring-test", "remediation": "iam-deactivate-access-key"}
    assert "its resource names GuardDuty's sample placeholders (GeneratedFindingAccessKeyId, " in message["body"]


def test_a_flagged_iam_sample_naming_a_real_user_and_key_leaves_the_key_active(twin):
    """twin fixture: "iam" in the name sets up the CI user and its access key."""
    real = copy.deepcopy(event(IAM_SAMPLE))
    real["detail"]["resource"]["accessKeyDetails"].update(userName=S.CI_USER, accessKeyId=S.CI_ACCESS_KEY)

    result = twin.send(real)

    assert result.status == "SUCCEEDED" and result.decision == "wiring-test"
    keys = twin.client("iam").list_access_keys(UserName=S.CI_USER)["AccessKeyMetadata"]
    assert [k["Status"] for k in keys if k["AccessKeyId"] == S.CI_ACCESS_KEY] == ["Active"]
