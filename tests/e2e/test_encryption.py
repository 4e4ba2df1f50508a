"""The encryption family's decisions that are not one-event-one-fix: which key, and when not to act."""

from __future__ import annotations

import time

from local import scenarios as S
from local.faults import attribute_calls_to_functions, record_api_calls
from local.twin import Twin
from tests.conftest import event

ARTIFACTS_EVENT = "cloudtrail-s3-putbucketencryption-sse-s3.json"
FEATURES_EVENT = "cloudtrail-s3-deletebucketencryption.json"


def bucket_algorithm(twin, bucket):
    rule = twin.client("s3").get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    return rule["ApplyServerSideEncryptionByDefault"]


def test_unknown_key_is_not_guessed_on_call_decides():
    with Twin(parameters={"Mode": "enforce"}) as twin:  # no DefaultKmsKeyArn
        S.encryption_turned_off(twin.client)
        result = twin.send(event(ARTIFACTS_EVENT))

        assert result.status == "SUCCEEDED"
        (message,) = result.notifications
        assert message["attributes"] == {"severity": "HIGH", "outcome": "needs-decision", "remediation": "s3-restore-default-encryption"}
        assert "NEEDS A DECISION" in message["subject"]
        assert "no source knows the customer-managed key" in message["body"]
        assert "warden:kms-key" in message["body"], "the message says how to give Warden the key"
        assert bucket_algorithm(twin, S.ARTIFACTS_BUCKET) == {"SSEAlgorithm": "AES256"}, "nothing changed"


def test_a_disabled_candidate_key_is_skipped_not_used():
    with Twin(parameters={"Mode": "enforce", "DefaultKmsKeyArn": S.key_arn("training-data-key")}) as twin:
        S.encryption_turned_off(twin.client)  # training-data-key is disabled
        result = twin.send(event(ARTIFACTS_EVENT))
        (message,) = result.notifications
        assert message["attributes"]["outcome"] == "needs-decision"
        assert "key is Disabled" in message["body"]


def test_key_comes_back_from_wardens_own_audit_history():
    with Twin(parameters={"Mode": "enforce", "DedupeWindowSeconds": "1"}) as twin:
        S.encryption_turned_off(twin.client)
        s3 = twin.client("s3")
        first = twin.send(event(FEATURES_EVENT))  # key from the bucket's tag
        assert first.notifications[0]["attributes"]["outcome"] == "remediated"
        # Someone removes the tag and the encryption again; Warden remembers the key it restored.
        s3.delete_bucket_tagging(Bucket=S.FEATURES_BUCKET)
        s3.delete_bucket_encryption(Bucket=S.FEATURES_BUCKET)
        time.sleep(1.2)
        again = twin.send(event("config-s3-default-encryption-kms.json"))

        assert again.notifications[0]["attributes"]["outcome"] == "remediated"
        assert "key from Warden's audit history" in again.notifications[0]["body"]
        assert bucket_algorithm(twin, S.FEATURES_BUCKET)["KMSMasterKeyID"] == S.key_arn("features-bucket-key")


def test_the_fix_is_verified_by_re_reading_the_bucket_alone_not_the_key_lookups():
    """The key was looked up once (Config history, the audit table, the key); after the fix only the
    bucket's encryption is read again, and that one read is both the verification and the
    after-snapshot a rollback compares with."""
    with Twin(parameters={"Mode": "enforce"}) as twin:
        S.encryption_turned_off(twin.client)
        with attribute_calls_to_functions(twin), record_api_calls() as calls:
            result = twin.send(event(FEATURES_EVENT))

        assert result.executions[0].states == ["Triage", "Route", "Encryption", "WhatWasPlanned", "Remediated"]
        fix = [f"{c.service}:{c.operation}" for c in calls if c.function == "EncryptionFunction"]
        after = fix[fix.index("s3:PutBucketEncryption") + 1:]
        assert after == ["s3:GetBucketEncryption", "dynamodb:UpdateItem", "sns:Publish"], after  # the outcome in that write, then on-call told
        record = result.audit_records[0]
        assert record["verification"]["exposed"] == []
        assert record["after_snapshot"]["encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == S.key_arn("features-bucket-key")


def test_already_fixed_by_someone_else_ends_quietly():
    with Twin(parameters={"Mode": "enforce"}) as twin:
        S.encryption_turned_off(twin.client)
        twin.client("kms").enable_key(KeyId=S.KEYS["training-data-key"])  # fixed by hand meanwhile
        result = twin.send(event("cloudtrail-kms-disablekey.json"))

        assert result.executions[0].states[-1] == "AlreadyCompliant"
        assert result.notifications == []
        assert result.audit_records[0]["outcome"] == "ignored"


def test_key_that_vanished_ends_as_resource_gone():
    with Twin(parameters={"Mode": "enforce"}) as twin:  # no keys exist at all
        result = twin.send(event("cloudtrail-kms-disablekey.json"))
    assert result.decision == "resource-gone"
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "resource-gone"
    assert "the key no longer exists" in message["body"]


def test_dry_run_only_reports_the_notebook_with_recreate_steps():
    with Twin(parameters={"Mode": "dry-run"}) as twin:
        S.encryption_turned_off(twin.client)
        result = twin.send(event("cloudtrail-sagemaker-createnotebookinstance-internet.json"))
        status = twin.client("sagemaker").describe_notebook_instance(NotebookInstanceName=S.NOTEBOOK)["NotebookInstanceStatus"]

    assert status == "InService"
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "would-remediate"
    assert "WHAT YOU NEED TO DO" in message["body"]
    assert "--direct-internet-access Disabled --root-access Disabled" in message["body"]


def test_stopped_trail_message_names_the_gap():
    with Twin(parameters={"Mode": "enforce"}) as twin:
        S.encryption_turned_off(twin.client)
        stopped = event("guardduty-stealth-cloudtrailloggingdisabled.json")
        S.guardduty_reported(twin.client, [stopped["detail"]])  # Triage confirms the finding with GuardDuty
        result = twin.send(stopped)
    body = result.notifications[0]["body"]
    assert "Trail logging restarted: stopped -> logging" in body
    assert "aws cloudtrail stop-logging" in body  # the undo, for completeness
