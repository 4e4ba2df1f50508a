"""The authorization and approval keys' policies, evaluated on the template (moto does not enforce
key policies): only Warden's signing roles can make an authorization's MAC, only approvers an
answer's; nobody but the deployer can change or destroy either key."""

from __future__ import annotations

import fnmatch
import re

import pytest

from local.twin import Twin

ACCOUNT = "123456789012"
SIGNERS = ("TriageFunction", "S3PublicAccessFunction", "EncryptionFunction", "IamFunction", "ThrottleFunction")
OTHERS = ("NotifyFunction",)
DEPLOYER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/cdk-deploy"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ATTACKER = f"arn:aws:iam::{ACCOUNT}:role/PowerUser"  # an IAM policy granting kms:* (PowerUserAccess)


def role(function: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/warden-{function}Role"


def key_policy(key: str = "AuthorizationKey", **parameters: str) -> dict:
    """The key policy as CloudFormation would resolve it, with the twin's role ARNs."""
    twin = Twin(parameters=parameters)
    for function in SIGNERS + OTHERS:
        twin.attributes[(f"{function}Role", "Arn")] = role(function)
    return twin._resolve(twin.template["Resources"][key]["Properties"]["KeyPolicy"])


def _list(value):
    return value if isinstance(value, list) else [value]


def _condition_holds(condition: dict, principal: str) -> bool:
    for operator, tests in condition.items():
        for key, values in tests.items():
            assert key == "aws:PrincipalArn", f"the evaluator knows only aws:PrincipalArn, not {key}"
            matches = [fnmatch.fnmatchcase(principal, v) if operator.startswith("ArnNotLike") else principal == v for v in _list(values)]
            assert operator in ("ArnNotEquals", "ArnNotLike"), operator
            if any(matches):
                return False
    return True


def allowed(policy: dict, principal: str, action: str) -> bool:
    """Key policy evaluation: an explicit Deny wins; the root statement lets IAM policies grant (the
    principals here hold kms:* in IAM, the strongest case)."""
    verdicts = []
    for statement in policy["Statement"]:
        if not any(fnmatch.fnmatchcase(action, a) for a in _list(statement["Action"])):
            continue
        principals = statement["Principal"]
        named = principals == "*" or principal in _list(principals["AWS"]) or ROOT in _list(principals["AWS"])
        if named and _condition_holds(statement.get("Condition", {}), principal):
            verdicts.append(statement["Effect"])
    return "Allow" in verdicts and "Deny" not in verdicts


def test_the_key_is_an_hmac_key_kept_with_the_audit_table():
    twin = Twin()
    key = twin.template["Resources"]["AuthorizationKey"]
    assert key["Properties"]["KeySpec"] == "HMAC_256" and key["Properties"]["KeyUsage"] == "GENERATE_VERIFY_MAC"
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("deployer", ["", DEPLOYER_ROLE])
def test_only_wardens_signing_roles_can_make_a_mac(deployer):
    policy = key_policy(DeployerPrincipalArn=deployer)
    signers = {function for function in SIGNERS + OTHERS if allowed(policy, role(function), "kms:GenerateMac")}
    assert signers == set(SIGNERS)
    for outsider in (ATTACKER, ROOT, DEPLOYER_ROLE):
        assert not allowed(policy, outsider, "kms:GenerateMac"), outsider
    assert allowed(policy, ATTACKER, "kms:VerifyMac"), "verifying is harmless; an operator's rollback does it"
    assert all(allowed(policy, role(function), "kms:VerifyMac") for function in OTHERS if function != "TriageFunction")


@pytest.mark.parametrize(
    "deployer",
    [DEPLOYER_ROLE, f"arn:aws:sts::{ACCOUNT}:assumed-role/cdk-deploy/ci-run-42", f"arn:aws:iam::{ACCOUNT}:user/alice"],
)
@pytest.mark.parametrize("key", ["AuthorizationKey", "ApprovalKey"])
def test_only_the_deployer_and_root_can_rewrite_disable_or_delete_the_key(deployer, key):
    """Whoever may rewrite the key policy may sign, so that is the deployer's (CloudFormation uses
    its credentials, so it must keep the right: no lock-out) and the root user's alone."""
    policy = key_policy(key, DeployerPrincipalArn=deployer)
    deployer_principal = DEPLOYER_ROLE if ":assumed-role/" in deployer else deployer
    for action in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:CreateGrant"):
        assert not allowed(policy, ATTACKER, action), action
        assert not allowed(policy, role("TriageFunction"), action), action
        assert allowed(policy, deployer_principal, action), f"the deployer would be locked out of {action}"
        assert allowed(policy, ROOT, action)
    if ":assumed-role/" in deployer:  # a session ARN has no path, but its role may have one
        assert allowed(policy, f"arn:aws:iam::{ACCOUNT}:role/deploy/cdk-deploy", "kms:PutKeyPolicy")


APPROVERS = f"arn:aws:iam::{ACCOUNT}:role/SecurityLead,arn:aws:iam::{ACCOUNT}:role/oncall/*"


@pytest.mark.parametrize("deployer", ["", DEPLOYER_ROLE])
def test_only_approvers_can_sign_an_answer_and_the_steps_that_act_on_one_can_check_it(deployer):
    policy = key_policy("ApprovalKey", DeployerPrincipalArn=deployer, ApproverPrincipalArns=APPROVERS)
    assert allowed(policy, f"arn:aws:iam::{ACCOUNT}:role/SecurityLead", "kms:GenerateMac")
    assert allowed(policy, f"arn:aws:iam::{ACCOUNT}:role/oncall/alice", "kms:GenerateMac"), "a pattern names a team"
    for outsider in (ATTACKER, ROOT, DEPLOYER_ROLE, *map(role, SIGNERS + OTHERS)):
        assert not allowed(policy, outsider, "kms:GenerateMac"), outsider  # Warden's own roles cannot approve either
    # checking is harmless (anyone with kms:VerifyMac in IAM may); the steps that act on an answer are named
    assert all(allowed(policy, role(function), "kms:VerifyMac") for function in SIGNERS[1:] + OTHERS)


def test_without_approvers_the_deployer_approves_and_without_either_nobody_can():
    with_deployer = key_policy("ApprovalKey", DeployerPrincipalArn=DEPLOYER_ROLE)
    assert allowed(with_deployer, DEPLOYER_ROLE, "kms:GenerateMac") and not allowed(with_deployer, ATTACKER, "kms:GenerateMac")
    nobody = key_policy("ApprovalKey")
    assert not any(allowed(nobody, p, "kms:GenerateMac") for p in (ATTACKER, DEPLOYER_ROLE, role("NotifyFunction")))


def test_approvers_are_named_by_role_or_user_arn_not_by_a_session():
    """The key policy compares aws:PrincipalArn, which for a role's session is the role's ARN: a session
    ARN would match nobody, so the stack refuses it (AllowedPattern) instead of locking approvers out."""
    pattern = re.compile(Twin().template["Parameters"]["ApproverPrincipalArns"]["AllowedPattern"])
    assert pattern.fullmatch("") and pattern.fullmatch(APPROVERS)
    assert pattern.fullmatch(f"arn:aws:iam::{ACCOUNT}:user/alice")
    assert not pattern.fullmatch(f"arn:aws:sts::{ACCOUNT}:assumed-role/SecurityLead/alice")
    assert not pattern.fullmatch(f"arn:aws:iam::{ACCOUNT}:role/SecurityLead, arn:aws:iam::{ACCOUNT}:role/Other")
