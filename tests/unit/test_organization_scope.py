"""Which accounts a stack guards, without AWS: outside organization mode only its own account."""

from __future__ import annotations

import json

import pytest

from tests.conftest import event
from warden import organization

HOME, OTHER = "123456789012", "111122223333"


def test_without_organization_id_only_the_stacks_own_account_is_guarded(monkeypatch):
    """A Security Hub administrator without OrganizationId receives its members' findings too."""
    monkeypatch.setenv("WARDEN_ACCOUNT_ID", HOME)
    monkeypatch.delenv("WARDEN_ORGANIZATION_ID", raising=False)

    assert organization.unguarded_reason(HOME) is None
    reason = organization.unguarded_reason(OTHER)
    assert reason.startswith(f"account {OTHER} is not this stack's account {HOME}: without OrganizationId")
    assert reason.endswith("the event was dropped before anything was read")
    assert organization.ou_ids(OTHER) == () and organization.member_summary(OTHER) is None


def _control_finding(envelope: str, member: str) -> dict:

    found = json.loads(json.dumps(event("securityhub-s3-8-bucket-public-access.json")).replace(HOME, member))
    found["account"] = envelope
    return found


def test_a_security_hub_finding_aggregated_in_this_stacks_account_names_the_member(monkeypatch):
    """The administrator's default bus: envelope = the hub, AwsAccountId = the member."""
    from warden.findings import RejectedEvent, parse_finding

    monkeypatch.setenv("WARDEN_ACCOUNT_ID", HOME)
    assert parse_finding(_control_finding(HOME, OTHER)).account == OTHER
    with pytest.raises(RejectedEvent, match="is not the account its detail names"):
        parse_finding(_control_finding("222233334444", OTHER))  # aggregated elsewhere: not ours to take
    cloudtrail = json.loads(json.dumps(event("cloudtrail-s3-putbucketpolicy-public.json")).replace(HOME, OTHER))
    cloudtrail["account"] = HOME
    with pytest.raises(RejectedEvent, match="is not the account its detail names"):
        parse_finding(cloudtrail)  # only Security Hub aggregates
