"""Modes, exemptions, loop prevention and the dedupe window: what Warden may do with a finding.

Settings come from the stack's parameters through environment variables and are read on every
invocation (cheap), so the local twin can run several functions with different settings; the
run-time settings document (warden.settings) overrides them per key.

An exemption (the exempt tag's value, or an entry of the exemption list) may carry an expiry and a
reason: `until=2027-01-31 reason=public website` (also separated by `;`). It applies through that
day (UTC), or until that moment when a time is given; after that it no longer applies and the
decision's reason says that it expired. A value without `until=` exempts for good.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Literal

from warden.finding import Finding

Decision = Literal["enforce", "dry-run", "exempt", "duplicate", "ignored", "rejected"]
MODES = ("enforce", "dry-run")


@dataclass(frozen=True)
class Settings:
    mode: str
    family_modes: dict[str, str]  # e.g. {"iam": "dry-run"}: a family's own mode overrides `mode`
    exempt_tag_key: str
    exempt_resource_patterns: tuple[str, ...]
    protected_principal_arns: tuple[str, ...]
    warden_role_arns: tuple[str, ...]
    dedupe_window_seconds: int
    # From the settings document (warden.settings): a remediation's own mode overrides its family's.
    remediation_modes: dict[str, str] = field(default_factory=dict)
    exempt_terms: dict[str, str] = field(default_factory=dict)  # exemption list pattern -> "until=... reason=..."
    notes: tuple[str, ...] = ()  # told in every decision's reason, e.g. that the settings document was rejected
    approval_timeout_seconds: int = 14400  # approve mode: how long the workflow waits for a person
    # ThrottleAlarmNames: the alarms allowed to act (`name` or `name>=threshold`, comma-separated),
    # passed in Triage's task input by the workflow definition (warden.confirm).
    throttle_alarms: str = ""
    # Set once per settings version that switches protection off (warden.settings): what Notify pages with.
    settings_alert: dict | None = None
    scoped: dict = field(default_factory=dict)  # organization mode: the document's `accounts` (account or OU id -> settings)
    # ExemptionSource: "settings-only" ignores the exemption tag (anyone who may tag a resource could set it).
    exemption_source: str = "tags-and-settings"
    # Who can change the exemption list, for the exempt message: the stack's deployer, or the settings' writers.
    exemption_list_setter: str = "whoever may update the stack (its ExemptResourceArns parameter)"
    iac: dict = field(default_factory=dict)  # the settings document's `iac` key (warden.ownership, reverts)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        mode = env.get("WARDEN_MODE", "dry-run")
        if mode not in MODES:
            # Never fall back to enforcing: an unknown mode means "only say what you would do".
            mode = "dry-run"
        family_modes = {
            key.removeprefix("WARDEN_MODE_").lower(): value
            for key, value in env.items()
            if key.startswith("WARDEN_MODE_") and value in MODES
        }
        return cls(
            mode=mode,
            family_modes=family_modes,
            exempt_tag_key=env.get("WARDEN_EXEMPT_TAG_KEY", "warden:exempt"),
            exempt_resource_patterns=_split(env.get("WARDEN_EXEMPT_RESOURCES", "")),
            exemption_source="settings-only" if env.get("WARDEN_EXEMPTION_SOURCE") == "settings-only" else "tags-and-settings",
            protected_principal_arns=_split(env.get("WARDEN_PROTECTED_PRINCIPAL_ARNS", ""))
            + _split(env.get("WARDEN_DEPLOYER_ARN", "")),
            warden_role_arns=_split(env.get("WARDEN_ROLE_ARNS", "")),
            dedupe_window_seconds=max(1, int(env.get("WARDEN_DEDUPE_WINDOW_SECONDS", "300") or 300)),
            approval_timeout_seconds=max(1, int(env.get("WARDEN_APPROVAL_TIMEOUT_SECONDS", "14400") or 14400)),
        )

    def mode_of(self, remediation: str, family: str) -> tuple[str, str]:
        """(mode, where it comes from): the remediation's own, its family's, or the default."""
        if remediation in self.remediation_modes:
            return self.remediation_modes[remediation], f"the settings' mode for {remediation}"
        if family in self.family_modes:
            return self.family_modes[family], f"the {family} family's mode"
        return self.mode, "Mode"


def _split(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def role_name(principal: str | None) -> str | None:
    """The IAM role behind a principal: role ARN, assumed-role session ARN, or GuardDuty's
    'AssumedRole:<name>'. None for users, services and unknown callers."""
    identity = _role_identity(principal, account=None)
    return identity[1] if identity else None


def _role_identity(principal: str | None, account: str | None) -> tuple[str | None, str] | None:
    """(account, role name); GuardDuty names only the role, so its account is the finding's."""
    if not principal:
        return None
    match = re.match(
        r"^arn:[\w-]+:(?:iam::([0-9]{12}):role/(?:.*/)?|sts::([0-9]{12}):assumed-role/)([\w+=,.@-]+)", principal
    )
    if match:
        return match.group(1) or match.group(2), match.group(3)
    if principal.startswith("AssumedRole:"):
        return account, principal.split(":", 1)[1]
    return None


