"""local/iam_policy.py evaluates policies as IAM does, so the least-privilege check and the SCP test
can fail for the right reasons."""

from __future__ import annotations

import pytest

from local.iam_policy import ALLOWED, EXPLICITLY_DENIED, IMPLICITLY_DENIED, decide

ALLOW_BUCKETS = {"Effect": "Allow", "Action": ["s3:Get*", "s3:PutBucketPolicy"], "Resource": "arn:aws:s3:::*"}
DENY_PROD = {"Effect": "Deny", "Action": "s3:PutBucketPolicy", "Resource": "arn:aws:s3:::prod-*"}


def test_an_explicit_deny_wins_over_an_allow():
    assert decide([ALLOW_BUCKETS, DENY_PROD], "s3:PutBucketPolicy", "arn:aws:s3:::prod-data") == EXPLICITLY_DENIED
    assert decide([ALLOW_BUCKETS, DENY_PROD], "s3:PutBucketPolicy", "arn:aws:s3:::dev-data") == ALLOWED
    assert decide([ALLOW_BUCKETS], "s3:DeleteBucket", "arn:aws:s3:::dev-data") == IMPLICITLY_DENIED


def test_wildcards_are_iams_not_the_shells():
    allow = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::a[b]c/*"}
    assert decide([allow], "s3:getobject", "arn:aws:s3:::a[b]c/key") == ALLOWED  # actions ignore case, [ ] are literal
    assert decide([allow], "s3:GetObject", "arn:aws:s3:::abc/key") == IMPLICITLY_DENIED


def test_conditions_with_set_operators_negation_and_missing_keys():
    status = {"Effect": "Allow", "Action": "securityhub:BatchUpdateFindings", "Resource": "*",
              "Condition": {"ForAnyValue:StringEquals": {"securityhub:ASFFSyntaxPath/Workflow.Status": ["NOTIFIED", "RESOLVED"]}}}
    key = "securityhub:ASFFSyntaxPath/Workflow.Status"
    assert decide([status], "securityhub:BatchUpdateFindings", "hub", {key: ["RESOLVED"]}) == ALLOWED
    assert decide([status], "securityhub:BatchUpdateFindings", "hub", {key: ["SUPPRESSED"]}) == IMPLICITLY_DENIED
    assert decide([status], "securityhub:BatchUpdateFindings", "hub", {}) == IMPLICITLY_DENIED, "a missing key matches no ForAnyValue"
    unless = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Admin"}}}
    assert decide([unless], "s3:GetObject", "x", {"aws:PrincipalArn": "arn:aws:iam::1:role/Admin"}) == IMPLICITLY_DENIED
    assert decide([unless], "s3:GetObject", "x", {"aws:PrincipalArn": "arn:aws:iam::1:role/Dev"}) == EXPLICITLY_DENIED
    assert decide([unless], "s3:GetObject", "x", {}) == EXPLICITLY_DENIED, "a negated operator holds on a missing key"


def test_an_operator_it_does_not_know_fails_loudly():
    numeric = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}}
    with pytest.raises(NotImplementedError, match="NumericLessThan"):
        decide([numeric], "s3:GetObject", "x", {"aws:MultiFactorAuthAge": "10"})
