"""The remediation contract, the errors it raises, and the decorator that registers it.

A remediation declares as data what it handles (`triggers`) and which API calls it makes
(`permissions`, `verify_permissions`, `tag_permissions`); template.yaml must grant exactly those,
and a test checks it. `plan` is pure so the interesting logic is testable without AWS.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from warden.findings import Finding


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


class PartiallyApplied(WardenError):
    """Some changes were applied before a later one failed; the message lists which."""


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


class Remediation:
    """One kind of fix. Subclasses set the class attributes and implement the five methods."""

    name: ClassVar[str]
    family: ClassVar[str]  # which Lambda runs it: "s3_public", "encryption", ...
    resource_type: ClassVar[str]
    triggers: ClassVar[Triggers]
    permissions: ClassVar[tuple[str, ...]]  # calls made by snapshot/apply/rollback
    verify_permissions: ClassVar[tuple[str, ...]]  # calls made by verify
    tag_permissions: ClassVar[tuple[str, ...]] = ()  # calls made by resource_tags (triage)

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        """Tags used for exemptions; raise ResourceGone if the resource no longer exists."""
        return {}

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        raise NotImplementedError

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        raise NotImplementedError

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        raise NotImplementedError

    def verify(self, finding: Finding, aws) -> list[str]:
        """Return what is still exposed (empty when the fix held)."""
        raise NotImplementedError

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        raise NotImplementedError


REMEDIATIONS: dict[str, Remediation] = {}


def register(cls: type[Remediation]) -> type[Remediation]:
    """Class decorator: make a remediation known to the registry by its name."""
    if cls.name in REMEDIATIONS:
        raise ValueError(f"remediation {cls.name!r} registered twice")
    REMEDIATIONS[cls.name] = cls()
    return cls