def caused_by_warden(finding: Finding, settings: Settings) -> bool:
    """True when the actor is one of Warden's roles: same role name in the same account."""
    actor = _role_identity(finding.actor, finding.account)
    return actor is not None and actor in {_role_identity(arn, None) for arn in settings.warden_role_arns}


@dataclass(frozen=True)
class Terms:
    """What an exemption says about itself: why, and until when."""

    reason: str
    until: str | None = None  # as written
    ends: datetime | None = None  # the first moment it no longer applies
    problem: str | None = None  # an `until` Warden cannot read: the exemption then does not expire

    def expired(self, now: datetime) -> bool:
        return self.ends is not None and now >= self.ends

    def describe(self) -> str:
        parts = [f"reason: {self.reason}"] if self.reason else []
        if self.until and not self.problem:
            parts.append(f"until {self.until}")
        if self.problem:
            parts.append(self.problem)
        return f" ({'; '.join(parts)})" if parts else ""


_UNTIL = re.compile(r"(?:^|[\s;,])until\s*[=:]\s*([^\s;,]*)", re.IGNORECASE)
_REASON = re.compile(r"(?:^|[\s;,])reason\s*[=:]\s*(.*?)\s*(?=;|\s+until\s*[=:]|$)", re.IGNORECASE)


def parse_terms(value: str) -> Terms:
    """`until=2027-01-31 reason=public website` (or with `;`) -> Terms; any other value is the reason."""
    until, reason = _UNTIL.search(value or ""), _REASON.search(value or "")
    if not until:
        return Terms(reason=reason.group(1) if reason else (value or "").strip())
    written = until.group(1)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", written):
            ends = datetime.combine(date.fromisoformat(written) + timedelta(days=1), datetime.min.time(), timezone.utc)
        else:
            ends = datetime.fromisoformat(written.replace("Z", "+00:00"))
            ends = ends if ends.tzinfo else ends.replace(tzinfo=timezone.utc)
    except ValueError:
        problem = f"its until {written!r} is not a date such as 2027-01-31, so it does not expire: fix it"
        return Terms(reason=reason.group(1) if reason else "", until=written, problem=problem)
    return Terms(reason=reason.group(1) if reason else "", until=written, ends=ends)


# Who can put the exemption tag on a resource of each type: the tagging action AWS checks.
TAGGING_ACTIONS = {
    "AWS::S3::Bucket": "s3:PutBucketTagging",
    "AWS::KMS::Key": "kms:TagResource",
    "AWS::SQS::Queue": "sqs:TagQueue",
    "AWS::SNS::Topic": "sns:TagResource",
    "AWS::CloudTrail::Trail": "cloudtrail:AddTags",
    "AWS::SageMaker::NotebookInstance": "sagemaker:AddTags",
    "AWS::SageMaker::Endpoint": "sagemaker:AddTags",
    "AWS::IAM::Role": "iam:TagRole",
    "AWS::IAM::Policy": "iam:TagPolicy",
    "AWS::IAM::AccessKey": "iam:TagUser",
    "AWS::ApiGateway::Stage": "apigateway:PUT on its /tags path",
}


def who_can_tag(resource_type: str, key: str) -> str:
    action = TAGGING_ACTIONS.get(resource_type, "the service's tagging action")
    return (
        f"who can set this: anyone allowed {action} on the resource, unless an SCP reserves the tag key {key} "
        "(docs/threat-model.md); ExemptionSource=settings-only ignores the tag"
    )


