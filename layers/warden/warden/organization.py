"""Which accounts a hub guards: the organization's active members, optionally narrowed by scope.

In organization mode (OrganizationId set) an event names a member account; Triage resolves it with
AWS Organizations before anything is read, and drops it if the account is not an active member of
the organization, or is outside `OrganizationScope` (account ids and OU ids, from a stack parameter:
the settings document is writable by more people than the stack). The hub is meant to run in the
Organizations delegated administrator account, where DescribeAccount and ListParents answer.

Memberships are cached per container for MEMBERSHIP_TTL_SECONDS: an account that leaves the
organization is refused at most that long after it left (its spoke roles also stop trusting the hub
at once, since their trust policy requires the organization).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

from warden.aws import client, organization_mode, own_account

MEMBERSHIP_TTL_SECONDS = 900
_cache: dict[str, tuple[Membership | None, float]] = {}


@dataclass(frozen=True)
class Membership:
    account: str
    name: str
    ou_ids: tuple[str, ...]  # nearest first; empty for an account directly under the root

    @property
    def ou(self) -> str | None:
        return self.ou_ids[0] if self.ou_ids else None


def organization_id() -> str:
    return os.environ.get("WARDEN_ORGANIZATION_ID", "")


def scope() -> tuple[str, ...]:
    return tuple(item.strip() for item in os.environ.get("WARDEN_ORGANIZATION_SCOPE", "").split(",") if item.strip())


def membership(account: str) -> Membership | None:
    """The account as a member of the organization, or None if it is not an active member."""
    cached = _cache.get(account)
    if cached and time.monotonic() - cached[1] < MEMBERSHIP_TTL_SECONDS:
        return cached[0]
    organizations = client("organizations")
    try:
        described = organizations.describe_account(AccountId=account)["Account"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "AccountNotFoundException":
            raise  # AccessDenied, throttling: a failure to say, not a verdict on the account
        found = None
    else:
        found = None if described.get("Status", "ACTIVE") != "ACTIVE" else Membership(account, described.get("Name", ""), _ous(organizations, account))
    _cache[account] = (found, time.monotonic())
    return found


def _ous(organizations, account: str) -> tuple[str, ...]:
    ous, child = [], account
    while True:
        (parent,) = organizations.list_parents(ChildId=child)["Parents"]
        if parent["Type"] != "ORGANIZATIONAL_UNIT":
            return tuple(ous)
        ous.append(parent["Id"])
        child = parent["Id"]


def unguarded_reason(account: str) -> str | None:
    """Why Warden must drop an event about `account`, or None when it guards that account. The
    stack's own account is always guarded; without OrganizationId it is the only one (a Security Hub
    administrator outside organization mode receives its members' findings too: its roles cannot act
    there, and an account-level fix would land in the wrong account)."""
    home = own_account()
    if account == home:
        return None
    if not organization_mode():
        return (
            f"account {account} is not this stack's account {home}: without OrganizationId Warden guards its own "
            "account only (deploy it as the hub of an organization to guard members); the event was dropped "
            "before anything was read"
        )
    member = membership(account)
    if member is None:
        return (
            f"account {account} is not an active member of organization {organization_id()}: "
            "the event was dropped before anything was read"
        )
    allowed = scope()
    if allowed and account not in allowed and not set(member.ou_ids) & set(allowed):
        return (
            f"account {account} ({member.name}) is in the organization but outside OrganizationScope "
            f"({', '.join(allowed)}): the event was dropped before anything was read"
        )
    return None


def ou_ids(account: str) -> tuple[str, ...]:
    """The OUs above a guarded member account, nearest first; () for the hub, outside organization
    mode, or for an account the hub does not guard (Triage rejects those anyway)."""
    if not organization_mode() or account == own_account() or unguarded_reason(account):
        return ()
    member = membership(account)
    return member.ou_ids if member else ()


def member_summary(account: str) -> dict | None:
    """{account, name, ou} of a member account for the message; None outside organization mode or
    for the hub itself. Uses the membership Triage already resolved (cached)."""
    if not organization_mode() or account == own_account():
        return None
    member = membership(account)
    return None if member is None else {"account": account, "name": member.name, "ou": member.ou}


def forget() -> None:
    """Drop cached memberships (tests, and the twin between scenarios)."""
    _cache.clear()
