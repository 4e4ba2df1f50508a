"""Which accounts a stack guards, without AWS: outside organization mode only its own account."""

from __future__ import annotations

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
