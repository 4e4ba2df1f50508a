"""The IAM planner, pure: what counts as over-broad, and properties that must hold for any policy."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warden.findings import Finding
from warden.remediations.iam import (
    NO_ACCESS_STATEMENT,
    SIZE_LIMITS,
    RestrictManagedPolicy,
    StripInlinePolicy,
    compact,
    grants_admin,
    grants_overbroad_access,
    strip_overbroad,
)

OVER_BROAD = [
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Effect": "Allow", "Action": ["s3:GetObject", "*"], "Resource": ["*"]},
    {"Effect": "Allow", "Action": "*:*", "Resource": "*"},
    {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"},
    {"Effect": "Allow", "Action": "S3:*", "Resource": "*"},
    {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},  # PowerUserAccess-style
    {"Effect": "Allow", "Action": "iam:*", "NotResource": "arn:aws:iam::123456789012:role/x"},
]
NOT_OVER_BROAD = [
    {"Effect": "Deny", "Action": "*", "Resource": "*"},
    {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"},
    {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::bucket/*"},
    {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::bucket"},
    {"Effect": "Allow", "Action": "*:Get*", "Resource": "*"},
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
    "not a statement",
]


@pytest.mark.parametrize("statement", OVER_BROAD)
def test_over_broad(statement):
    assert grants_overbroad_access(statement)


@pytest.mark.parametrize("statement", NOT_OVER_BROAD)
def test_not_over_broad(statement):
    assert not grants_overbroad_access(statement)


def test_admin_is_narrower_than_over_broad():
    """Attachments are detached only for admin-equivalent policies, not for one service's FullAccess."""
    assert grants_admin({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    assert grants_admin({"Statement": {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}})
    assert not grants_admin({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})


# --- properties over any policy document ------------------------------------------------------

actions = st.sampled_from(["*", "*:*", "s3:*", "s3:GetObject", "s3:Get*", "iam:PassRole", "sagemaker:*", "ec2:Describe*", "kms:Decrypt"])
resources = st.sampled_from(["*", "arn:aws:s3:::bucket/*", "arn:aws:iam::123456789012:role/r", "arn:aws:kms:*:*:key/*"])
one_or_many = lambda s: st.one_of(s, st.lists(s, min_size=1, max_size=3))  # noqa: E731
statement = st.fixed_dictionaries(
    {"Effect": st.sampled_from(["Allow", "Deny"])},
    optional={
        "Sid": st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True),
        "Condition": st.just({"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
    },
).flatmap(
    lambda base: st.one_of(
        st.builds(lambda a, r: {**base, "Action": a, "Resource": r}, one_or_many(actions), one_or_many(resources)),
        st.builds(lambda a, r: {**base, "NotAction": a, "Resource": r}, one_or_many(actions), one_or_many(resources)),
        st.builds(lambda a, r: {**base, "Action": a, "NotResource": r}, one_or_many(actions), one_or_many(resources)),
    )
)
documents = st.builds(
    lambda statements, single: {"Version": "2012-10-17", "Statement": statements[0] if single and len(statements) == 1 else statements},
    st.lists(statement, min_size=1, max_size=12),
    st.booleans(),
)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_planned_document_is_safe_keeps_the_rest_exactly_and_fits(document):
    original = json.dumps(document)
    statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
    planned, removed = strip_overbroad(document)

    assert json.dumps(document) == original, "the before-snapshot is never mutated"
    if not removed:
        assert planned is document, "a document with nothing to remove is returned untouched"
    kept = [] if planned is None else planned["Statement"]
    kept = kept if isinstance(kept, list) else [kept]
    assert not any(grants_overbroad_access(s) for s in kept)
    assert kept == [s for s in statements if not grants_overbroad_access(s)], "every other statement, in order"
    assert [json.dumps(s) for s in kept] == [json.dumps(s) for s in statements if s in kept], "byte for byte"
    assert len(removed) + len(kept) == len(statements)
    if planned is not None:
        text = compact(planned)
        assert json.loads(text) == planned
        assert len(text) <= len(compact(document)), "removing statements never grows the document"
        assert planned["Version"] == "2012-10-17"


@settings(max_examples=200, deadline=None, derandomize=True)
@given(documents)
def test_managed_policy_plan_always_ends_safe_and_valid(document):
    """Whatever the default version holds, the new default has no over-broad statement, at least one
    statement (IAM refuses none), and fits IAM's managed-policy size limit if the original did."""
    finding = Finding("t", "cloudtrail", "CreatePolicyVersion", "123456789012", "us-east-1", "AWS::IAM::Policy",
                      "arn:aws:iam::123456789012:policy/p", None, "2026-11-21T00:00:00+00:00", "HIGH", "t")
    before = {"policy_arn": finding.resource_arn, "default_version": "v1",
              "versions": [{"id": "v1", "created": "2026-11-21", "document": document}]}
    changes = RestrictManagedPolicy().plan(finding, before)
    if not any(grants_overbroad_access(s) for s in (document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]])):
        assert changes == []
        return
    (create,) = changes
    new = json.loads(create.params["PolicyDocument"])
    assert new["Statement"] and not any(grants_overbroad_access(s) for s in new["Statement"])
    assert create.params["SetAsDefault"] is True
    if len(compact(document)) <= SIZE_LIMITS["managed"]:
        assert len(create.params["PolicyDocument"]) <= SIZE_LIMITS["managed"]


def test_all_over_broad_managed_policy_gets_a_statement_that_grants_nothing():
    finding = Finding("t", "cloudtrail", "CreatePolicy", "123456789012", "us-east-1", "AWS::IAM::Policy",
                      "arn:aws:iam::123456789012:policy/p", None, "2026-11-21T00:00:00+00:00", "HIGH", "t")
    before = {"policy_arn": finding.resource_arn, "default_version": "v1",
              "versions": [{"id": "v1", "created": "1", "document": {"Version": "2012-10-17", "Statement": [OVER_BROAD[0]]}}]}
    (create,) = RestrictManagedPolicy().plan(finding, before)
    assert json.loads(create.params["PolicyDocument"])["Statement"] == [NO_ACCESS_STATEMENT]
    assert create.undo == "aws iam set-default-policy-version --policy-arn arn:aws:iam::123456789012:policy/p --version-id v1"


def test_five_versions_oldest_non_default_goes_first_and_is_in_the_snapshot():
    finding = Finding("t", "cloudtrail", "CreatePolicyVersion", "123456789012", "us-east-1", "AWS::IAM::Policy",
                      "arn:aws:iam::123456789012:policy/p", None, "2026-11-21T00:00:00+00:00", "HIGH", "t")
    bad = {"Version": "2012-10-17", "Statement": [OVER_BROAD[0], {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    versions = [{"id": f"v{i}", "created": f"2026-11-2{i}", "document": bad} for i in range(1, 6)]
    before = {"policy_arn": finding.resource_arn, "default_version": "v5", "versions": versions}
    delete, create = RestrictManagedPolicy().plan(finding, before)
    assert (delete.action, delete.params["VersionId"]) == ("iam:DeletePolicyVersion", "v1")
    assert create.action == "iam:CreatePolicyVersion"


def test_inline_policy_left_empty_is_deleted_and_undo_puts_it_back():
    finding = Finding("t", "cloudtrail", "PutUserPolicy", "123456789012", "us-east-1", "AWS::IAM::User",
                      "arn:aws:iam::123456789012:user/dev", None, "2026-11-21T00:00:00+00:00", "HIGH", "t")
    document = {"Version": "2012-10-17", "Statement": [OVER_BROAD[0]]}
    (change,) = StripInlinePolicy().plan(finding, {"inline_policies": {"AllIn": document}})
    assert change.action == "iam:DeleteUserPolicy"
    assert change.params == {"UserName": "dev", "PolicyName": "AllIn"}
    assert change.undo.startswith("aws iam put-user-policy --user-name dev --policy-name AllIn --policy-document '")
    assert json.loads(change.undo.split("'")[1]) == document
