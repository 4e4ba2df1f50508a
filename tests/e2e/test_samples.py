"""GuardDuty sample findings are a wiring test (issue 13): answered with a low-severity "wiring test
received" message saying what Warden would do, the execution succeeds, and nothing is changed, even
when the sample's placeholders happen to name real resources."""

from __future__ import annotations

import copy

from local import scenarios as S
from tests.conftest import event
from tests.e2e.test_events import bucket_state

S3_SAMPLE = "guardduty-sample-s3-bucketpublicaccessgranted.json"
IAM_SAMPLE = "guardduty-sample-iam-maliciousipcaller.json"


def test_an_s3_sample_says_what_warden_would_do_and_changes_nothing(twin):
    result = twin.send(event(S3_SAMPLE))

    assert result.status == "SUCCEEDED"
    (message,) = result.notifications
    assert message["attributes"] == {"severity": "LOW", "outcome": "wiring-test", "remediation": "s3-quarantine-public-bucket"}
    assert message["subject"] == "[Warden] Wiring test received: GuardDuty sample Policy:S3/BucketPublicAccessGranted"
    body = message["body"]
    assert "THIS IS WHAT WARDEN WOULD DO with a real finding of this type" in body
    assert "on a bucket: turn the bucket's Block Public Access on, remove public policy statements and public ACL grants" in body
    assert "(s3-quarantine-public-bucket, mode enforce)" in body
    assert "It names: bucket bucketName; IAMUser GeneratedFindingUserName, access key GeneratedFindingAccessKeyId" in body
    assert "Recognised as a sample because service.additionalInfo.sample is true." in body
    assert "Nothing was read or changed" in body
    assert result.audit_records == [], "a sample is not a finding: nothing to roll back, nothing in history"


def test_a_sample_whose_placeholders_name_real_resources_is_never_acted_on(twin):
    """Someone edits a sample so its bucket and key are real ones: still a sample, still untouched."""
    s3 = twin.client("s3")
    before = bucket_state(s3, S.TRAINING_BUCKET)
    real = copy.deepcopy(event(S3_SAMPLE))
    bucket = real["detail"]["resource"]["s3BucketDetails"][0]
    bucket["name"], bucket["arn"] = S.TRAINING_BUCKET, f"arn:aws:s3:::{S.TRAINING_BUCKET}"

    result = twin.send(real)

    assert result.status == "SUCCEEDED" and result.decision == "sample"
    assert [n["attributes"]["outcome"] for n in result.notifications] == ["wiring-test"]
    assert bucket_state(s3, S.TRAINING_BUCKET) == before, "the public bucket stays as it was: samples are never acted on"


def test_an_iam_sample_lists_both_fixes_a_real_finding_could_get(twin):
    """Placeholders without the sample flag are recognised too; GuardDuty's IAM sample used to end as a
    HIGH 'malformed event' page and a FAILED execution."""
    unflagged = copy.deepcopy(event(IAM_SAMPLE))
    del unflagged["detail"]["service"]["additionalInfo"]["sample"]

    result = twin.send(unflagged)

    assert result.status == "SUCCEEDED"
    (message,) = result.notifications
    assert message["attributes"]["severity"] == "LOW"
    assert message["attributes"]["remediation"] == "iam-revoke-role-sessions,iam-deactivate-access-key"
    body = message["body"]
    assert "its resource names GuardDuty's sample placeholders (GeneratedFindingAccessKeyId, " in body
    assert "on an IAM user's access key: deactivate the IAM user's access key (iam-deactivate-access-key, mode enforce)" in body
    assert "on a role: revoke the role's sessions" in body


def test_a_flagged_iam_sample_naming_a_real_user_and_key_leaves_the_key_active(twin):
    """twin fixture: "iam" in the name sets up the CI user and its access key."""
    real = copy.deepcopy(event(IAM_SAMPLE))
    real["detail"]["resource"]["accessKeyDetails"].update(userName=S.CI_USER, accessKeyId=S.CI_ACCESS_KEY)

    result = twin.send(real)

    assert result.status == "SUCCEEDED" and result.decision == "sample"
    keys = twin.client("iam").list_access_keys(UserName=S.CI_USER)["AccessKeyMetadata"]
    assert [k["Status"] for k in keys if k["AccessKeyId"] == S.CI_ACCESS_KEY] == ["Active"]
