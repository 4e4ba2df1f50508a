"""Quarantine publicly accessible S3 buckets, and turn the account's public access block back on.

The bucket fix is the smallest change that removes public access and nothing else:
all four Block Public Access settings on, only the policy statements that grant public access
removed (every other statement kept as it was), only AllUsers/AuthenticatedUsers ACL grants
removed; with QuarantineTag=enabled, the bucket is also tagged with who quarantined it and why.
Never touches objects.
"""

from __future__ import annotations

import ipaddress
import json
import os
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from warden.finding import ACCOUNT_RESOURCE_TYPE, Finding
from warden.remediations.base import (
    AccessDenied,
    Change,
    NeedsDecision,
    Remediation,
    ResourceGone,
    Triggers,
    apply_in_order,
    register,
)

BUCKET_GONE = ("NoSuchBucket",)

BLOCK_SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
ALL_BLOCKED = {setting: True for setting in BLOCK_SETTINGS}

PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers (anyone on the internet)",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers (any AWS account)",
}

# Condition keys that, with a fixed value and a positive operator, limit who can use a statement.
RESTRICTING_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:SourceVpce",
        "aws:SourceVpc",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOwner",
        "aws:userid",
        "s3:DataAccessPointAccount",
        "s3:DataAccessPointArn",
        "aws:SourceIp",
    )
)
POSITIVE_OPERATORS = frozenset(
    op.lower()
    for op in ("StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "IpAddress")
)
# A public range narrower than this is an allowlist of a few hosts, not "everyone".
NARROWEST_PUBLIC_PREFIX = {4: 24, 6: 48}

QUARANTINE_TAGS = ("warden:quarantined-by", "warden:quarantined-at", "warden:quarantine-reason")
MAX_BUCKET_TAGS = 50


def tags_quarantined_buckets() -> bool:
    """QuarantineTag=enabled: the fix also tags the bucket with who quarantined it and why. Off by
    default: the tag is a change beyond the exposure (S3 writes a bucket's tags only as a whole set,
    a tag policy may refuse warden:* keys, and an IaC tool reports the tags as drift), and it costs
    a read before and a write."""
    return os.environ.get("WARDEN_QUARANTINE_TAG") == "enabled"

# --- pure policy analysis ----------------------------------------------------------------------


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _is_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any("*" in _as_list(principal.get(kind)) for kind in ("AWS", "CanonicalUser"))
    return False


def _cidr_restricts(cidr: str) -> bool:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return network.is_private or network.prefixlen >= NARROWEST_PUBLIC_PREFIX[network.version]


def _value_restricts(key: str, value: Any) -> bool:
    if not isinstance(value, str) or not value or "*" in value or "?" in value:
        return False  # wildcards and policy variables can match anyone
    if "${" in value:
        return False
    return _cidr_restricts(value) if key == "aws:sourceip" else True


def _condition_restricts(condition: Any) -> bool:
    """True when some condition limits the statement to a known network, org, account or caller."""
    if not isinstance(condition, dict):
        return False
    for operator, clauses in condition.items():
        op = str(operator).lower()
        if op.startswith("forallvalues:") or op.endswith("ifexists"):
            continue  # both pass when the key is absent
        op = op.removeprefix("foranyvalue:")
        if op not in POSITIVE_OPERATORS or not isinstance(clauses, dict):
            continue
        for key, values in clauses.items():
            key = str(key).lower()
            values = _as_list(values)
            if key in RESTRICTING_KEYS and values and all(_value_restricts(key, v) for v in values):
                return True
    return False


def grants_public_access(statement: Any) -> bool:
    """An Allow statement open to everyone (Principal "*", AWS "*", or any NotPrincipal) with no
    condition that really restricts it."""
    if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
        return False
    open_to_everyone = "NotPrincipal" in statement or _is_everyone(statement.get("Principal"))
    return open_to_everyone and not _condition_restricts(statement.get("Condition"))


def split_policy(policy: dict) -> tuple[list, list]:
    """(public statements, statements to keep), each in its original order and form."""
    statements = _as_list(policy.get("Statement"))
    public = [s for s in statements if grants_public_access(s)]
    kept = [s for s in statements if not grants_public_access(s)]
    return public, kept


def describe_statement(statement: dict, index: int) -> str:
    label = f"Sid {statement['Sid']!r}" if statement.get("Sid") else f"statement #{index + 1}"
    who = "NotPrincipal (everyone else)" if "NotPrincipal" in statement else "everyone"
    actions = ", ".join(map(str, _as_list(statement.get("Action") or statement.get("NotAction"))))
    return f"{label} allowing {who}: {actions}"


def public_grants(acl: dict) -> list[dict]:
    return [g for g in acl.get("Grants", []) if g.get("Grantee", {}).get("URI") in PUBLIC_GROUPS]


def _account_of(principal: Any) -> str | None:
    """The account an AWS principal belongs to: an account id, or the account field of an IAM ARN."""
    if not isinstance(principal, str):
        return None
    if principal.isdigit() and len(principal) == 12:
        return principal
    parts = principal.split(":")
    return parts[4] if len(parts) > 5 and parts[2] in ("iam", "sts") and parts[4].isdigit() else None


def cross_account_grants(before: dict, account: str) -> list[str]:
    """The grants of the bucket policy and ACL to other AWS accounts that are not public, in words.
    Warden reports them and never changes them: sharing with a named account is a decision."""
    found = []
    statements = _as_list((before.get("policy") or {}).get("Statement"))
    for index, statement in enumerate(statements):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow" or grants_public_access(statement):
            continue
        principal = statement.get("Principal")
        aws = _as_list(principal.get("AWS")) if isinstance(principal, dict) else []
        others = sorted({a for a in map(_account_of, aws) if a and a != account})
        if others:
            label = f"Sid {statement['Sid']!r}" if statement.get("Sid") else f"statement #{index + 1}"
            actions = ", ".join(map(str, _as_list(statement.get("Action") or statement.get("NotAction"))))
            found.append(f"bucket policy {label} allows account {', '.join(others)}: {actions}")
    acl = before.get("acl") or {}
    owner = (acl.get("Owner") or {}).get("ID")
    for grant in acl.get("Grants", []):
        grantee = grant.get("Grantee") or {}
        if grantee.get("Type") == "CanonicalUser" and grantee.get("ID") != owner:
            who = grantee.get("DisplayName") or f"canonical user {str(grantee.get('ID'))[:16]}..."
            found.append(f"ACL grants {grant.get('Permission')} to {who} (another account)")
        elif grantee.get("Type") == "AmazonCustomerByEmail":
            found.append(f"ACL grants {grant.get('Permission')} to the account of {grantee.get('EmailAddress')}")
    return found


def _flags(config: dict | None) -> str:
    config = config or {}
    return ",".join(f"{s}={str(bool(config.get(s))).lower()}" for s in BLOCK_SETTINGS)


def _block_change(before: dict | None, put_action: str, undo_prefix: str, delete_undo: str) -> Change | None:
    if before and all(before.get(s) for s in BLOCK_SETTINGS):
        return None
    turned_on = [s for s in BLOCK_SETTINGS if not (before or {}).get(s)]
    undo = f"{undo_prefix} --public-access-block-configuration {_flags(before)}" if before else delete_undo
    return Change(
        action=put_action,
        summary=f"Block Public Access turned on: {', '.join(turned_on)} (all four settings now true)",
        undo=undo,
        params={"PublicAccessBlockConfiguration": dict(ALL_BLOCKED)},
    )


def _client_error(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def written(result: dict[str, Any]) -> dict[str, Any]:
    """The bucket policy (and tags, when the snapshot holds them) as the applied changes left them:
    what Warden wrote, or the before-snapshot's where it wrote nothing. Pure."""
    before = result["before"]
    params = {c["action"]: c.get("params") or {} for c in result["changes"] if c["action"] in result["applied"]}
    policy = before["policy"]
    if "s3:DeleteBucketPolicy" in params:
        policy = None
    elif "s3:PutBucketPolicy" in params:
        policy = json.loads(params["s3:PutBucketPolicy"]["Policy"])
    if "tags" not in before:
        return {"policy": policy}
    tags = before["tags"]
    if "s3:PutBucketTagging" in params:
        tags = {tag["Key"]: tag["Value"] for tag in params["s3:PutBucketTagging"]["Tagging"]["TagSet"]}
    return {"policy": policy, "tags": tags}


# --- bucket remediation ------------------------------------------------------------------------


@register
class QuarantinePublicBucket(Remediation):
    name = "s3-quarantine-public-bucket"
    verified_statement = "Block Public Access is on (all four settings) and no public policy statement or public ACL grant remains"
    family = "s3_public"
    resource_type = "AWS::S3::Bucket"
    triggers = Triggers(
        cloudtrail_events=(
            "PutBucketPolicy",
            "PutBucketAcl",
            "DeleteBucketPublicAccessBlock",
            "PutBucketPublicAccessBlock",
        ),
        config_rules=("s3-bucket-public-read-prohibited", "s3-bucket-public-write-prohibited"),
        guardduty_types=(
            "Policy:S3/BucketAnonymousAccessGranted",
            "Policy:S3/BucketPublicAccessGranted",
        ),
        securityhub_controls=("S3.2", "S3.3"),
        macie_types=("Policy:IAMUser/S3BucketPublic", "Policy:IAMUser/S3BucketSharedExternally"),
    )
    summary = (
        "turn on all four Block Public Access settings of the bucket, remove only the policy statements and ACL "
        "grants that are public, keep every other statement and grant (cross-account ones included); objects are "
        "never touched (with QuarantineTag=enabled, also tag the bucket as quarantined)"
    )
    # Findings that say "shared with other accounts", which is not public: Warden removes public access
    # if there is any, and reports the cross-account grants without changing them.
    shared_not_public = frozenset({("macie", "Policy:IAMUser/S3BucketSharedExternally")})
    permissions = (
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketPolicy",
        "s3:GetBucketAcl",
        "s3:GetBucketTagging",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
        "s3:PutBucketAcl",
        "s3:PutBucketTagging",
    )
    verify_permissions = (
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketPolicy",
        "s3:GetBucketPolicyStatus",
        "s3:GetBucketAcl",
    )
    tag_permissions = ("s3:GetBucketTagging",)
    # DeletePublicAccessBlock and DeleteBucketTagging are authorized as their Put actions.
    rollback_permissions = (
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketPolicy",
        "s3:GetBucketAcl",
        "s3:GetBucketTagging",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
        "s3:PutBucketAcl",
        "s3:PutBucketTagging",
    )

    def ignore_reason(self, finding: Finding) -> str | None:
        """Events whose own request shows nothing public happened: no need to touch the bucket."""
        params = finding.details.get("requestParameters") or {}
        if finding.type == "PutBucketPublicAccessBlock":
            config = params.get("PublicAccessBlockConfiguration") or {}
            if all(str(config.get(s)).lower() == "true" for s in BLOCK_SETTINGS):
                return "this call turned all four Block Public Access settings on"
        if finding.type == "PutBucketPolicy" and isinstance(params.get("bucketPolicy"), dict):
            if not split_policy(params["bucketPolicy"])[0]:
                return "the policy set by this call grants no public access"
        return None

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        return self._tags(aws.client("s3"), finding.resource_name)

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        """The bucket's access settings; its tags too when the fix may tag it (QuarantineTag), since
        S3 replaces the whole tag set and rollback puts back the tags it had."""
        return self._snapshot(finding, aws, tags=tags_quarantined_buckets())

    def snapshot_as(self, finding: Finding, aws, recorded: dict[str, Any]) -> dict[str, Any]:
        return self._snapshot(finding, aws, tags="tags" in recorded)

    def _snapshot(self, finding: Finding, aws, tags: bool) -> dict[str, Any]:
        s3, bucket = aws.client("s3"), finding.resource_name
        snapshot = {
            "public_access_block": self._public_access_block(s3, bucket),
            "policy": self._policy(s3, bucket),
            "acl": self._acl(s3, bucket),
        }
        return {**snapshot, "tags": self._tags(s3, bucket)} if tags else snapshot

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        """The quarantine, only when the live state shows public access: an event or finding is a
        claim, and a private bucket that merely lacks Block Public Access is not a public bucket."""
        if not self._public(before) and (finding.source, finding.type) not in self.shared_not_public:
            return []
        return self._quarantine(finding, before)

    def nothing_to_change(self, finding: Finding, before: dict[str, Any]) -> str:
        if before["public_access_block"] and all(before["public_access_block"].values()):
            return "the bucket is not public and Block Public Access is on; nothing to change"
        return (
            "the bucket is not public (no public policy statement, no public ACL grant); it lacks Block Public Access, "
            f"a hardening gap that {HARDENING_FINDINGS} reports, and Warden fixes it when one of them does"
        )

    def _quarantine(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        bucket = finding.resource_name
        if (finding.source, finding.type) in self.shared_not_public and not self._public(before):
            grants = cross_account_grants(before, finding.account) or [
                "none in the bucket policy or ACL (access points and replication are not checked)"
            ]
            raise NeedsDecision(
                f"{finding.source} reports {bucket} shared with other AWS accounts, which is not public access: "
                f"Warden changed nothing. Cross-account grants: {'; '.join(grants)}. Remove them by hand if the "
                "sharing is not intended, or exempt the bucket if it is."
            )
        changes = []
        block = _block_change(
            before["public_access_block"],
            "s3:PutBucketPublicAccessBlock",
            f"aws s3api put-public-access-block --bucket {bucket}",
            f"aws s3api delete-public-access-block --bucket {bucket}",
        )
        if block:
            changes.append(block)
        if before["policy"] is not None:
            changes.extend(self._plan_policy(bucket, before["policy"]))
        grants = public_grants(before["acl"])
        if grants:
            kept = [g for g in before["acl"]["Grants"] if g not in grants]
            removed = ", ".join(f"{g['Permission']} to {PUBLIC_GROUPS[g['Grantee']['URI']]}" for g in grants)
            changes.append(
                Change(
                    action="s3:PutBucketAcl",
                    summary=f"Removed public ACL grant(s): {removed}; {len(kept)} other grant(s) kept",
                    undo=f"aws s3api put-bucket-acl --bucket {bucket} --access-control-policy file://acl-before.json"
                    " (acl-before.json: the 'acl' of this record's before-snapshot)",
                    params={"AccessControlPolicy": {"Grants": kept, "Owner": before["acl"]["Owner"]}},
                )
            )
        if changes and "tags" in before:  # the snapshot read the tags: QuarantineTag is enabled
            tagging = self._plan_tags(finding, before["tags"])
            if tagging:
                changes.append(tagging)
        return changes

    @staticmethod
    def _public(before: dict[str, Any]) -> bool:
        """Whether the bucket policy or ACL grants public access (whatever Block Public Access says)."""
        return bool((before["policy"] is not None and split_policy(before["policy"])[0]) or public_grants(before["acl"]))

    def advice(self, finding: Finding, before: dict[str, Any]) -> list[str]:
        kept = cross_account_grants(before, finding.account)
        if not kept:
            return []
        return [f"Kept, not public, so not changed: {grant}." for grant in kept] + [
            "Remove any of these by hand if that sharing is no longer intended."
        ]

    def _plan_policy(self, bucket: str, policy: dict) -> list[Change]:
        public, kept = split_policy(policy)
        if not public:
            return []
        statements = _as_list(policy.get("Statement"))
        removed = "; ".join(describe_statement(s, statements.index(s)) for s in public)
        undo = (
            f"aws s3api put-bucket-policy --bucket {bucket} --policy file://policy-before.json"
            " (policy-before.json: the 'policy' of this record's before-snapshot)"
        )
        if not kept:
            return [Change("s3:DeleteBucketPolicy", f"Deleted the bucket policy, whose only statements were public: {removed}", undo)]
        new_policy = {**policy, "Statement": kept}
        return [
            Change(
                action="s3:PutBucketPolicy",
                summary=f"Removed {len(public)} public statement(s) from the bucket policy ({removed}); "
                f"{len(kept)} other statement(s) kept unchanged",
                undo=undo,
                params={"Policy": json.dumps(new_policy)},
            )
        ]

    def _plan_tags(self, finding: Finding, tags: dict[str, str]) -> Change | None:
        if any(key.startswith("aws:") for key in tags):
            # A stack's bucket carries aws:cloudformation:* system tags. PutBucketTagging replaces the whole set,
            # and S3 refuses both to write aws: keys and to drop them (InvalidTag): the courtesy tags are skipped.
            return None
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        quarantine = {
            "warden:quarantined-by": "warden",
            "warden:quarantined-at": now,
            # Tag values allow letters, digits, spaces and + - = . _ : / @ only.
            "warden:quarantine-reason": "".join(
                c if c.isalnum() or c in " +-=._:/@" else "-" for c in f"{finding.source} {finding.type}"
            )[:256],
        }
        merged = {**tags, **quarantine}
        if len(merged) > MAX_BUCKET_TAGS:
            return None  # tagging is a courtesy; never fail the fix over the 50-tag limit
        previous = json.dumps({"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
        return Change(
            action="s3:PutBucketTagging",
            summary="Tagged the bucket " + ", ".join(f"{k}={v}" for k, v in quarantine.items()),
            undo=(
                # Tag keys and values cannot contain a single quote, so this quoting is safe.
                f"aws s3api put-bucket-tagging --bucket {finding.resource_name} --tagging '{previous}'"
                if tags
                else f"aws s3api delete-bucket-tagging --bucket {finding.resource_name}"
            ),
            params={"Tagging": {"TagSet": [{"Key": k, "Value": v} for k, v in merged.items()]}},
        )

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        s3, bucket = aws.client("s3"), finding.resource_name
        calls = {
            "s3:PutBucketPublicAccessBlock": s3.put_public_access_block,
            "s3:PutBucketPolicy": s3.put_bucket_policy,
            "s3:DeleteBucketPolicy": s3.delete_bucket_policy,
            "s3:PutBucketAcl": s3.put_bucket_acl,
            "s3:PutBucketTagging": s3.put_bucket_tagging,
        }
        return {"applied": apply_in_order(changes, lambda c: calls[c.action](Bucket=bucket, **c.params), BUCKET_GONE)}

    def read_exposure(self, finding: Finding, aws) -> dict[str, Any]:
        s3, bucket = aws.client("s3"), finding.resource_name
        fresh = {"public_access_block": self._public_access_block(s3, bucket), "policy": self._policy(s3, bucket)}
        fresh["policy_is_public"] = self._policy_is_public(s3, bucket, fresh["policy"])
        return {**fresh, "acl": self._acl(s3, bucket)}

    def after_fix(self, finding: Finding, aws, result: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Read afresh what tells whether the bucket is still public: Block Public Access, the ACL,
        and S3's own verdict on the policy (GetBucketPolicyStatus). The after-snapshot takes the
        policy and tags as Warden wrote them (`written`), not read again: they are rollback's drift
        baseline only, and Warden rewrote the policy from S3's own form of its statements."""
        s3, bucket = aws.client("s3"), finding.resource_name
        fresh = {"public_access_block": self._public_access_block(s3, bucket), "acl": self._acl(s3, bucket)}
        exposed = self.exposed_in(finding, {**fresh, "policy_is_public": self._policy_status(s3, bucket)}, result)
        return {**fresh, **written(result)}, exposed

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        exposed = []
        block = fresh["public_access_block"] or {}
        off = [s for s in BLOCK_SETTINGS if not block.get(s)]
        if off:
            exposed.append(f"Block Public Access settings still off: {', '.join(off)}")
        if fresh.get("policy") is not None:  # not read after a fix: S3's verdict alone judges it then
            public, _ = split_policy(fresh["policy"])
            if public:
                exposed.append(f"bucket policy still has {len(public)} public statement(s)")
        if fresh["policy_is_public"]:
            exposed.append("S3 reports the bucket policy as public (GetBucketPolicyStatus)")
        grants = public_grants(fresh["acl"])
        if grants:
            exposed.append(f"ACL still grants {len(grants)} public permission(s)")
        return exposed

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        s3, bucket = aws.client("s3"), finding.resource_name
        # Block Public Access first: while it is on, S3 rejects a public policy or ACL (BlockPublicPolicy,
        # BlockPublicAcls), so it is lifted, the policy and ACL restored, then the old block put back.
        s3.delete_public_access_block(Bucket=bucket)
        s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy=before["acl"])
        if before["policy"] is None:
            s3.delete_bucket_policy(Bucket=bucket)
        else:
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(before["policy"]))
        if before.get("tags"):
            s3.put_bucket_tagging(
                Bucket=bucket, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in before["tags"].items()]}
            )
        elif "tags" in before:  # the fix tagged a bucket that had no tags
            s3.delete_bucket_tagging(Bucket=bucket)
        if before["public_access_block"] is not None:
            s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=before["public_access_block"])

    # --- reads, each mapping "not there" to None/empty and "bucket gone" to ResourceGone ---

    @staticmethod
    def _read(call, missing_codes: tuple[str, ...], default):
        try:
            return call()
        except ClientError as error:
            code = _client_error(error)
            if code == "NoSuchBucket":
                raise ResourceGone("the bucket no longer exists") from None
            if code in missing_codes:
                return default
            if code in ("AccessDenied", "AccessDeniedException"):
                raise AccessDenied(f"{error.operation_name} was denied: {error}") from None
            raise

    def _public_access_block(self, s3, bucket: str) -> dict | None:
        response = self._read(
            lambda: s3.get_public_access_block(Bucket=bucket), ("NoSuchPublicAccessBlockConfiguration",), None
        )
        return None if response is None else {s: bool(response["PublicAccessBlockConfiguration"].get(s)) for s in BLOCK_SETTINGS}

    def _policy(self, s3, bucket: str) -> dict | None:
        response = self._read(lambda: s3.get_bucket_policy(Bucket=bucket), ("NoSuchBucketPolicy",), None)
        return None if response is None else json.loads(response["Policy"])

    def _policy_is_public(self, s3, bucket: str, policy: dict | None) -> bool:
        return False if policy is None else self._policy_status(s3, bucket)

    def _policy_status(self, s3, bucket: str) -> bool:
        """S3's own verdict: whether the bucket policy is public (no policy: not public)."""
        response = self._read(lambda: s3.get_bucket_policy_status(Bucket=bucket), ("NoSuchBucketPolicy",), {"PolicyStatus": {}})
        return bool(response["PolicyStatus"].get("IsPublic"))

    def _acl(self, s3, bucket: str) -> dict:
        response = self._read(lambda: s3.get_bucket_acl(Bucket=bucket), (), None)
        return {"Owner": response["Owner"], "Grants": response.get("Grants", [])}

    def _tags(self, s3, bucket: str) -> dict[str, str]:
        response = self._read(lambda: s3.get_bucket_tagging(Bucket=bucket), ("NoSuchTagSet",), {"TagSet": []})
        return {tag["Key"]: tag["Value"] for tag in response["TagSet"]}


# The findings that report a bucket without Block Public Access, whether or not it is public.
HARDENING_TRIGGERS = Triggers(
    config_rules=("s3-bucket-level-public-access-prohibited",),
    guardduty_types=("Policy:S3/BucketBlockPublicAccessDisabled",),
    securityhub_controls=("S3.8",),
    macie_types=("Policy:IAMUser/S3BlockPublicAccessDisabled",),
)
HARDENING_FINDINGS = (
    "Config s3-bucket-level-public-access-prohibited, Security Hub S3.8, GuardDuty Policy:S3/BucketBlockPublicAccessDisabled "
    "or Macie Policy:IAMUser/S3BlockPublicAccessDisabled"
)


@register
class BlockBucketPublicAccess(QuarantinePublicBucket):
    """A finding says the bucket lacks Block Public Access: turn it on. A hardening gap, not an
    exposure; if the live state also shows public access, the full quarantine follows from that."""

    name = "s3-bucket-block-public-access"
    summary = "turn the bucket's Block Public Access on (all four settings)"
    verified_statement = "Block Public Access is on for the bucket (all four settings) and no public policy statement or public ACL grant remains"
    triggers = HARDENING_TRIGGERS

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        if self._public(before):
            return self._quarantine(finding, before)
        bucket = finding.resource_name
        block = _block_change(
            before["public_access_block"],
            "s3:PutBucketPublicAccessBlock",
            f"aws s3api put-public-access-block --bucket {bucket}",
            f"aws s3api delete-public-access-block --bucket {bucket}",
        )
        return [block] if block else []

    def nothing_to_change(self, finding: Finding, before: dict[str, Any]) -> str:
        return "Block Public Access is already on for the bucket; nothing to change"


# --- account remediation -----------------------------------------------------------------------


@register
class BlockAccountPublicAccess(Remediation):
    """Turns on the account-wide block. Note: this also blocks buckets made public on purpose;
    exempt the account resource (AWS::::Account:<id>) if the account hosts any."""

    name = "s3-account-block-public-access"
    summary = "turn the account's S3 Block Public Access on (all four settings)"
    verified_statement = "the account's Block Public Access is on (all four settings)"
    family = "s3_public"
    resource_type = ACCOUNT_RESOURCE_TYPE
    triggers = Triggers(
        config_rules=("s3-account-level-public-access-blocks",),
        guardduty_types=("Policy:S3/AccountBlockPublicAccessDisabled",),
        securityhub_controls=("S3.1",),
    )
    permissions = ("s3:GetAccountPublicAccessBlock", "s3:PutAccountPublicAccessBlock")
    verify_permissions = ("s3:GetAccountPublicAccessBlock",)
    rollback_permissions = ("s3:GetAccountPublicAccessBlock", "s3:PutAccountPublicAccessBlock")

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        return {"public_access_block": self._read(aws.client("s3control"), finding.account)}

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        change = _block_change(
            before["public_access_block"],
            "s3:PutAccountPublicAccessBlock",
            f"aws s3control put-public-access-block --account-id {finding.account}",
            f"aws s3control delete-public-access-block --account-id {finding.account}",
        )
        return [change] if change else []

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        s3control = aws.client("s3control")
        put = s3control.put_public_access_block
        return {"applied": apply_in_order(changes, lambda c: put(AccountId=finding.account, **c.params), ())}

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        off = [s for s in BLOCK_SETTINGS if not (fresh["public_access_block"] or {}).get(s)]
        return [f"account Block Public Access settings still off: {', '.join(off)}"] if off else []

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        s3control = aws.client("s3control")
        if before["public_access_block"] is None:
            s3control.delete_public_access_block(AccountId=finding.account)
        else:
            s3control.put_public_access_block(
                AccountId=finding.account, PublicAccessBlockConfiguration=before["public_access_block"]
            )

    @staticmethod
    def _read(s3control, account: str) -> dict | None:
        try:
            config = s3control.get_public_access_block(AccountId=account)["PublicAccessBlockConfiguration"]
        except ClientError as error:
            if _client_error(error) == "NoSuchPublicAccessBlockConfiguration":
                return None
            raise
        return {s: bool(config.get(s)) for s in BLOCK_SETTINGS}
