"""Organization mode: the credentials an operator command acts with in a member account.

A hub's audit table holds every member's records; undoing a member's fix must act in that member,
as the operator (CloudTrail names the person there), never through a Warden role. So the command
uses, in this order:

- `--member-profile PROFILE`: that AWS profile, which must be for the record's account;
- your own credentials, when the record is in their account (single-account stacks, the hub's own);
- `--member-role NAME`: that role in the record's account, assumed with your own credentials
  (`OrganizationAccountAccessRole` is the role Organizations creates in accounts it creates);
- else a one-line error naming the account and both options: nothing is read or changed.
"""

from __future__ import annotations

import re

import boto3

ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")


def _session_name(caller_arn: str) -> str:
    """`warden-ops-<who>`: the member's CloudTrail names the person who assumed the role."""
    who = caller_arn.rsplit("/", 1)[-1] if "/" in caller_arn else "operator"
    return ("warden-ops-" + re.sub(r"[^\w+=,.@-]", "-", who))[:64]


def member_credentials(
    target, account: str, what: str, member_role: str | None = None, member_profile: str | None = None
) -> tuple[str, str, str] | None:
    """(key id, secret, token) to act with in `account`, or None for the command's own credentials.
    `what` names the record in the error (e.g. "finding cloudtrail:3f2c..."). ValueError says why not."""
    if member_profile:
        session = boto3.session.Session(profile_name=member_profile, region_name=target.client("sts").meta.region_name)
        found = session.client("sts").get_caller_identity()["Account"]
        if found != account:
            raise ValueError(f"--member-profile {member_profile} is for account {found}, but {what} is in account {account}")
        frozen = session.get_credentials().get_frozen_credentials()
        return frozen.access_key, frozen.secret_key, frozen.token
    sts = target.client("sts")
    me = sts.get_caller_identity()
    if me["Account"] == account:
        return None
    if not member_role:
        raise ValueError(
            f"{what} is in account {account} and your credentials are for account {me['Account']}: pass --member-role ROLE "
            "(a role you may assume there, e.g. OrganizationAccountAccessRole) or --member-profile PROFILE"
        )
    if not ROLE_NAME.match(member_role):
        raise ValueError(f"--member-role takes a role name (e.g. OrganizationAccountAccessRole), not {member_role!r}")
    partition = me["Arn"].split(":")[1]
    credentials = sts.assume_role(
        RoleArn=f"arn:{partition}:iam::{account}:role/{member_role}", RoleSessionName=_session_name(me["Arn"])
    )["Credentials"]
    return credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
