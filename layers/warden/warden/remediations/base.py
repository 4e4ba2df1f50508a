"""The remediation contract, the errors it raises, and the decorator that registers it.

A remediation declares as data what it handles (`triggers`) and which API calls it makes
(`permissions`, `verify_permissions`, `tag_permissions`); template.yaml must grant exactly those,
and a test checks it. `plan` is pure so the interesting logic is testable without AWS.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, ClassVar, Iterator

from botocore.exceptions import ClientError

from warden.finding import Finding


class WardenError(Exception):
    """Base of the errors the state machine's Catch clauses match by class name."""


class ResourceGone(WardenError):
    """The resource no longer exists: nothing is exposed any more, nothing was changed."""


class NotRemediable(WardenError):
    """The finding names something Warden cannot or must not change."""


class AccessDenied(WardenError):
    """Warden's role was refused a call it needs; the fix was not (fully) applied."""


class StillExposed(WardenError):
    """Verification re-read the resource and it is still exposed."""


class NotVerified(WardenError):
    """The fix was applied, but the resource could not be re-read to verify it."""


class PartiallyApplied(WardenError):
    """Some changes were applied before a later one failed; the message lists which."""


class NeedsDecision(WardenError):
    """Warden does not know the safe fix (e.g. which KMS key) and will not guess: a person decides."""


class RetryLater(WardenError):
    """The resource is in a transitional state (e.g. a notebook still starting); the workflow retries."""


@dataclass(frozen=True)
class Change:
    """One API-level change, described for a person and reversible by one command."""

    action: str  # API call, e.g. "s3:PutBucketPublicAccessBlock"
    summary: str  # what changes, before -> after, in words
    undo: str  # the command that reverts it
    params: dict[str, Any] = field(default_factory=dict)  # what apply() sends

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        return cls(**data)


@dataclass(frozen=True)
class Triggers:
    """Which events select a remediation. Rule names may carry conformance-pack prefixes/suffixes."""

    cloudtrail_events: tuple[str, ...] = ()  # eventName values
    config_rules: tuple[str, ...] = ()  # managed rule identifiers, matched as substrings
    guardduty_types: tuple[str, ...] = ()
    alarm_metrics: tuple[str, ...] = ()  # "<namespace>/<metric>" of CloudWatch alarms
    securityhub_controls: tuple[str, ...] = ()  # Security Hub control ids (Compliance.SecurityControlId)
    macie_types: tuple[str, ...] = ()  # Amazon Macie finding types, e.g. "Policy:IAMUser/S3BucketPublic"


