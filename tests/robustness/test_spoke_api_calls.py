"""Least privilege in organization mode, observed: every call a hub function makes in a member
account goes through that function's spoke role (spoke.yaml), and must be allowed by THAT role's
policy as StackSets would create it in the member (parameters and account resolved); every call it
makes at home must be allowed by its own role. Spoke-role statements no call used are reported
(a warning naming them), so a statement carried over from the hub for nothing is seen.

The events are the first events/ file of every remediation, retold as happening in member
`ml-research`, forwarded by its spoke rules: the same set test_api_calls.py runs at home.
One Organization for the module (it costs seconds).
"""

from __future__ import annotations

import json
import warnings
from unittest import mock

import pytest

from local import scenarios
from local.faults import ApiCall, allowed, attribute_calls_to_functions, record_api_calls, role_statements
from local.iam_policy import EXPLICITLY_DENIED, decide, statement_applies
from local.organization import Organization, as_account
from tests.robustness.world import FINDINGS, ROOT
from warden_ops import spoke

MEMBER = "ml-research"


def _spoke_policies(org: Organization, account: str) -> dict[str, list[dict]]:
    """role name -> its policy statements, resolved as the member's stack instance has them."""
    template = spoke.spoke_template()
    resolver = org._resolver(template, account)
    return {
        resource["Properties"]["RoleName"]: [
            s for policy in resolver._resolve(resource["Properties"]["Policies"]) for s in policy["PolicyDocument"]["Statement"]
        ]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Role" and resource["Properties"]["RoleName"] != spoke.FORWARDER_ROLE
    }


def _used(statement: dict, call: ApiCall, account: str, role_arn: str) -> bool:
    """The call is one this Allow statement grants (action, resource and conditions: local.iam_policy)."""
    return any(
        allowed([statement], action, None) if resource is None else statement_applies(statement, action, resource, call.condition_context(role_arn))
        for action, resource in call.authorized_as(account)
    )


def _assumed_roles() -> dict[str, str]:
    """access key id -> the role ARN whose session it is (moto's STS keeps them per account)."""
    from moto.sts.models import sts_backends

    return {
        role.access_key_id: role.role_arn
        for account in list(sts_backends)
        for backend in sts_backends[account].values()
        for role in backend.assumed_roles
    }


@pytest.fixture(scope="module")
def observed():
    """(org, member account, calls) of every remediation's first event in the member."""
    with Organization(parameters={"Mode": "enforce", "IamMode": "enforce", "CooldownSeconds": "1", "MaxCooldowns": "1"},
                      aws_managed_policies=True) as org:  # fmt: skip
        account = org.members[MEMBER]
        clients = lambda service: org.client(service, MEMBER)  # noqa: E731
        key_arn = scenarios.key_arn
        member_key = lambda name, account=account, region=scenarios.REGION: key_arn(name, account, region)  # noqa: E731
        # the scenario's ARNs (its keys' too) name the member
        with mock.patch.object(scenarios, "ACCOUNT", account), mock.patch.object(scenarios, "key_arn", member_key):
            scenarios.public_training_bucket(clients("s3"))
            scenarios.account_block_off(clients("s3control"), account)
            scenarios.encryption_turned_off(clients)
            scenarios.iam_over_broad(clients)
            scenarios.abused_apis(clients)
        names = sorted({found[0][0] for found in FINDINGS.values()})
        with attribute_calls_to_functions(org), record_api_calls() as calls:
            results = {name: org.send(as_account(json.loads((ROOT / "events" / name).read_text()), account), MEMBER) for name in names}
        yield org, account, calls, results


def _through_spoke(calls: list[ApiCall], account: str) -> dict[str, list[ApiCall]]:
    """spoke role name -> the function calls made with its sessions in `account`."""
    sessions = _assumed_roles()
    found: dict[str, list[ApiCall]] = {}
    for call in calls:
        role = sessions.get(call.access_key or "")
        if call.function and role and role.split(":")[4] == account:
            found.setdefault(role.rsplit("/", 1)[-1], []).append(call)
    return found


