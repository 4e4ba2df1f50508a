"""The pure planning logic of warden.remediations.s3_public: which policy statements and ACL grants
make a bucket public, and exactly which changes Warden would make. No AWS calls.

The promise under test: the smallest change that removes public access and nothing else.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warden.findings import Finding, parse_finding
from warden.remediations.s3_public import (
    BlockAccountPublicAccess,
    BlockBucketPublicAccess,
    QuarantinePublicBucket,
    grants_public_access,
    split_policy,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"
BUCKET = "ml-training-data-prod"
ACCOUNT = "123456789012"
SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
ALL_ON = {s: True for s in SETTINGS}
ALL_OFF = {s: False for s in SETTINGS}
RESOURCES = [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]

PUT_BLOCK = "s3:PutBucketPublicAccessBlock"
PUT_POLICY = "s3:PutBucketPolicy"
DELETE_POLICY = "s3:DeleteBucketPolicy"
PUT_ACL = "s3:PutBucketAcl"
PUT_TAGS = "s3:PutBucketTagging"
WARDEN_TAGS = ("warden:quarantined-by", "warden:quarantined-at", "warden:quarantine-reason")


def stmt(principal=None, effect="Allow", condition=None, *, not_principal=None, action="s3:GetObject", sid=None):
    """One bucket-policy statement; only the keys given are present."""
    statement = {"Effect": effect, "Action": action, "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    if sid:
        statement["Sid"] = sid
    if principal is not None:
        statement["Principal"] = principal
    if not_principal is not None:
        statement["NotPrincipal"] = not_principal
    if condition is not None:
        statement["Condition"] = condition
    return statement


# --- grants_public_access -----------------------------------------------------------------------

TRAINING_ROLE = "arn:aws:iam::123456789012:role/SageMakerTrainingRole"

PUBLIC = {
    "principal-star-string": stmt("*"),
    "aws-star": stmt({"AWS": "*"}),
    "aws-list-with-star": stmt({"AWS": ["arn:aws:iam::111122223333:root", "*"]}),
    "canonical-user-star": stmt({"CanonicalUser": "*"}),
    "not-principal-allow": stmt(not_principal={"AWS": TRAINING_ROLE}),
    # conditions that do not narrow "everyone" to a known network, org, account or caller
    "source-ip-everywhere": stmt("*", condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}),
    "source-ip-everywhere-v6": stmt("*", condition={"IpAddress": {"aws:SourceIp": "::/0"}}),
    "source-ip-wide-public-range": stmt("*", condition={"IpAddress": {"aws:SourceIp": "8.0.0.0/8"}}),
    "source-ip-public-slash-16": stmt("*", condition={"IpAddress": {"aws:SourceIp": "52.94.0.0/16"}}),
    "source-ip-not-an-ip": stmt("*", condition={"IpAddress": {"aws:SourceIp": "office"}}),
    "source-ip-one-open-range": stmt(
        "*", condition={"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "0.0.0.0/0"]}}
    ),
    "not-ip-address": stmt("*", condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
    "string-not-equals": stmt("*", condition={"StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}}),
    "if-exists": stmt("*", condition={"StringEqualsIfExists": {"aws:SourceVpce": "vpce-0a1b2c3d"}}),
    "for-all-values": stmt("*", condition={"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
    "wildcard-value": stmt("*", condition={"StringLike": {"aws:SourceVpce": "*"}}),
    "wildcard-in-value": stmt("*", condition={"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/x"}}),
    "policy-variable": stmt("*", condition={"StringEquals": {"aws:PrincipalArn": "${aws:username}"}}),
    "secure-transport-only": stmt("*", condition={"Bool": {"aws:SecureTransport": "true"}}),
    "empty-value-list": stmt("*", condition={"StringEquals": {"aws:SourceVpce": []}}),
    "empty-value-string": stmt("*", condition={"StringEquals": {"aws:SourceVpce": ""}}),
    "referer-is-spoofable": stmt("*", condition={"StringLike": {"aws:Referer": "https://example.com/*"}}),
    "condition-not-a-dict": stmt("*", condition="aws:SourceVpce=vpce-1"),
}

RESTRICTED_OR_PRIVATE = {
    "source-vpce": stmt("*", condition={"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f67890"}}),
    "source-vpc": stmt({"AWS": "*"}, condition={"StringEquals": {"aws:SourceVpc": "vpc-0a1b2c3d"}}),
    "principal-org-id": stmt("*", condition={"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
    "principal-account": stmt("*", condition={"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}),
    "source-ip-private": stmt("*", condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
    # A public /24 (or narrower) is an allowlist of a few hosts, not "everyone".
    "source-ip-public-slash-24": stmt("*", condition={"IpAddress": {"aws:SourceIp": "52.94.76.0/24"}}),
    "source-ip-public-host": stmt("*", condition={"IpAddress": {"aws:SourceIp": "3.5.140.2"}}),
    "source-ip-public-v6-slash-48": stmt("*", condition={"IpAddress": {"aws:SourceIp": "2600:1f18:abcd::/48"}}),
    "key-name-case-insensitive": stmt("*", condition={"StringEquals": {"AWS:SOURCEVPCE": "vpce-0a1b2c3d"}}),
    "for-any-value": stmt("*", condition={"ForAnyValue:StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
    "all-values-restrict": stmt("*", condition={"StringEquals": {"aws:SourceVpce": ["vpce-1a2b", "vpce-3c4d"]}}),
    "restricting-and-open-condition": stmt(
        "*",
        condition={"Bool": {"aws:SecureTransport": "true"}, "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    ),
    "not-principal-restricted": stmt(
        not_principal={"AWS": TRAINING_ROLE}, condition={"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}}
    ),
    "specific-role": stmt({"AWS": TRAINING_ROLE}),
    "specific-accounts": stmt({"AWS": ["arn:aws:iam::111122223333:root", "444455556666"]}),
    "service-principal": stmt({"Service": "logging.s3.amazonaws.com"}, action="s3:PutObject"),
    "deny-everyone": stmt("*", effect="Deny", condition={"Bool": {"aws:SecureTransport": "false"}}),
    "deny-not-principal": stmt(effect="Deny", not_principal={"AWS": TRAINING_ROLE}),
    "not-a-statement": "Allow everyone",
}


@pytest.mark.parametrize("statement", PUBLIC.values(), ids=PUBLIC.keys())
def test_statement_open_to_everyone_is_public(statement):
    assert grants_public_access(statement) is True


@pytest.mark.parametrize("statement", RESTRICTED_OR_PRIVATE.values(), ids=RESTRICTED_OR_PRIVATE.keys())
def test_restricted_or_specific_statement_is_not_public(statement):
    assert grants_public_access(statement) is False


# --- split_policy -------------------------------------------------------------------------------

DENY_INSECURE = stmt("*", "Deny", {"Bool": {"aws:SecureTransport": "false"}}, action="s3:*", sid="DenyInsecureTransport")
PUBLIC_READ = stmt("*", sid="PublicReadForSharing")
TRAINING_READ = {
    "Sid": "TrainingJobsRead",
    "Effect": "Allow",
    "Principal": {"AWS": TRAINING_ROLE},
    "Action": ["s3:GetObject", "s3:ListBucket"],
    "Resource": RESOURCES,
}
PUBLIC_LIST = stmt({"AWS": "*"}, action="s3:ListBucket")  # no Sid: described by position
VPCE_ONLY = stmt("*", condition={"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f67890"}}, sid="VpcEndpointOnly")
POLICY = {
    "Version": "2012-10-17",
    "Id": "TrainingDataPolicy",
    "Statement": [DENY_INSECURE, PUBLIC_READ, TRAINING_READ, PUBLIC_LIST, VPCE_ONLY],
}


def test_split_policy_separates_public_from_kept_in_original_order():
    public, kept = split_policy(copy.deepcopy(POLICY))
    assert public == [PUBLIC_READ, PUBLIC_LIST]
    assert kept == [DENY_INSECURE, TRAINING_READ, VPCE_ONLY]


@pytest.mark.parametrize(
    "policy, public, kept",
    [
        ({"Statement": PUBLIC_READ}, [PUBLIC_READ], []),  # a single statement may be a bare object
        ({"Statement": TRAINING_READ}, [], [TRAINING_READ]),
        ({"Version": "2012-10-17"}, [], []),
        ({"Statement": []}, [], []),
    ],
    ids=["single-public-dict", "single-private-dict", "no-statement-key", "empty-list"],
)
def test_split_policy_shapes(policy, public, kept):
    assert split_policy(policy) == (public, kept)


# --- QuarantinePublicBucket.plan ----------------------------------------------------------------

OWNER = {"DisplayName": "ml-platform", "ID": "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"}
OWNER_GRANT = {"Grantee": {"Type": "CanonicalUser", **OWNER}, "Permission": "FULL_CONTROL"}
LOG_DELIVERY_GRANT = {
    "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/s3/LogDelivery"},
    "Permission": "WRITE",
}
ALL_USERS_READ = {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
                  "Permission": "READ"}
AUTHENTICATED_USERS_WRITE = {
    "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},
    "Permission": "WRITE",
}


def finding(source="cloudtrail", type_="PutBucketPolicy", arn=f"arn:aws:s3:::{BUCKET}") -> Finding:
    return Finding(
        id=f"{source}:test",
        source=source,
        type=type_,
        account=ACCOUNT,
        region="us-east-1",
        resource_type="AWS::S3::Bucket",
        resource_arn=arn,
        actor="arn:aws:sts::123456789012:assumed-role/DataScientist/alice",
        time="2026-11-21T09:14:07+00:00",
        severity="HIGH",
        raw_ref="test",
    )


def snapshot(public_access_block=ALL_OFF, policy=POLICY, grants=None, tags=None) -> dict:
    """A before-snapshot in the shape snapshot() returns; defaults describe a fully public bucket."""
    if grants is None:
        grants = [OWNER_GRANT, ALL_USERS_READ, LOG_DELIVERY_GRANT, AUTHENTICATED_USERS_WRITE]
    return copy.deepcopy({
        "public_access_block": public_access_block,
        "policy": policy,
        "acl": {"Owner": OWNER, "Grants": grants},
        "tags": {"team": "ml", "cost-center": "4711"} if tags is None else tags,
    })


COMPLIANT = dict(
    public_access_block=ALL_ON,
    policy={"Version": "2012-10-17", "Statement": [DENY_INSECURE, TRAINING_READ, VPCE_ONLY]},
    grants=[OWNER_GRANT, LOG_DELIVERY_GRANT],
)


def plan(before: dict, for_finding: Finding | None = None) -> dict:
    """{action: Change}, after checking no action appears twice."""
    changes = QuarantinePublicBucket().plan(for_finding or finding(), before)
    actions = [change.action for change in changes]
    assert len(actions) == len(set(actions))
    return {change.action: change for change in changes}


def new_policy(changes: dict) -> dict:
    return json.loads(changes[PUT_POLICY].params["Policy"])


def test_fully_public_bucket_plan_is_block_policy_acl_then_tags():
    """Block first: it shuts the door in one call even if a later call fails."""
    changes = QuarantinePublicBucket().plan(finding(), snapshot())
    assert [change.action for change in changes] == [PUT_BLOCK, PUT_POLICY, PUT_ACL, PUT_TAGS]


def test_block_change_turns_all_four_settings_on():
    change = plan(snapshot())[PUT_BLOCK]
    assert change.params == {"PublicAccessBlockConfiguration": ALL_ON}


def test_new_policy_keeps_every_other_statement_exactly_and_in_order():
    policy = new_policy(plan(snapshot()))
    assert policy["Statement"] == [DENY_INSECURE, TRAINING_READ, VPCE_ONLY]
    assert PUBLIC_READ not in policy["Statement"] and PUBLIC_LIST not in policy["Statement"]
    assert (policy["Version"], policy["Id"]) == ("2012-10-17", "TrainingDataPolicy")


def test_policy_summary_says_which_statements_were_removed():
    summary = plan(snapshot())[PUT_POLICY].summary
    assert "'PublicReadForSharing'" in summary  # by Sid
    assert "statement #4" in summary  # by position when it has no Sid
    assert "Removed 2 public statement(s)" in summary and "3 other statement(s) kept" in summary


@pytest.mark.parametrize(
    "policy",
    [
        {"Version": "2012-10-17", "Statement": [PUBLIC_READ, PUBLIC_LIST]},
        {"Version": "2012-10-17", "Statement": PUBLIC_READ},
    ],
    ids=["list", "single-dict"],
)
def test_policy_with_only_public_statements_is_deleted(policy):
    """S3 rejects a policy with no statements, so the only way to remove them all is to delete it."""
    changes = plan(snapshot(policy=policy))
    assert DELETE_POLICY in changes and PUT_POLICY not in changes
    assert "Policy" not in changes[DELETE_POLICY].params
    assert "PublicReadForSharing" in changes[DELETE_POLICY].summary


@pytest.mark.parametrize(
    "policy",
    [None, {"Version": "2012-10-17", "Statement": TRAINING_READ}, COMPLIANT["policy"]],
    ids=["no-policy", "single-private-dict", "private-list"],
)
def test_policy_without_public_statements_is_left_alone(policy):
    changes = plan(snapshot(policy=policy))
    assert PUT_POLICY not in changes and DELETE_POLICY not in changes
    assert PUT_BLOCK in changes  # the rest of the fix still happens


def test_acl_loses_only_the_public_grants():
    change = plan(snapshot())[PUT_ACL]
    assert change.params["AccessControlPolicy"] == {"Owner": OWNER, "Grants": [OWNER_GRANT, LOG_DELIVERY_GRANT]}
    assert "AllUsers" in change.summary and "AuthenticatedUsers" in change.summary
    assert "2 other grant(s) kept" in change.summary


def test_acl_without_public_grants_is_left_alone():
    assert PUT_ACL not in plan(snapshot(grants=[OWNER_GRANT, LOG_DELIVERY_GRANT]))


def test_compliant_bucket_gets_an_empty_plan_and_no_tag():
    assert QuarantinePublicBucket().plan(finding(), snapshot(**COMPLIANT)) == []


@pytest.mark.parametrize(
    "block, turned_on",
    [
        (None, SETTINGS),
        ({**ALL_ON, "RestrictPublicBuckets": False}, ("RestrictPublicBuckets",)),
        ({**ALL_ON, "BlockPublicAcls": False, "BlockPublicPolicy": False}, ("BlockPublicAcls", "BlockPublicPolicy")),
    ],
    ids=["no-block-configured", "one-off", "two-off"],
)
def test_block_only_off_is_not_a_public_bucket_but_a_hardening_finding_turns_the_block_on(block, turned_on):
    private_without_block = snapshot(**{**COMPLIANT, "public_access_block": block})
    assert QuarantinePublicBucket().plan(finding(), private_without_block) == [], "not public: no quarantine"
    hardening = BlockBucketPublicAccess().plan(finding(), private_without_block)
    changes = {c.action: c for c in hardening}
    assert list(changes) == [PUT_BLOCK], "Block Public Access only: no quarantine tags on a bucket that was never public"
    summary = changes[PUT_BLOCK].summary
    assert all(setting in summary for setting in turned_on)
    assert not any(setting in summary.split("(")[0] for setting in set(SETTINGS) - set(turned_on))


def test_block_undo_restores_the_exact_previous_settings():
    before = {**ALL_ON, "IgnorePublicAcls": False, "RestrictPublicBuckets": False}
    undo = plan(snapshot(public_access_block=before))[PUT_BLOCK].undo
    assert undo == (
        f"aws s3api put-public-access-block --bucket {BUCKET} --public-access-block-configuration "
        "BlockPublicAcls=true,IgnorePublicAcls=false,BlockPublicPolicy=true,RestrictPublicBuckets=false"
    )


def test_block_undo_deletes_the_block_when_there_was_none():
    undo = plan(snapshot(public_access_block=None))[PUT_BLOCK].undo
    assert undo == f"aws s3api delete-public-access-block --bucket {BUCKET}"


def tag_set(changes: dict) -> dict:
    pairs = changes[PUT_TAGS].params["Tagging"]["TagSet"]
    tags = {pair["Key"]: pair["Value"] for pair in pairs}
    assert len(tags) == len(pairs), "duplicate tag keys would be refused by S3"
    return tags


def test_without_tags_in_the_snapshot_the_fix_changes_only_what_makes_the_bucket_public():
    """QuarantineTag disabled (the default): the snapshot holds no tags, and nothing tags the bucket."""
    untagged = {k: v for k, v in snapshot().items() if k != "tags"}
    assert list(plan(untagged)) == ["s3:PutBucketPublicAccessBlock", "s3:PutBucketPolicy", "s3:PutBucketAcl"]


def test_quarantine_tags_are_merged_into_existing_tags():
    tags = tag_set(plan(snapshot(tags={"team": "ml", "cost-center": "4711"})))
    assert {k: tags[k] for k in ("team", "cost-center")} == {"team": "ml", "cost-center": "4711"}
    assert set(tags) == {"team", "cost-center", *WARDEN_TAGS}
    assert tags["warden:quarantined-by"] == "warden"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", tags["warden:quarantined-at"])


@pytest.mark.parametrize(
    "source, type_, reason",
    [
        ("cloudtrail", "PutBucketPolicy", "cloudtrail PutBucketPolicy"),
        ("guardduty", "Policy:S3/BucketPublicAccessGranted", "guardduty Policy:S3/BucketPublicAccessGranted"),
        ("config", "s3-bucket-public-read-prohibited<x>", "config s3-bucket-public-read-prohibited-x-"),
    ],
)
def test_quarantine_reason_tag_names_the_trigger_in_allowed_characters(source, type_, reason):
    tags = tag_set(plan(snapshot(), finding(source=source, type_=type_)))
    assert tags["warden:quarantine-reason"] == reason
    assert re.fullmatch(r"[\w +\-=.:/@]*", tags["warden:quarantine-reason"])


def test_requarantine_overwrites_old_warden_tags_instead_of_adding_more():
    """47 own tags + 3 old warden tags = 50: still room, because the warden keys are replaced."""
    own = {f"k{i}": "v" for i in range(47)}
    old = {key: "old" for key in WARDEN_TAGS}
    tags = tag_set(plan(snapshot(tags={**own, **old})))
    assert len(tags) == 50 and tags["warden:quarantined-by"] == "warden"


@pytest.mark.parametrize("existing, tagged", [(0, True), (47, True), (48, False), (49, False)])
def test_tagging_is_skipped_over_the_50_tag_limit_but_the_fix_is_not(existing, tagged):
    changes = plan(snapshot(tags={f"k{i}": "v" for i in range(existing)}))
    assert (PUT_TAGS in changes) is tagged
    assert [PUT_BLOCK, PUT_POLICY, PUT_ACL] == [action for action in changes if action != PUT_TAGS]


SCENARIOS = {
    "fully-public": snapshot(),
    "no-block-no-tags": snapshot(public_access_block=None, tags={}),
    "only-public-policy": snapshot(policy={"Statement": [PUBLIC_READ]}),
    "acl-only": snapshot(public_access_block=ALL_ON, policy=None),
}


@pytest.mark.parametrize("before", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_every_change_says_what_it_does_and_how_to_undo_it_on_this_bucket(before):
    changes = QuarantinePublicBucket().plan(finding(), before)
    assert changes
    for change in changes:
        assert change.summary.strip()
        assert f"--bucket {BUCKET}" in change.undo.split(" (")[0]


def test_plan_does_not_modify_the_before_snapshot():
    """The snapshot is what rollback restores; planning must not edit it."""
    before = snapshot()
    untouched = copy.deepcopy(before)
    QuarantinePublicBucket().plan(finding(), before)
    assert before == untouched


def test_tag_undo_deletes_the_tag_set_when_there_were_no_tags():
    assert plan(snapshot(tags={}))[PUT_TAGS].undo == f"aws s3api delete-bucket-tagging --bucket {BUCKET}"


@pytest.mark.parametrize(
    "tags",
    [{"team": "ml"}, {"team": "ml", "cost-center": "4711"}, {"owner": "Data Science / ML", "env": "prod+eu"}],
    ids=["one-tag", "two-tags", "spaces-and-symbols"],
)
def test_tag_undo_puts_back_exactly_the_previous_tags(tags):
    """Run through a shell, the undo's --tagging argument must be the previous TagSet and nothing else.
    (It used to be 'TagSet=[Key=a,Value=b Key=c,Value=d]', which the AWS CLI cannot parse.)"""
    words = shlex.split(plan(snapshot(tags=tags))[PUT_TAGS].undo)
    assert words[:5] == ["aws", "s3api", "put-bucket-tagging", "--bucket", BUCKET]
    assert words[5] == "--tagging" and len(words) == 7
    assert json.loads(words[6]) == {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}


# --- ignore_reason ------------------------------------------------------------------------------


def event_finding(name: str, edit=None) -> Finding:
    event = json.loads((EVENTS / name).read_text())
    if edit:
        edit(event["detail"]["requestParameters"])
    return parse_finding(event)


def set_block(**values):
    def edit(params):
        params["PublicAccessBlockConfiguration"].update(values)
    return edit


def set_policy(statements):
    def edit(params):
        params["bucketPolicy"]["Statement"] = statements
    return edit


@pytest.mark.parametrize(
    "name, edit, ignored",
    [
        ("cloudtrail-s3-putbucketpublicaccessblock-enabled.json", None, True),
        ("cloudtrail-s3-putbucketpublicaccessblock-enabled.json", set_block(**{s: "true" for s in SETTINGS}), True),
        ("cloudtrail-s3-putbucketpublicaccessblock-enabled.json", set_block(RestrictPublicBuckets=False), False),
        ("cloudtrail-s3-putbucketpublicaccessblock-disabled.json", None, False),
        ("cloudtrail-s3-putbucketpolicy-private.json", None, True),
        ("cloudtrail-s3-putbucketpolicy-private.json", set_policy([VPCE_ONLY, DENY_INSECURE]), True),
        ("cloudtrail-s3-putbucketpolicy-public.json", None, False),
        ("cloudtrail-s3-putbucketpolicy-private.json", set_policy([TRAINING_READ, PUBLIC_LIST]), False),
        ("cloudtrail-s3-putbucketacl-public.json", None, False),
        ("cloudtrail-s3-deletebucketpublicaccessblock.json", None, False),
    ],
    ids=["block-all-on", "block-all-on-as-strings", "block-one-off", "block-all-off", "private-policy",
         "restricted-policy", "public-policy", "public-statement-added", "acl", "delete-block"],
)
def test_ignore_reason_only_when_the_request_itself_shows_nothing_public(name, edit, ignored):
    reason = QuarantinePublicBucket().ignore_reason(event_finding(name, edit))
    assert (reason is not None) is ignored
    if ignored:
        assert reason.strip()


# --- BlockAccountPublicAccess.plan --------------------------------------------------------------


def account_finding() -> Finding:
    return Finding(
        id="config:test", source="config", type="s3-account-level-public-access-blocks", account=ACCOUNT,
        region="us-east-1", resource_type="AWS::::Account", resource_arn=f"AWS::::Account:{ACCOUNT}", actor=None,
        time="2026-11-21T09:14:07+00:00", severity="HIGH", raw_ref="test",
    )


def test_account_block_missing_is_created_and_undone_by_delete():
    (change,) = BlockAccountPublicAccess().plan(account_finding(), {"public_access_block": None})
    assert change.action == "s3:PutAccountPublicAccessBlock"
    assert change.params == {"PublicAccessBlockConfiguration": ALL_ON}
    assert all(setting in change.summary for setting in SETTINGS)
    assert change.undo == f"aws s3control delete-public-access-block --account-id {ACCOUNT}"


def test_account_block_partly_off_is_completed_and_undo_restores_it():
    before = {**ALL_ON, "BlockPublicPolicy": False, "RestrictPublicBuckets": False}
    (change,) = BlockAccountPublicAccess().plan(account_finding(), {"public_access_block": before})
    assert change.params == {"PublicAccessBlockConfiguration": ALL_ON}
    assert "turned on: BlockPublicPolicy, RestrictPublicBuckets" in change.summary
    assert change.undo == (
        f"aws s3control put-public-access-block --account-id {ACCOUNT} --public-access-block-configuration "
        "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=false,RestrictPublicBuckets=false"
    )


def test_account_block_all_on_needs_no_change():
    assert BlockAccountPublicAccess().plan(account_finding(), {"public_access_block": dict(ALL_ON)}) == []


# --- properties -----------------------------------------------------------------------------------

vpce_ids = st.from_regex(r"vpce-[0-9a-f]{8,17}", fullmatch=True)
org_ids = st.from_regex(r"o-[a-z0-9]{10}", fullmatch=True)
account_ids = st.from_regex(r"[0-9]{12}", fullmatch=True)
private_cidrs = st.sampled_from(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "10.20.30.0/24"])

restricting = st.one_of(
    vpce_ids.map(lambda v: {"StringEquals": {"aws:SourceVpce": v}}),
    org_ids.map(lambda v: {"StringEquals": {"aws:PrincipalOrgID": v}}),
    org_ids.map(lambda v: {"ForAnyValue:StringEquals": {"aws:PrincipalOrgID": v}}),
    account_ids.map(lambda v: {"StringEquals": {"aws:PrincipalAccount": v}}),
    private_cidrs.map(lambda v: {"IpAddress": {"aws:SourceIp": v}}),
)
# None of these uses an operator that appears in `restricting`, so the two can be merged safely.
open_conditions = st.one_of(
    st.none(),
    vpce_ids.map(lambda v: {"StringNotEquals": {"aws:SourceVpce": v}}),
    vpce_ids.map(lambda v: {"StringEqualsIfExists": {"aws:SourceVpce": v}}),
    org_ids.map(lambda v: {"ForAllValues:StringEquals": {"aws:PrincipalOrgID": v}}),
    private_cidrs.map(lambda v: {"NotIpAddress": {"aws:SourceIp": v}}),
    st.just({"Bool": {"aws:SecureTransport": "true"}}),
    st.just({"StringLike": {"aws:SourceVpce": "vpce-*"}}),
    st.just({"StringLike": {"aws:Referer": "https://example.com/*"}}),
)
everyone = st.sampled_from(["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::111122223333:root", "*"]},
                            {"CanonicalUser": "*"}])
specific = st.one_of(
    account_ids.map(lambda a: {"AWS": f"arn:aws:iam::{a}:root"}),
    st.just({"Service": "logging.s3.amazonaws.com"}),
)
actions = st.sampled_from(["s3:GetObject", ["s3:GetObject", "s3:ListBucket"], "s3:*", "s3:PutObject"])
sids = st.text(alphabet=string.ascii_letters + string.digits, max_size=6)


def merged(first, second):
    return {**(first or {}), **(second or {})} or None


public_statements = st.one_of(
    st.builds(lambda p, c, a, s: stmt(p, "Allow", c, action=a, sid=s), everyone, open_conditions, actions, sids),
    st.builds(lambda p, c, a, s: stmt(None, "Allow", c, not_principal=p, action=a, sid=s),
              specific, open_conditions, actions, sids),
)
kept_statements = st.one_of(
    st.builds(lambda p, c, a, s: stmt(p, "Allow", c, action=a, sid=s),
              specific, st.one_of(open_conditions, restricting), actions, sids),
    st.builds(lambda p, r, o, a, s: stmt(p, "Allow", merged(r, o), action=a, sid=s),
              everyone, restricting, open_conditions, actions, sids),
    st.builds(lambda p, c, a, s: stmt(p, "Deny", c, action=a, sid=s),
              st.one_of(everyone, specific), open_conditions, actions, sids),
)
labelled_statements = st.lists(
    st.one_of(public_statements.map(lambda s: (s, True)), kept_statements.map(lambda s: (s, False))), max_size=10
)


@settings(max_examples=300, deadline=None, database=None)
@given(labelled_statements)
def test_split_policy_removes_exactly_the_public_statements_in_order(labelled):
    statements = [statement for statement, _ in labelled]
    public, kept = split_policy({"Version": "2012-10-17", "Statement": copy.deepcopy(statements)})
    assert kept == [statement for statement, is_public in labelled if not is_public]
    assert public == [statement for statement, is_public in labelled if is_public]
    assert not any(grants_public_access(statement) for statement in kept)


@settings(max_examples=200, deadline=None, database=None)
@given(labelled_statements)
def test_planned_policy_change_matches_the_split(labelled):
    """Put the kept statements, delete when none are left, leave alone when none are public."""
    statements = [statement for statement, _ in labelled]
    kept = [statement for statement, is_public in labelled if not is_public]
    has_public = any(is_public for _, is_public in labelled)
    changes = plan(snapshot(policy={"Version": "2012-10-17", "Statement": statements}))
    if not has_public:
        assert PUT_POLICY not in changes and DELETE_POLICY not in changes
    elif not kept:
        assert DELETE_POLICY in changes and PUT_POLICY not in changes
    else:
        assert new_policy(changes)["Statement"] == kept and DELETE_POLICY not in changes