class Remediation:
    """One kind of fix. Subclasses set the class attributes and implement snapshot, plan, apply,
    exposed_in (and read_exposure when the snapshot reads more than exposure needs) and rollback."""

    name: ClassVar[str]
    family: ClassVar[str]  # which Lambda runs it: "s3_public", "encryption", ...
    resource_type: ClassVar[str]
    resource_types: ClassVar[tuple[str, ...]] = ()  # when it handles several (IAM users, roles, groups)
    triggers: ClassVar[Triggers]
    permissions: ClassVar[tuple[str, ...]]  # calls made by snapshot/apply
    # Calls made by read_exposure (Triage re-checks a duplicate with verify), and by after_fix beyond
    # `permissions`: the family function's role grants both.
    verify_permissions: ClassVar[tuple[str, ...]]
    tag_permissions: ClassVar[tuple[str, ...]] = ()  # calls made by resource_tags (triage)
    # Calls made by a rollback: re-reading the resource with snapshot (to detect drift and to check the
    # restore) and the restoring calls of rollback. Declared by every remediation; no default.
    rollback_permissions: ClassVar[tuple[str, ...]]
    # Snapshot keys that are lookups or timestamps, not the resource's state: not compared for drift.
    volatile_snapshot_keys: ClassVar[tuple[str, ...]] = ()
    # True when there is nothing safe to change: plan always raises NeedsDecision with the options.
    notify_only: ClassVar[bool] = False
    # What the fix does, in one sentence for a person (a wiring test's "what Warden would do").
    summary: ClassVar[str] = ""
    # True when the fix follows from the finding alone, not from the resource's live state (revoking
    # sessions, deactivating a key): triage then acts only on a finding its source confirms (warden.confirm).
    acts_on_finding_alone: ClassVar[bool] = False
    # True when the fix waits longer than an Express execution may run (5 minutes): a throttle's
    # cool-downs, a notebook's stop-update-start. Triage then hands the event to the Standard workflow.
    long_running: ClassVar[bool] = False
    # What a passing verification proves, formatted with `finding` and `resource` (its name): the
    # "Fixed" message says it, so each family says what it checked, never a generic "all good".
    verified_statement: ClassVar[str]

    def handles(self, resource_type: str) -> bool:
        return resource_type in (self.resource_types or (self.resource_type,))

    def describe(self) -> str:
        """`summary`, or the first line of the class's docstring, or the name."""
        doc = (type(self).__doc__ or "").strip().splitlines()
        return self.summary or (doc[0] if doc else self.name)

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        """Tags used for exemptions; raise ResourceGone if the resource no longer exists."""
        return {}

    def needless_reason(self, finding: Finding, aws) -> str | None:
        """Why this finding needs no fix, read from AWS in triage (calls in tag_permissions); None
        when it may. The pure check is `ignore_reason`; this one may read, and changes nothing."""
        return None

    def principals(self, finding: Finding, aws) -> list[str]:
        """The IAM principals whose permissions this fix would change (checked against protected
        principals before anything is planned). Empty for fixes that change no principal."""
        return []

    def resolve(self, finding: Finding, aws) -> Finding:
        """The finding naming its resource by its real ARN, when the source named it another way (a REST
        API by name, an IAM policy by id): messages, console links and the audit record use that ARN.
        Reads only what resource_tags reads (tag_permissions); raises ResourceGone like it."""
        return finding

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        raise NotImplementedError

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        raise NotImplementedError

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        raise NotImplementedError

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        """What is still exposed (empty when the fix held), judged from a fresh read: a snapshot, or
        what read_exposure returns. `result` is what remediate returned (None in triage). Pure."""
        raise NotImplementedError

    def read_exposure(self, finding: Finding, aws) -> dict[str, Any]:
        """The reads exposed_in needs and no more (verify_permissions): the part of a snapshot that
        tells whether the resource is exposed. Default: the whole snapshot."""
        return self.snapshot(finding, aws)

    def verify(self, finding: Finding, aws, result: dict[str, Any] | None = None) -> list[str]:
        """What is exposed now, read afresh (triage re-reads a resource fixed within the dedupe window)."""
        return self.exposed_in(finding, self.read_exposure(finding, aws), result)

    def snapshot_as(self, finding: Finding, aws, recorded: dict[str, Any]) -> dict[str, Any]:
        """The resource now, read as the `recorded` snapshot was (rollback compares the two).
        Default: the snapshot; a family whose snapshot depends on a setting reads what `recorded` holds."""
        return self.snapshot(finding, aws)

    def after_fix(self, finding: Finding, aws, result: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The one fresh read after apply: (the after-fix snapshot rollback checks drift against, what
        is still exposed). Default: the snapshot, judged by exposed_in; nothing is read twice."""
        fresh = self.snapshot(finding, aws)
        return fresh, self.exposed_in(finding, fresh, result)

    def nothing_to_change(self, finding: Finding, before: dict[str, Any]) -> str:
        """Why plan found nothing to change, for the audit record. Pure."""
        return "already compliant when Warden looked; nothing to change"

    def verified(self, finding: Finding, result: dict[str, Any] | None = None) -> str:
        """What a passing verify re-read and found, for the "Fixed" message: this family's own
        words. `result` is what remediate returned. Pure."""
        return self.verified_statement.format(finding=finding, resource=finding.resource_name)

    def advice(self, finding: Finding, before: dict[str, Any]) -> list[str]:
        """What a person still has to do after (or instead of) Warden's change. Pure."""
        return []

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        raise NotImplementedError

    def state(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """The part of a snapshot that is the resource's state, compared to detect drift. Pure."""
        return {k: v for k, v in snapshot.items() if k not in self.volatile_snapshot_keys}


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


# How a service says "no such resource": an error code, or (code, message fragment) when the
# service reuses a generic code and only the message tells (SageMaker: ValidationException "RecordNotFound").
GoneCodes = tuple[str | tuple[str, str], ...]


def is_gone(error: ClientError, gone_codes: GoneCodes) -> bool:
    code, message = error_code(error), error.response.get("Error", {}).get("Message", "")
    return any(code == gone if isinstance(gone, str) else (code == gone[0] and gone[1] in message) for gone in gone_codes)


DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
# Throttling, as botocore's standard retry mode recognises it (ThrottledRetryableChecker), plus
# SNS's own code. tests/unit/test_aws.py checks this still covers botocore's list.
THROTTLED = (
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
    "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
    "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException", "Throttled",
)  # fmt: skip


@contextmanager
def retry_later_when_throttled(what: str) -> Iterator[None]:
    """For reads only: a read still throttled after the client's own retries becomes RetryLater, so
    the workflow tries the whole step again later. Never around a change: a retried step re-plans
    from what it reads, and a half-applied change must be reported, not silently re-planned."""
    try:
        yield
    except ClientError as error:
        if error_code(error) in THROTTLED:
            raise RetryLater(f"{what}: {error.operation_name} is throttled ({error_code(error)}); nothing was changed") from None
        raise


@contextmanager
def aws_errors(gone_codes: GoneCodes, what: str) -> Iterator[None]:
    """Map AWS errors to the workflow's: a vanished resource is ResourceGone, a refusal AccessDenied."""
    try:
        yield
    except ClientError as error:
        code = error_code(error)
        if is_gone(error, gone_codes):
            raise ResourceGone(f"{what} no longer exists") from None
        if code in DENIED:
            raise AccessDenied(f"{error.operation_name} was denied: {error}") from None
        raise


def apply_in_order(changes: list[Change], call: Callable[[Change], Any], gone_codes: GoneCodes) -> list[str]:
    """Apply changes one by one; if one fails, say exactly which were applied before it."""
    applied: list[str] = []
    for change in changes:
        try:
            call(change)
        except ClientError as error:
            code = error_code(error)
            done = f"; already applied: {', '.join(applied)}" if applied else "; nothing was applied"
            if is_gone(error, gone_codes):
                raise ResourceGone(f"the resource vanished during {change.action}{done}") from None
            if code in DENIED:
                raise AccessDenied(f"{change.action} was denied{done}") from None
            if applied:
                raise PartiallyApplied(f"{change.action} failed with {code}{done}") from error
            raise
        applied.append(change.action)
    return applied


class ToggleRemediation(Remediation):
    """A fix that turns one setting on (key rotation, trail logging, EBS encryption by default).

    The snapshot records under `snapshot_key` whether the setting was on; plan turns it on only when
    it was off, verify re-reads it, and rollback turns it off only if it was off before. Subclasses
    give the read (`is_on`), the two calls (`turn_on`, `turn_off`) and the change's words; the text
    templates are formatted with `finding`, e.g. "--key-id {finding.resource_arn}".
    """

    snapshot_key: ClassVar[str]  # e.g. "is_logging"; kept as it is, audit records hold it
    gone_codes: ClassVar[GoneCodes] = ()  # how turn_on's service says the resource is gone
    change_action: ClassVar[str]  # the IAM action of turn_on, e.g. "cloudtrail:StartLogging"
    change_summary: ClassVar[str]
    change_undo: ClassVar[str]
    still_off: ClassVar[str]  # what verify reports when the setting is still off

    def is_on(self, finding: Finding, aws) -> bool:
        raise NotImplementedError

    def turn_on(self, finding: Finding, aws) -> None:
        raise NotImplementedError

    def turn_off(self, finding: Finding, aws) -> None:
        raise NotImplementedError

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        return {self.snapshot_key: self.is_on(finding, aws)}

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        if before[self.snapshot_key]:
            return []
        return [
            Change(
                self.change_action,
                self.change_summary.format(finding=finding),
                self.change_undo.format(finding=finding),
            )
        ]

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        return {"applied": apply_in_order(changes, lambda c: self.turn_on(finding, aws), self.gone_codes)}

    def read_exposure(self, finding: Finding, aws) -> dict[str, Any]:
        return {self.snapshot_key: self.is_on(finding, aws)}

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        return [] if fresh[self.snapshot_key] else [self.still_off.format(finding=finding)]

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        if not before[self.snapshot_key]:
            self.turn_off(finding, aws)


class AsksAPerson(Remediation):
    """A remediation that never changes the resource: its plan finds nothing to do or raises
    NeedsDecision with the steps for a person. Nothing is applied, so nothing is re-read or rolled back."""

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        return {"applied": []}  # never reached: plan asks a person or finds nothing

    def read_exposure(self, finding: Finding, aws) -> dict[str, Any]:
        return {}  # nothing was changed, so nothing to read

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        return []

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        return None  # nothing was changed


REMEDIATIONS: dict[str, Remediation] = {}


def register(cls: type[Remediation]) -> type[Remediation]:
    """Class decorator: make a remediation known to the registry by its name."""
    if cls.name in REMEDIATIONS:
        raise ValueError(f"remediation {cls.name!r} registered twice")
    REMEDIATIONS[cls.name] = cls()
    return cls
