"""Revoke over-broad IAM policies and abused credentials. The most dangerous thing Warden does, so:

- only the offending statements go (Allow of `*` or `service:*` on Resource `*`, also via
  NotAction/NotResource); every other statement is kept exactly as it was;
- AWS-managed policies are never edited, only detached;
- protected principals (ProtectedPrincipalArns, the deployer, root, SSO reserved roles,
  service-linked roles, Warden's own roles) are never changed: `principals()` names whom a fix
  would touch and triage exempts the finding if any of them is protected;
- every change records the before-state and the one command that undoes it;
- nothing is deleted except a policy version beyond IAM's limit of five (its document is in the
  snapshot) and an inline policy left with no statement (its document is in the snapshot);
- the role can neither create users or keys, nor attach policies, nor pass roles.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from warden.finding import Finding
from warden.remediations.base import (
    Change,
    NotRemediable,
    Remediation,
    ResourceGone,
    Triggers,
    apply_in_order,
    aws_errors,
    error_code,
    register,
)

IAM_GONE = ("NoSuchEntity",)
PRINCIPAL_TYPES = ("AWS::IAM::User", "AWS::IAM::Role", "AWS::IAM::Group")
KIND = {"AWS::IAM::User": "user", "AWS::IAM::Role": "role", "AWS::IAM::Group": "group"}
MAX_POLICY_VERSIONS = 5
# IAM's size limits (characters, whitespace excluded) for the documents Warden writes.
SIZE_LIMITS = {"managed": 6144, "user": 2048, "role": 10240, "group": 5120}
# A managed policy cannot have zero statements; this one grants nothing (the call needs no permission).
NO_ACCESS_STATEMENT = {"Sid": "WardenRemovedOverBroadStatements", "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}
REVOKE_POLICY_NAME = "AWSRevokeOlderSessions"  # the name the IAM console uses for the same fix

# --- pure policy analysis ----------------------------------------------------------------------


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _is_full_action(action: Any) -> bool:
    """`*`, `*:*` or a whole service (`s3:*`); `s3:Get*` is narrower and not matched."""
    if not isinstance(action, str):
        return False
    if action in ("*", "*:*"):
        return True
    service, separator, operation = action.partition(":")
    return bool(separator) and operation == "*" and bool(service) and "*" not in service and "?" not in service


def grants_overbroad_access(statement: Any) -> bool:
    """Allow of every action, or every action of a service, on every resource (also via NotAction/NotResource)."""
    if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
        return False
    on_everything = "NotResource" in statement or "*" in _as_list(statement.get("Resource"))
    if not on_everything:
        return False
    return "NotAction" in statement or any(_is_full_action(a) for a in _as_list(statement.get("Action")))


def grants_admin(document: dict) -> bool:
    """Administrator-equivalent: Allow of every action (or all but some, via NotAction) on `*`."""
    return any(
        isinstance(s, dict)
        and s.get("Effect") == "Allow"
        and ("NotResource" in s or "*" in _as_list(s.get("Resource")))
        and ("NotAction" in s or any(a in ("*", "*:*") for a in _as_list(s.get("Action"))))
        for s in _as_list(document.get("Statement"))
    )


def overbroad_statements(document: dict) -> list:
    return [s for s in _as_list(document.get("Statement")) if grants_overbroad_access(s)]


def strip_overbroad(document: dict) -> tuple[dict | None, list]:
    """(document without the over-broad statements, or None if none is left; the removed ones)."""
    statements = _as_list(document.get("Statement"))
    removed = [s for s in statements if grants_overbroad_access(s)]
    if not removed:
        return document, []  # untouched, even a single statement written without a list
    kept = [s for s in statements if not grants_overbroad_access(s)]
    return ({**document, "Statement": kept} if kept else None), removed


def compact(document: dict) -> str:
    return json.dumps(document, separators=(",", ":"))


def describe(statements: list) -> str:
    parts = []
    for statement in statements:
        label = f"Sid {statement['Sid']!r}" if statement.get("Sid") else "a statement"
        actions = _as_list(statement.get("Action")) or [f"everything except {_as_list(statement.get('NotAction'))}"]
        parts.append(f"{label} allowing {', '.join(map(str, actions))} on {_as_list(statement.get('Resource')) or 'NotResource'}")
    return "; ".join(parts)


def _document(raw: Any) -> dict:
    """IAM returns documents decoded by boto3; CloudTrail carries them as JSON text."""
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _principal(finding: Finding) -> tuple[str, str]:
    """(kind, name) of the user, role or group a finding is about."""
    return KIND[finding.resource_type], finding.resource_arn.rsplit("/", 1)[1]


def _group_members(iam, group: str) -> list[str]:
    with aws_errors(IAM_GONE, "the group"):
        users = iam.get_group(GroupName=group)["Users"]
    return [user["Arn"] for user in users]


# --- customer-managed policy versions ----------------------------------------------------------


@register
class RestrictManagedPolicy(Remediation):
    name = "iam-restrict-managed-policy"
    summary = "make a default version without the over-broad statements (an earlier clean one if there is)"
    verified_statement = "no over-broad statement remains in the policy's default version"
    family = "iam"
    resource_type = "AWS::IAM::Policy"
    triggers = Triggers(
        cloudtrail_events=("CreatePolicy", "CreatePolicyVersion"),
        config_rules=("iam-policy-no-statements-with-admin-access", "iam-policy-no-statements-with-full-access"),
        securityhub_controls=("IAM.1", "IAM.21"),
    )
    permissions = (
        "iam:GetPolicy",
        "iam:ListPolicyVersions",
        "iam:GetPolicyVersion",
        "iam:ListPolicies",
        "iam:SetDefaultPolicyVersion",
        "iam:CreatePolicyVersion",
        "iam:DeletePolicyVersion",
    )
    verify_permissions = ("iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicies")
    tag_permissions = ("iam:ListPolicyTags", "iam:ListPolicies", "iam:ListEntitiesForPolicy", "iam:GetGroup", "iam:GetRole", "iam:GetUser")
    rollback_permissions = (
        "iam:GetPolicy",
        "iam:ListPolicyVersions",
        "iam:GetPolicyVersion",
        "iam:ListPolicies",
        "iam:SetDefaultPolicyVersion",
        "iam:DeletePolicyVersion",  # the version Warden created, so the versions are as before
    )

    def ignore_reason(self, finding: Finding) -> str | None:
        params = finding.details.get("requestParameters") or {}
        if "policyDocument" in params and not overbroad_statements(_document(params["policyDocument"])):
            return "the document set by this call grants no admin or full-service access"
        if finding.type == "CreatePolicyVersion" and str(params.get("setAsDefault")).lower() == "false":
            return "the new version is not the default, so it grants nothing"
        return None

    def policy_arn(self, finding: Finding, aws) -> str:
        """Config names a policy by id; find its ARN (customer-managed policies only)."""
        if ":policy-id/" not in finding.resource_arn:
            return finding.resource_arn
        policy_id = finding.resource_name
        for page in aws.client("iam").get_paginator("list_policies").paginate(Scope="Local"):
            for policy in page["Policies"]:
                if policy["PolicyId"] == policy_id:
                    return policy["Arn"]
        raise ResourceGone(f"no customer-managed policy with id {policy_id} exists any more")

    def resolve(self, finding: Finding, aws) -> Finding:
        """Config names the policy by id: use its ARN from here on."""
        arn = self.policy_arn(finding, aws)
        return finding if arn == finding.resource_arn else replace(finding, resource_arn=arn, details={**finding.details, "policy_id": finding.resource_name})

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        arn = self.policy_arn(finding, aws)
        if ":iam::aws:policy/" in arn:
            return {}
        with aws_errors(IAM_GONE, "the policy"):
            tags = aws.client("iam").list_policy_tags(PolicyArn=arn).get("Tags", [])
        return {t["Key"]: t["Value"] for t in tags}

    def principals(self, finding: Finding, aws) -> list[str]:
        iam, arn = aws.client("iam"), self.policy_arn(finding, aws)
        with aws_errors(IAM_GONE, "the policy"):
            entities = iam.list_entities_for_policy(PolicyArn=arn)
        found = [real_arn(iam, "role", r["RoleName"]) for r in entities.get("PolicyRoles", [])]
        found += [real_arn(iam, "user", u["UserName"]) for u in entities.get("PolicyUsers", [])]
        for group in entities.get("PolicyGroups", []):
            found += _group_members(iam, group["GroupName"])
        return found

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        iam, arn = aws.client("iam"), self.policy_arn(finding, aws)
        if ":iam::aws:policy/" in arn:
            raise NotRemediable("AWS-managed policies are never edited; detach them instead")
        with aws_errors(IAM_GONE, "the policy"):
            default = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            listed = iam.list_policy_versions(PolicyArn=arn)["Versions"]
            versions = [
                {
                    "id": v["VersionId"],
                    "created": str(v["CreateDate"]),
                    "document": _document(iam.get_policy_version(PolicyArn=arn, VersionId=v["VersionId"])["PolicyVersion"]["Document"]),
                }
                for v in listed
            ]
        return {"policy_arn": arn, "default_version": default, "versions": sorted(versions, key=lambda v: v["created"])}

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        arn, default = before["policy_arn"], before["default_version"]
        versions = before["versions"]
        current = next(v for v in versions if v["id"] == default)
        removed = overbroad_statements(current["document"])
        if not removed:
            return []
        undo = f"aws iam set-default-policy-version --policy-arn {arn} --version-id {default}"
        earlier_safe = [v for v in versions if v["id"] != default and v["created"] < current["created"] and not overbroad_statements(v["document"])]
        if earlier_safe:
            target = earlier_safe[-1]
            return [
                Change(
                    "iam:SetDefaultPolicyVersion",
                    f"Default version {default} -> {target['id']} (the newest earlier version without over-broad access); "
                    f"{default} granted {describe(removed)}",
                    undo,
                    {"PolicyArn": arn, "VersionId": target["id"]},
                )
            ]
        stripped, _ = strip_overbroad(current["document"])
        document = stripped or {**current["document"], "Statement": [NO_ACCESS_STATEMENT]}
        changes = []
        if len(versions) >= MAX_POLICY_VERSIONS:
            oldest = next(v for v in versions if v["id"] != default)
            changes.append(
                Change(
                    "iam:DeletePolicyVersion",
                    f"Deleted the oldest non-default version {oldest['id']} to stay within IAM's five versions "
                    "(its document is in this record's before-snapshot)",
                    f"aws iam create-policy-version --policy-arn {arn} --policy-document file://{oldest['id']}.json"
                    " (from the before-snapshot)",
                    {"PolicyArn": arn, "VersionId": oldest["id"]},
                )
            )
        changes.append(
            Change(
                "iam:CreatePolicyVersion",
                f"New default version of the policy without {describe(removed)}; "
                f"{len(_as_list((stripped or {}).get('Statement')))} other statement(s) kept unchanged",
                undo,
                {"PolicyArn": arn, "PolicyDocument": compact(document), "SetAsDefault": True},
            )
        )
        return changes

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        iam = aws.client("iam")
        calls = {
            "iam:SetDefaultPolicyVersion": iam.set_default_policy_version,
            "iam:DeletePolicyVersion": iam.delete_policy_version,
            "iam:CreatePolicyVersion": iam.create_policy_version,
        }
        return {"applied": apply_in_order(changes, lambda c: calls[c.action](**c.params), IAM_GONE)}

    def read_exposure(self, finding: Finding, aws) -> dict[str, Any]:
        iam, arn = aws.client("iam"), self.policy_arn(finding, aws)
        with aws_errors(IAM_GONE, "the policy"):
            default = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = _document(iam.get_policy_version(PolicyArn=arn, VersionId=default)["PolicyVersion"]["Document"])
        return {"default_version": default, "versions": [{"id": default, "document": document}]}

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        default = fresh["default_version"]
        removed = overbroad_statements(next(v["document"] for v in fresh["versions"] if v["id"] == default))
        return [f"default version {default} still grants {describe(removed)}"] if removed else []

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        iam, arn = aws.client("iam"), before["policy_arn"]
        iam.set_default_policy_version(PolicyArn=arn, VersionId=before["default_version"])
        # The version Warden created goes, so the policy has the versions it had. A version Warden
        # deleted at the five-version limit cannot come back with its id; its document is in the record.
        known = {v["id"] for v in before["versions"]}
        for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
            if version["VersionId"] not in known and not version["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])


# --- inline policies ---------------------------------------------------------------------------


@register
class StripInlinePolicy(Remediation):
    name = "iam-strip-inline-policy"
    summary = "remove the over-broad statements from the principal's inline policy"
    verified_statement = "no inline policy of the principal grants over-broad access"
    family = "iam"
    resource_type = "AWS::IAM::Role"
    resource_types = PRINCIPAL_TYPES
    triggers = Triggers(cloudtrail_events=("PutUserPolicy", "PutRolePolicy", "PutGroupPolicy"))
    permissions = (
        "iam:ListUserPolicies", "iam:ListRolePolicies", "iam:ListGroupPolicies",
        "iam:GetUserPolicy", "iam:GetRolePolicy", "iam:GetGroupPolicy",
        "iam:PutUserPolicy", "iam:PutRolePolicy", "iam:PutGroupPolicy",
        "iam:DeleteUserPolicy", "iam:DeleteRolePolicy", "iam:DeleteGroupPolicy",
    )  # fmt: skip
    verify_permissions = ("iam:ListUserPolicies", "iam:ListRolePolicies", "iam:ListGroupPolicies",
                          "iam:GetUserPolicy", "iam:GetRolePolicy", "iam:GetGroupPolicy")  # fmt: skip
    tag_permissions = ("iam:ListUserTags", "iam:ListRoleTags", "iam:GetGroup", "iam:GetRole", "iam:GetUser")
    rollback_permissions = (
        "iam:ListUserPolicies", "iam:ListRolePolicies", "iam:ListGroupPolicies",
        "iam:GetUserPolicy", "iam:GetRolePolicy", "iam:GetGroupPolicy",
        "iam:PutUserPolicy", "iam:PutRolePolicy", "iam:PutGroupPolicy",
    )  # fmt: skip

    def ignore_reason(self, finding: Finding) -> str | None:
        params = finding.details.get("requestParameters") or {}
        if "policyDocument" in params and not overbroad_statements(_document(params["policyDocument"])):
            return "the inline policy set by this call grants no admin or full-service access"
        return None

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        return _principal_tags(finding, aws)

    def principals(self, finding: Finding, aws) -> list[str]:
        return _principal_and_members(finding, aws)

    def _inline(self, finding: Finding, aws) -> dict[str, dict]:
        iam, (kind, name) = aws.client("iam"), _principal(finding)
        cap = kind.capitalize()
        with aws_errors(IAM_GONE, f"the {kind}"):
            names = getattr(iam, f"list_{kind}_policies")(**{f"{cap}Name": name})["PolicyNames"]
            return {
                policy: _document(getattr(iam, f"get_{kind}_policy")(**{f"{cap}Name": name, "PolicyName": policy})["PolicyDocument"])
                for policy in names
            }

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        return {"inline_policies": self._inline(finding, aws)}

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        kind, name = _principal(finding)
        cap = kind.capitalize()
        changes = []
        for policy, document in before["inline_policies"].items():
            stripped, removed = strip_overbroad(document)
            if not removed:
                continue
            undo = (
                f"aws iam put-{kind}-policy --{kind}-name {name} --policy-name {policy} "
                f"--policy-document '{compact(document)}'"
            )
            if stripped is None:
                changes.append(
                    Change(f"iam:Delete{cap}Policy", f"Deleted inline policy {policy!r}: its only statements were {describe(removed)}", undo,
                           {f"{cap}Name": name, "PolicyName": policy})
                )
            else:
                changes.append(
                    Change(
                        f"iam:Put{cap}Policy",
                        f"Inline policy {policy!r} rewritten without {describe(removed)}; "
                        f"{len(stripped['Statement'])} other statement(s) kept unchanged",
                        undo,
                        {f"{cap}Name": name, "PolicyName": policy, "PolicyDocument": compact(stripped)},
                    )
                )
        return changes

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        iam = aws.client("iam")
        call = lambda c: getattr(iam, _snake(c.action))(**c.params)  # noqa: E731
        return {"applied": apply_in_order(changes, call, IAM_GONE)}

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        return [
            f"inline policy {policy!r} still grants {describe(overbroad_statements(document))}"
            for policy, document in fresh["inline_policies"].items()
            if overbroad_statements(document)
        ]

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        iam, (kind, name) = aws.client("iam"), _principal(finding)
        cap = kind.capitalize()
        for policy, document in before["inline_policies"].items():
            getattr(iam, f"put_{kind}_policy")(**{f"{cap}Name": name, "PolicyName": policy, "PolicyDocument": compact(document)})


# --- attached managed policies -----------------------------------------------------------------


@register
class DetachAdminPolicies(Remediation):
    """Detaches the one policy an Attach{User,Role,Group}Policy call attached, when that policy is
    administrator-equivalent (AdministratorAccess, NotAction policies, customer copies of them).

    Only that policy: the principal's other policies were attached by other calls, each judged when
    it was made, and some are admin on purpose (a CDK execution role, OrganizationAccountAccessRole).
    Attaching a policy that is not admin-equivalent (ReadOnlyAccess) changes nothing at all.
    """

    name = "iam-detach-admin-policies"
    summary = "detach administrator policies from the principal"
    verified_statement = "no administrator policy remains attached to the principal"
    family = "iam"
    resource_type = "AWS::IAM::Role"
    resource_types = PRINCIPAL_TYPES
    triggers = Triggers(cloudtrail_events=("AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy"))
    permissions = (
        "iam:ListAttachedUserPolicies", "iam:ListAttachedRolePolicies", "iam:ListAttachedGroupPolicies",
        "iam:GetPolicy", "iam:GetPolicyVersion",
        "iam:DetachUserPolicy", "iam:DetachRolePolicy", "iam:DetachGroupPolicy",
    )  # fmt: skip
    verify_permissions = (
        "iam:ListAttachedUserPolicies", "iam:ListAttachedRolePolicies", "iam:ListAttachedGroupPolicies",
        "iam:GetPolicy", "iam:GetPolicyVersion",
    )  # fmt: skip
    # needless_reason reads the attached policy in triage.
    tag_permissions = ("iam:ListUserTags", "iam:ListRoleTags", "iam:GetGroup", "iam:GetRole", "iam:GetUser", "iam:GetPolicy", "iam:GetPolicyVersion")
    # Putting back what Warden detached is the one place Warden attaches a policy: only the rollback
    # function, which no event can start, holds these.
    rollback_permissions = (
        "iam:ListAttachedUserPolicies", "iam:ListAttachedRolePolicies", "iam:ListAttachedGroupPolicies",
        "iam:GetPolicy", "iam:GetPolicyVersion",
        "iam:AttachUserPolicy", "iam:AttachRolePolicy", "iam:AttachGroupPolicy",
    )  # fmt: skip

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        return _principal_tags(finding, aws)

    def principals(self, finding: Finding, aws) -> list[str]:
        return _principal_and_members(finding, aws)

    @staticmethod
    def attached_policy(finding: Finding) -> str:
        return finding.details["requestParameters"]["policyArn"]

    def _is_admin(self, policy_arn: str, aws) -> bool:
        iam = aws.client("iam")
        with aws_errors(IAM_GONE, f"the policy {policy_arn}"):
            version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)["PolicyVersion"]["Document"]
        return grants_admin(_document(document))

    def needless_reason(self, finding: Finding, aws) -> str | None:
        policy = self.attached_policy(finding)
        if self._is_admin(policy, aws):
            return None
        kind, name = _principal(finding)
        return (
            f"the policy attached to {kind} {name}, {policy}, is not administrator-equivalent: "
            "Warden leaves it and the principal's other policies as they are"
        )

    def _still_attached_admin(self, finding: Finding, aws) -> list[str]:
        """The event's policy, if it is still attached and administrator-equivalent."""
        iam, (kind, name), policy = aws.client("iam"), _principal(finding), self.attached_policy(finding)
        with aws_errors(IAM_GONE, f"the {kind}"):
            pages = iam.get_paginator(f"list_attached_{kind}_policies").paginate(**{f"{kind.capitalize()}Name": name})
            attached = {p["PolicyArn"] for page in pages for p in page["AttachedPolicies"]}
        return [policy] if policy in attached and self._is_admin(policy, aws) else []

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        return {"admin_policies": self._still_attached_admin(finding, aws)}

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        kind, name = _principal(finding)
        cap = kind.capitalize()
        return [
            Change(
                f"iam:Detach{cap}Policy",
                f"Detached {arn} (administrator-equivalent) from {kind} {name}",
                f"aws iam attach-{kind}-policy --{kind}-name {name} --policy-arn {arn}",
                {f"{cap}Name": name, "PolicyArn": arn},
            )
            for arn in before["admin_policies"]
        ]

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        iam = aws.client("iam")
        return {"applied": apply_in_order(changes, lambda c: getattr(iam, _snake(c.action))(**c.params), IAM_GONE)}

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        remaining = fresh["admin_policies"]
        return [f"still attached: {', '.join(remaining)}"] if remaining else []

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        iam, (kind, name) = aws.client("iam"), _principal(finding)
        for arn in before["admin_policies"]:
            getattr(iam, f"attach_{kind}_policy")(**{f"{kind.capitalize()}Name": name, "PolicyArn": arn})


