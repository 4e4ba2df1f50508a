"""Which settings documents switch protection off wholesale (warden.settings.protection_removed)."""

from __future__ import annotations

import pytest

from warden.settings import protection_removed

ACCOUNT, REGION = "123456789012", "eu-west-1"


@pytest.mark.parametrize(
    "document, expected",
    [
        ({"mode": "off"}, ["mode is off: every family that has no mode of its own is off"]),
        ({"modes": {"iam": "off", "s3-quarantine-public-bucket": "off", "encryption": "dry-run"}},
         ["modes.iam is off", "modes.s3-quarantine-public-bucket is off"]),
        ({"exempt_resources": ["arn:aws:s3:::*"]}, ["exempt_resources[0] 'arn:aws:s3:::*' exempts every S3 bucket"]),
        ({"exempt_resources": [{"resource": f"arn:aws:iam::{ACCOUNT}:role/*", "until": "2099-01-01"}]},
         [f"exempt_resources[0] 'arn:aws:iam::{ACCOUNT}:role/*' exempts every IAM role"]),
        ({"exempt_resources": ["*:*"]}, ["exempt_resources[0] '*:*' exempts every " + ", every ".join([
            "S3 bucket", "KMS key", "SQS queue", "SNS topic", "CloudTrail trail", "SageMaker notebook", "SageMaker endpoint",
            "IAM role", "IAM policy", "IAM access key", "API Gateway stage", "account-level setting"])]),
    ],
)
def test_documents_that_switch_protection_off(document, expected):
    assert protection_removed(document, ACCOUNT, REGION) == expected


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"mode": "dry-run", "modes": {"iam": "approve"}},
        {"exempt_resources": ["arn:aws:s3:::public-website-*", f"arn:aws:iam::{ACCOUNT}:role/BreakGlass*"]},
        {"exempt_resources": ["arn:aws:kms:us-east-1:*:key/*"]},  # another region's keys: not this stack's
    ],
)
def test_documents_that_do_not(document):
    assert protection_removed(document, ACCOUNT, REGION) == []