def exemption(finding: Finding, tags: dict[str, str], settings: Settings, now: datetime | None = None) -> tuple[str | None, list[str]]:
    """(why the finding is exempt and who can set that exemption, or None; the exemptions that matched
    but do not apply, expired or not honoured, for the reason)."""
    now = now or datetime.now(timezone.utc)
    expired = []
    for pattern in settings.exempt_resource_patterns:
        if fnmatch.fnmatchcase(finding.resource_arn, pattern):
            terms = parse_terms(settings.exempt_terms.get(pattern, ""))
            if terms.expired(now):
                expired.append(f"the exemption list entry {pattern!r} expired (until={terms.until}), so it no longer applies")
                continue
            listed = f"resource matches the exemption list entry {pattern!r}{terms.describe()}"
            return f"{listed}; who can set this: {settings.exemption_list_setter}", expired
    key = settings.exempt_tag_key
    if key in tags and settings.exemption_source == "settings-only":
        expired.append(f"the resource is tagged {key}, but ExemptionSource is settings-only: Warden ignores exemption tags")
    elif key in tags:
        value = tags[key]
        terms = parse_terms(value)
        if terms.expired(now):
            expired.append(f"the exemption tag {key}={value!r} expired (until={terms.until}), so it no longer applies")
        else:
            tagged = f"resource is tagged {key}={value!r}" if value else f"resource is tagged {key}"
            tagged += f"; it does not expire: {terms.problem}" if terms.problem else (f", valid until {terms.until}" if terms.until else "")
            return f"{tagged}; {who_can_tag(finding.resource_type, key)}", expired
    return None, expired


def exempt_reason(finding: Finding, tags: dict[str, str], settings: Settings, now: datetime | None = None) -> str | None:
    return exemption(finding, tags, settings, now)[0]


_IAM_PRINCIPAL = re.compile(r"^arn:[\w-]+:iam::([0-9]{12}):(user|role|group)/(?:[^/]*/)*([\w+=,.@-]+)$")
# IAM Identity Center's and AWS services' roles live under reserved paths only AWS can create roles
# in; a role merely *named* AWSReservedSSO_... at path / is an ordinary role anyone with IAM can make.
SSO_ROLE_PATH = re.compile(r"^arn:[\w-]+:iam::[0-9]{12}:role/aws-reserved/sso\.amazonaws\.com/")
SERVICE_LINKED_ROLE_PATH = re.compile(r"^arn:[\w-]+:iam::[0-9]{12}:role/aws-service-role/")


def _principal_key(arn: str) -> tuple:
    """Comparable identity: (kind, account, name). IAM names are unique per account whatever the
    path, so `user/ops/breakglass` and `user/breakglass` are the same user; a role's session ARN
    names its role."""
    match = _IAM_PRINCIPAL.match(arn)
    if match:
        return match.group(2), match.group(1), match.group(3)
    identity = _role_identity(arn, None)
    return ("role", *identity) if identity else ("arn", arn)


def protected_reason(principal_arn: str, settings: Settings) -> str | None:
    """Why Warden must never change this principal, or None. These hold whatever the settings say.
    `principal_arn` is the principal's real ARN, with its path (the remediation reads it from IAM)."""
    if re.match(r"^arn:[\w-]+:iam::[0-9]{12}:root$", principal_arn):
        return "it is the account root"
    if SSO_ROLE_PATH.match(principal_arn):
        return "it is an AWS IAM Identity Center (SSO) role (path /aws-reserved/sso.amazonaws.com/)"
    if SERVICE_LINKED_ROLE_PATH.match(principal_arn):
        return "it is a service-linked role (path /aws-service-role/)"
    if caused_by_warden_principal(principal_arn, settings):
        return "it is one of Warden's own roles"
    key = _principal_key(principal_arn)
    for protected in settings.protected_principal_arns:
        if _principal_key(protected) == key:
            return "it is listed in ProtectedPrincipalArns (or deployed this stack)"
    return None


def caused_by_warden_principal(principal_arn: str, settings: Settings) -> bool:
    identity = _role_identity(principal_arn, None)
    return identity is not None and identity in {_role_identity(arn, None) for arn in settings.warden_role_arns}
