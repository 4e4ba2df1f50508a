"""The least-privilege checks of test_api_calls.py can fail: an undeclared call is caught, account-
level calls map to their own IAM actions, and a call outside a role is refused.

Its own module, so one S3-only twin serves every test here: moto's backends are process-wide, so a
twin kept for a module must not live beside the function-scoped `twin` of tests/conftest.py.
"""

from __future__ import annotations

import pytest

from local.faults import allowed, iam_action, role_statements
from tests.robustness.world import FINDINGS, exercise, s3_twin, undeclared
from warden import registry
from warden.remediations.s3_public import QuarantinePublicBucket


@pytest.fixture(scope="module")
def s3_only():
    with s3_twin() as twin:
        yield twin


class _ReadsVersioningToo(QuarantinePublicBucket):
    """A remediation that makes one call it does not declare (never registered)."""

    def snapshot(self, finding, aws):
        aws.client("s3").get_bucket_versioning(Bucket=finding.resource_name)
        return super().snapshot(finding, aws)


def test_an_undeclared_call_is_caught(s3_only):
    name, finding = FINDINGS[QuarantinePublicBucket.name][0]
    calls = exercise(s3_only, _ReadsVersioningToo(), finding)
    problems = undeclared(_ReadsVersioningToo(), calls)
    assert problems["snapshot"] == {"s3:GetBucketVersioning"}
    assert set(problems) <= {"snapshot", "after_fix", "rollback"}  # the re-read after the fix and a rollback use snapshot too


def test_account_level_calls_map_to_their_own_iam_actions(s3_only):
    """s3control's GetPublicAccessBlock is s3:GetAccountPublicAccessBlock, not the bucket action."""
    (name, finding), *_ = FINDINGS["s3-account-block-public-access"]
    calls = exercise(s3_only, registry.get("s3-account-block-public-access"), finding)
    assert [(c.service, c.operation, c.action) for c in calls["apply"]] == [
        ("s3control", "PutPublicAccessBlock", "s3:PutAccountPublicAccessBlock")
    ]
    assert {c.action for c in calls["snapshot"]} == {"s3:GetAccountPublicAccessBlock"}


def test_operations_whose_iam_action_differs_from_their_name():
    assert iam_action("s3", "DeletePublicAccessBlock") == "s3:PutBucketPublicAccessBlock"
    assert iam_action("s3", "GetBucketEncryption") == "s3:GetEncryptionConfiguration"
    assert iam_action("apigatewayv2", "UpdateStage", "PATCH") == "apigateway:PATCH"
    assert iam_action("dynamodb", "UpdateItem") == "dynamodb:UpdateItem"


def test_a_call_outside_the_role_is_refused_by_the_check(s3_only):
    statements = role_statements(s3_only, "TriageFunction")
    bucket = "arn:aws:s3:::ml-training-data-prod"
    assert allowed(statements, "s3:GetBucketPolicyStatus", bucket)
    assert not allowed(statements, "s3:PutBucketPolicy", bucket)
    assert not allowed(statements, "sns:Publish", "arn:aws:sns:us-east-1:123456789012:warden-NotificationTopic")
    triage = role_statements(s3_only, "TriageFunction")
    assert not allowed(triage, "dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/other")


def test_macie_is_refused_to_every_role_while_the_macie_parameter_is_disabled(s3_only):
    """The s3-only twin runs with Macie=disabled (the default): no role, Triage's included, may read Macie."""
    assert s3_only.parameters["Macie"] == "disabled"
    for function in ("TriageFunction", "S3PublicAccessFunction", "EncryptionFunction", "NotifyFunction"):
        statements = role_statements(s3_only, function)
        assert not allowed(statements, "macie2:ListFindings", "*") and not allowed(statements, "macie2:GetFindings", "*"), function