# --- abused credentials ------------------------------------------------------------------------

CREDENTIAL_ABUSE = (
    "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
    "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom",
    "UnauthorizedAccess:IAMUser/TorIPCaller",
    "Recon:IAMUser/MaliciousIPCaller",
    "Recon:IAMUser/MaliciousIPCaller.Custom",
    "Recon:IAMUser/TorIPCaller",
)


def revoke_document(issued_before: str) -> dict:
    """The documented pattern: deny everything to sessions issued before now. New sessions work."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": issued_before}},
            }
        ],
    }


@register
class RevokeRoleSessions(Remediation):
    name = "iam-revoke-role-sessions"
    summary = "revoke the role's sessions issued before the finding (an inline deny on older tokens)"
    verified_statement = "the role denies every session issued before the fix"
    family = "iam"
    acts_on_finding_alone = True  # nothing in the role's state shows its credentials were stolen
    resource_type = "AWS::IAM::Role"
    triggers = Triggers(
        guardduty_types=(
            "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
            "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.InsideAWS",
            *CREDENTIAL_ABUSE,
        )
    )
    permissions = ("iam:GetRole", "iam:GetRolePolicy", "iam:PutRolePolicy")
    verify_permissions = ("iam:GetRolePolicy",)
    tag_permissions = ("iam:ListRoleTags", "iam:GetRole")
    rollback_permissions = ("iam:GetRole", "iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy")
    volatile_snapshot_keys = ("now",)  # when the snapshot was taken, not the role's state

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        return _principal_tags(finding, aws)

    def principals(self, finding: Finding, aws) -> list[str]:
        return [real_arn(aws.client("iam"), "role", _principal(finding)[1])]

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        iam, (_, role) = aws.client("iam"), _principal(finding)
        with aws_errors(IAM_GONE, "the role"):
            iam.get_role(RoleName=role)
            existing = self._revoke_policy(iam, role)
        return {"revoke_policy": existing, "now": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        _, role = _principal(finding)
        undo = (
            f"aws iam put-role-policy --role-name {role} --policy-name {REVOKE_POLICY_NAME} --policy-document '{compact(before['revoke_policy'])}'"
            if before["revoke_policy"]
            else f"aws iam delete-role-policy --role-name {role} --policy-name {REVOKE_POLICY_NAME}"
        )
        return [
            Change(
                "iam:PutRolePolicy",
                f"Revoked every session of role {role} issued before {before['now']} (inline deny on aws:TokenIssueTime; "
                "the role itself and new sessions keep working)",
                undo,
                {"RoleName": role, "PolicyName": REVOKE_POLICY_NAME, "PolicyDocument": compact(revoke_document(before["now"]))},
            )
        ]

    def advice(self, finding: Finding, before: dict[str, Any]) -> list[str]:
        return [
            "Find how the credentials left the instance (SSRF to the metadata service, a leaked log), require IMDSv2,",
            "and rotate anything the sessions could read. The deny policy can be removed once no old session matters.",
        ]

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        iam = aws.client("iam")
        return {"applied": apply_in_order(changes, lambda c: iam.put_role_policy(**c.params), IAM_GONE)}

    def read_exposure(self, finding: Finding, aws) -> dict[str, Any]:
        iam, (_, role) = aws.client("iam"), _principal(finding)
        with aws_errors(IAM_GONE, "the role"):
            return {"revoke_policy": self._revoke_policy(iam, role)}

    @staticmethod
    def _revoke_policy(iam, role: str) -> dict | None:
        try:
            return _document(iam.get_role_policy(RoleName=role, PolicyName=REVOKE_POLICY_NAME)["PolicyDocument"])
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
            return None

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        document = fresh["revoke_policy"]
        if document is None:
            return ["the revoke-sessions policy is missing"]
        expected = ((result or {}).get("before") or {}).get("now")
        issued = document.get("Statement", [{}])[0].get("Condition", {}).get("DateLessThan", {}).get("aws:TokenIssueTime")
        return [] if issued and (expected is None or issued >= expected) else ["old sessions are not revoked"]

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        iam, (_, role) = aws.client("iam"), _principal(finding)
        if before["revoke_policy"]:
            iam.put_role_policy(RoleName=role, PolicyName=REVOKE_POLICY_NAME, PolicyDocument=compact(before["revoke_policy"]))
        else:
            iam.delete_role_policy(RoleName=role, PolicyName=REVOKE_POLICY_NAME)


@register
class DeactivateAccessKey(Remediation):
    name = "iam-deactivate-access-key"
    summary = "deactivate the IAM user's access key"
    verified_statement = "the access key is inactive"
    family = "iam"
    acts_on_finding_alone = True  # nothing in the key's state shows it was abused
    resource_type = "AWS::IAM::AccessKey"
    triggers = Triggers(guardduty_types=CREDENTIAL_ABUSE)
    permissions = ("iam:ListAccessKeys", "iam:UpdateAccessKey")
    verify_permissions = ("iam:ListAccessKeys",)
    tag_permissions = ("iam:ListUserTags", "iam:GetUser")
    rollback_permissions = ("iam:ListAccessKeys", "iam:UpdateAccessKey")

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        if finding.details.get("principal_arn", "").endswith(":root"):
            return {}
        with aws_errors(IAM_GONE, "the user"):
            tags = aws.client("iam").list_user_tags(UserName=finding.details["user_name"]).get("Tags", [])
        return {t["Key"]: t["Value"] for t in tags}

    def principals(self, finding: Finding, aws) -> list[str]:
        if finding.details["principal_arn"].endswith(":root"):
            return [finding.details["principal_arn"]]
        return [real_arn(aws.client("iam"), "user", finding.details["user_name"])]

    def _status(self, finding: Finding, aws) -> str:
        with aws_errors(IAM_GONE, "the user"):
            keys = aws.client("iam").list_access_keys(UserName=finding.details["user_name"])["AccessKeyMetadata"]
        for key in keys:
            if key["AccessKeyId"] == finding.details["access_key_id"]:
                return key["Status"]
        raise ResourceGone(f"access key {finding.details['access_key_id']} no longer exists")

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        return {"status": self._status(finding, aws)}

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        if before["status"] == "Inactive":
            return []
        user, key = finding.details["user_name"], finding.details["access_key_id"]
        return [
            Change(
                "iam:UpdateAccessKey",
                f"Access key {key} of user {user} deactivated: Active -> Inactive (not deleted)",
                f"aws iam update-access-key --user-name {user} --access-key-id {key} --status Active",
                {"UserName": user, "AccessKeyId": key, "Status": "Inactive"},
            )
        ]

    def advice(self, finding: Finding, before: dict[str, Any]) -> list[str]:
        return [
            "Find where the key leaked, give its owner a new key, and delete this one once nothing uses it.",
            "Review CloudTrail for what the key did from the malicious address.",
        ]

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        iam = aws.client("iam")
        return {"applied": apply_in_order(changes, lambda c: iam.update_access_key(**c.params), IAM_GONE)}

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        status = fresh["status"]
        return [] if status == "Inactive" else [f"the access key is {status}"]

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        aws.client("iam").update_access_key(
            UserName=finding.details["user_name"], AccessKeyId=finding.details["access_key_id"], Status=before["status"]
        )


# --- shared -------------------------------------------------------------------------------------


def _snake(action: str) -> str:
    """'iam:DetachRolePolicy' -> 'detach_role_policy'."""
    name = action.split(":", 1)[1]
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _principal_tags(finding: Finding, aws) -> dict[str, str]:
    iam, (kind, name) = aws.client("iam"), _principal(finding)
    with aws_errors(IAM_GONE, f"the {kind}"):
        if kind == "group":
            iam.get_group(GroupName=name)  # groups have no tags; this only proves it exists
            return {}
        tags = getattr(iam, f"list_{kind}_tags")(**{f"{kind.capitalize()}Name": name}).get("Tags", [])
    return {t["Key"]: t["Value"] for t in tags}


def real_arn(iam, kind: str, name: str) -> str:
    """The principal's ARN as IAM has it, with its path (events and policy listings name only the
    name): protected principals and reserved paths (SSO, service-linked) are matched on it."""
    with aws_errors(IAM_GONE, f"the {kind} {name}"):
        if kind == "role":
            return iam.get_role(RoleName=name)["Role"]["Arn"]
        if kind == "user":
            return iam.get_user(UserName=name)["User"]["Arn"]
        return iam.get_group(GroupName=name)["Group"]["Arn"]


def _principal_and_members(finding: Finding, aws) -> list[str]:
    iam, (kind, name) = aws.client("iam"), _principal(finding)
    if kind == "group":
        return [real_arn(iam, kind, name), *_group_members(iam, name)]
    return [real_arn(iam, kind, name)]
