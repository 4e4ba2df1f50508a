"""Exemptions with an expiry: what the tag value (or an exemption list entry) says, and when it ends."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from warden.findings import Finding
from warden.policy import Settings, exemption, parse_terms

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
WEBSITE = "arn:aws:s3:::public-model-cards"


def finding(arn: str = WEBSITE) -> Finding:
    return Finding(
        id="cloudtrail:1", source="cloudtrail", type="PutBucketPolicy", account="123456789012", region="us-east-1",
        resource_type="AWS::S3::Bucket", resource_arn=arn, actor=None, time="2026-11-21T09:00:00Z", severity="HIGH",
        raw_ref="1", details={},
    )  # fmt: skip


def settings(**overrides) -> Settings:
    return Settings(**{**Settings.from_env({}).__dict__, **overrides})


@pytest.mark.parametrize(
    "value, reason, until",
    [
        ("until=2027-01-31; reason=public website", "public website", "2027-01-31"),
        ("until=2027-01-31 reason=public website", "public website", "2027-01-31"),  # S3 and IAM tags allow no ';'
        ("reason=public website until=2027-01-31", "public website", "2027-01-31"),
        ("reason=public website; until=2027-01-31T18:00:00Z", "public website", "2027-01-31T18:00:00Z"),
        ("public website, owner web-team", "public website, owner web-team", None),  # no until: for good
        ("", "", None),
    ],
)
def test_the_tag_value_carries_a_date_and_a_reason(value, reason, until):
    terms = parse_terms(value)
    assert (terms.reason, terms.until, terms.problem) == (reason, until, None)


def test_a_date_is_valid_through_that_day_utc_and_a_time_until_that_moment():
    assert not parse_terms("until=2026-11-21").expired(NOW)
    assert parse_terms("until=2026-11-20").expired(NOW)
    assert parse_terms("until=2026-11-21T11:59:59Z").expired(NOW)
    assert not parse_terms("until=2026-11-21T13:00:00+00:00").expired(NOW)


def test_an_active_exemption_says_why_and_until_when():
    reason, expired = exemption(finding(), {"warden:exempt": "until=2027-01-31 reason=public website"}, settings(), NOW)
    assert reason.startswith("resource is tagged warden:exempt='until=2027-01-31 reason=public website', valid until 2027-01-31; ")
    assert "who can set this: anyone allowed s3:PutBucketTagging on the resource, unless an SCP reserves the tag key warden:exempt" in reason
    assert expired == []


def test_an_expired_exemption_no_longer_applies_and_says_so():
    reason, expired = exemption(finding(), {"warden:exempt": "until=2026-10-31; reason=launch week"}, settings(), NOW)
    assert reason is None
    assert expired == ["the exemption tag warden:exempt='until=2026-10-31; reason=launch week' expired (until=2026-10-31), so it no longer applies"]


def test_an_unreadable_date_keeps_the_exemption_and_asks_to_fix_it():
    """The exposure is still reported (exempt findings are notified), and nobody loses a site to a typo."""
    reason, _ = exemption(finding(), {"warden:exempt": "until=2027-31-01 reason=site"}, settings(), NOW)
    assert reason is not None
    assert "its until '2027-31-01' is not a date such as 2027-01-31, so it does not expire: fix it" in reason


def test_exemption_list_entries_expire_too():
    terms = {"arn:aws:s3:::public-*": "until=2026-11-01 reason=migration"}
    listed = settings(exempt_resource_patterns=("arn:aws:s3:::public-*",), exempt_terms=terms)
    reason, expired = exemption(finding(), {}, listed, NOW)
    assert reason is None
    assert expired == ["the exemption list entry 'arn:aws:s3:::public-*' expired (until=2026-11-01), so it no longer applies"]
    reason, _ = exemption(finding(), {}, listed, datetime(2026, 10, 30, tzinfo=timezone.utc))
    assert reason == (
        "resource matches the exemption list entry 'arn:aws:s3:::public-*' (reason: migration; until 2026-11-01); "
        "who can set this: whoever may update the stack (its ExemptResourceArns parameter)"
    )


def test_an_expired_list_entry_falls_through_to_a_valid_tag():
    listed = settings(exempt_resource_patterns=("arn:aws:s3:::public-*",), exempt_terms={"arn:aws:s3:::public-*": "until=2026-11-01"})
    reason, expired = exemption(finding(), {"warden:exempt": "website"}, listed, NOW)
    assert reason.startswith("resource is tagged warden:exempt='website'; who can set this: ")
    assert len(expired) == 1


def test_settings_only_ignores_the_exemption_tag_and_says_so():
    only_settings = settings(exemption_source="settings-only")
    reason, notes = exemption(finding(), {"warden:exempt": "website"}, only_settings, NOW)
    assert reason is None
    assert notes == ["the resource is tagged warden:exempt, but ExemptionSource is settings-only: Warden ignores exemption tags"]
    listed = settings(exemption_source="settings-only", exempt_resource_patterns=(WEBSITE,))
    assert exemption(finding(), {"warden:exempt": "website"}, listed, NOW)[0].startswith("resource matches the exemption list entry")


def test_exemption_source_comes_from_the_stack_parameter_and_defaults_to_both():
    assert Settings.from_env({}).exemption_source == "tags-and-settings"
    assert Settings.from_env({"WARDEN_EXEMPTION_SOURCE": "settings-only"}).exemption_source == "settings-only"
    assert Settings.from_env({"WARDEN_EXEMPTION_SOURCE": "tags-only?"}).exemption_source == "tags-and-settings"


# --- protected principals: paths, reserved paths, sessions (issue 11, part 9) ---------------------

from warden.policy import protected_reason  # noqa: E402

A = "123456789012"


@pytest.mark.parametrize(
    "listed, principal",
    [
        (f"arn:aws:iam::{A}:user/ops/breakglass", f"arn:aws:iam::{A}:user/ops/breakglass"),
        (f"arn:aws:iam::{A}:user/ops/breakglass", f"arn:aws:iam::{A}:user/breakglass"),  # names are unique per account
        (f"arn:aws:iam::{A}:role/platform/Deployer", f"arn:aws:iam::{A}:role/platform/Deployer"),
        (f"arn:aws:sts::{A}:assumed-role/Deployer/alice", f"arn:aws:iam::{A}:role/platform/Deployer"),
    ],
)
def test_a_listed_principal_is_matched_whatever_its_path(listed, principal):
    assert protected_reason(principal, settings(protected_principal_arns=(listed,)))


@pytest.mark.parametrize(
    "principal",
    [
        f"arn:aws:iam::{A}:user/ops/breakglass-2",  # another name
        f"arn:aws:iam::{A}:role/ops/breakglass",  # another kind
        "arn:aws:iam::210987654321:user/ops/breakglass",  # another account
    ],
)
def test_another_principal_is_not_matched(principal):
    assert protected_reason(principal, settings(protected_principal_arns=(f"arn:aws:iam::{A}:user/ops/breakglass",))) is None


def test_sso_and_service_linked_roles_are_known_by_their_reserved_paths_not_their_names():
    sso = f"arn:aws:iam::{A}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123"
    linked = f"arn:aws:iam::{A}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing"
    assert "SSO" in protected_reason(sso, settings())
    assert "service-linked" in protected_reason(linked, settings())
    assert protected_reason(f"arn:aws:iam::{A}:role/AWSReservedSSO_Admin_lookalike", settings()) is None
    assert protected_reason(f"arn:aws:iam::{A}:role/AWSServiceRoleForLookalike", settings()) is None