def test_hub_functions_act_in_a_member_only_through_their_own_spoke_role(observed):
    org, account, calls, results = observed
    by_role = _through_spoke(calls, account)
    forwarded = [name for name, result in results.items() if result.executions]
    assert len(forwarded) >= 10, "most events/ files reach the hub through the member's spoke"
    # Each function uses only the spoke role named after it (the trust policy would refuse any other).
    for role, made in by_role.items():
        family = role.removeprefix(spoke.SPOKE_ROLE_PREFIX)
        assert {c.function for c in made} == {f for f, fam in spoke.SPOKE_ROLES.items() if fam == family}, role
    assert {"warden-spoke-triage", "warden-spoke-s3-public", "warden-spoke-encryption", "warden-spoke-iam"} <= set(by_role)


def _role_arn(account: str, role: str) -> str:
    return f"arn:aws:iam::{account}:role/{role}"


def test_every_call_through_a_spoke_role_is_allowed_by_that_role_in_the_member(observed):
    """Evaluated as IAM would (local.iam_policy via local.faults.allowed): the role's Deny, the
    resource each call names and the condition keys it sets."""
    org, account, calls, _ = observed
    policies = _spoke_policies(org, account)
    refused = sorted(
        {
            f"{role} ({c.function}): {action} on {resource}"
            for role, made in _through_spoke(calls, account).items()
            for c in made
            for action, resource in c.authorized_as(account)
            if not allowed(policies[role], action, resource, c.condition_context(_role_arn(account, role)))
        }
    )
    assert refused == [], "calls the spoke role in the member account would refuse in production"
    # The hub's own calls (audit table, settings, topic, AssumeRole) stay allowed by the hub roles;
    # AssumeRole into a member's spoke role carries the role's organization (aws:ResourceOrgID).
    in_organization = set(org.members.values())

    def context(c: ApiCall) -> dict:
        role = org.attributes[(f"{c.function}Role", "Arn")]
        member = c.operation == "AssumeRole" and c.params["RoleArn"].split(":")[4] in in_organization
        return {**c.condition_context(role), **({"aws:ResourceOrgID": org.organization_id} if member else {})}

    home = sorted(
        {
            f"{c.function}: {action} on {resource}"
            for c in calls
            if c.function and not c.access_key
            for action, resource in c.authorized_as(org.account)
            if not allowed(role_statements(org, c.function), action, resource, context(c))
        }
    )
    assert home == [], "calls the hub function's own role would refuse in production"


def test_the_check_refuses_a_call_its_spoke_role_does_not_grant(observed):
    org, account, _, _ = observed
    policies = _spoke_policies(org, account)
    triage, s3_public = policies["warden-spoke-triage"], policies["warden-spoke-s3-public"]
    bucket = f"arn:aws:s3:::{scenarios.TRAINING_BUCKET}"
    assert allowed(s3_public, "s3:PutBucketPublicAccessBlock", bucket)
    assert allowed(s3_public, "s3:GetBucketPolicyStatus", bucket)  # it verifies its own fix
    assert not allowed(triage, "s3:PutBucketPublicAccessBlock", bucket)  # Triage only reads
    assert not allowed(s3_public, "dynamodb:PutItem", f"arn:aws:dynamodb:us-east-1:{account}:table/warden-AuditTable")
    own_role = f"arn:aws:iam::{account}:role/warden-spoke-iam"
    assert decide(policies["warden-spoke-iam"], "iam:DeleteRolePolicy", own_role) == EXPLICITLY_DENIED  # NeverChangeWardenItself


def test_spoke_role_statements_no_call_used_are_reported(observed):
    org, account, calls, _ = observed
    policies = _spoke_policies(org, account)
    by_role = _through_spoke(calls, account)
    unused = {}
    for role, statements in policies.items():
        made = by_role.get(role, [])
        for statement in statements:
            if statement.get("Effect") == "Allow" and not any(_used(statement, c, account, _role_arn(account, role)) for c in made):
                unused.setdefault(role, []).append(statement.get("Sid") or json.dumps(statement["Action"]))
    used = {role: n for role in policies if (n := len([s for s in policies[role] if s.get("Effect") == "Allow"]) - len(unused.get(role, [])))}
    assert set(used) >= {"warden-spoke-triage", "warden-spoke-s3-public"}
    if unused:
        warnings.warn(
            "spoke-role statements no observed call used (a family the member scenario does not expose, or a grant "
            "for nothing): " + "; ".join(f"{role}: {', '.join(sids)}" for role, sids in sorted(unused.items())),
            stacklevel=1,
        )
