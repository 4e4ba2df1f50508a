"""A fix undone by the resource's own deployer: notice it, fix once more, escalate once, never loop.

A resource a stack or pipeline owns gets its template's value back on the next deploy. When an
exposure comes back on a resource Warden fixed and the caller is the IaC deployer, fighting it
would loop forever (fix, deploy, fix...). So:
- the first revert (none recorded in the window before it): fixed once more if the mode says so,
  and the message escalates: "reverted by stack X's deploy at T; change the template", with the patch;
- later reverts within `revert_window_seconds` (settings document `iac`, 24 hours by default):
  recorded on the audit trail (decision `ignored`, with why), neither fixed nor paged.

The deployer is CloudFormation (CloudTrail `userIdentity.invokedBy` cloudformation.amazonaws.com,
whether it used the caller's credentials or a service role) or a pipeline role named in the
settings document's `iac.deployer_roles`. Everything here is pure but `check`'s one audit query,
made only when the caller is a deployer.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from warden.finding import Finding
from warden.ownership import Owner

CLOUDFORMATION = "cloudformation.amazonaws.com"
DEFAULT_WINDOW_SECONDS = 86400
_ROLE = re.compile(r"^arn:[\w-]+:(?:iam::(\d{12}):role/(?:.*/)?|sts::(\d{12}):assumed-role/)([\w+=,.@-]+)")


@dataclass(frozen=True)
class Revert:
    by: str  # "stack ml-data's deploy (CloudFormation)" or "pipeline role deploy-ml"
    at: str  # when the deployer re-exposed it (the event's time)
    fixed_by: str  # the finding whose fix was undone
    fixed_at: str
    count: int  # this revert's number within the window (1: the first, which escalates)
    window_seconds: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def seconds_after_fix(self) -> int:
        return int((_time(self.at) - _time(self.fixed_at)).total_seconds())

    def reason(self) -> str:
        if self.count == 1:
            return (f"re-exposed {self.seconds_after_fix} seconds after Warden's fix ({self.fixed_by}) by {self.by} at {self.at}: "
                    "fixed once more and escalated; change the template, or the next deploy reverts it again")  # fmt: skip
        return (f"reverted again by {self.by} at {self.at} (revert {self.count} within {self.window_seconds}s of the first): "
                "recorded, neither fixed nor paged again, so Warden does not fight the deploy; the template still needs the change "
                f"named in the message of {self.fixed_by}")  # fmt: skip


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _role(arn: str | None) -> tuple[str | None, str] | None:
    match = _ROLE.match(arn or "")
    return (match.group(1) or match.group(2), match.group(3)) if match else None


def deployer(finding: Finding, iac: dict[str, Any], owner: Owner | None) -> str | None:
    """Who deployed, in words, when the caller is the IaC deployer; None for anyone else."""
    details = finding.details or {}
    if details.get("invoked_by") == CLOUDFORMATION:
        return f"stack {owner.stack}'s deploy (CloudFormation)" if owner and owner.stack else "a CloudFormation deploy"
    callers = {_role(finding.actor), _role(details.get("session_issuer"))} - {None}
    for configured in iac.get("deployer_roles", []):
        role = _role(configured)
        if role in callers:
            return f"pipeline role {role[1]}" + (f" (deploying {owner.describe()})" if owner and owner.managed else "")
    return None


def classify(finding: Finding, remediation: str, by: str, records: list[dict[str, Any]], window_seconds: int) -> Revert | None:
    """Whether this finding reverts a fix Warden made, given the resource's audit records (newest first). Pure."""
    now = _time(finding.time)
    fixes = [r for r in records if r.get("remediation") == remediation and r.get("outcome") == "remediated"
             and not r.get("rolled_back_at") and r.get("finding_id") != finding.id and not (r.get("revert") or {}).get("count", 0) > 1]  # fmt: skip
    if not fixes:
        return None
    fix = fixes[0]
    since = now - timedelta(seconds=window_seconds)
    earlier = [r for r in records if r.get("remediation") == remediation and r.get("revert") and r.get("finding_id") != finding.id
               and _time(r["revert"]["at"]) >= since]  # fmt: skip
    first = min(earlier, key=lambda r: r["revert"]["at"])["revert"] if earlier else None
    return Revert(
        by=by, at=finding.time, fixed_by=first["fixed_by"] if first else fix["finding_id"],
        fixed_at=first["fixed_at"] if first else str(fix.get("recorded_at")), count=len(earlier) + 1, window_seconds=window_seconds,
    )  # fmt: skip


def check(finding: Finding, remediation: str, iac: dict[str, Any], owner: Owner | None) -> Revert | None:
    """The revert this finding is, if its caller is the deployer and Warden fixed the resource before."""
    by = deployer(finding, iac, owner)
    if by is None:
        return None
    from warden import audit  # the one read, only for a deployer's call

    records = audit.history(finding.resource_arn, limit=50)
    return classify(finding, remediation, by, records, int(iac.get("revert_window_seconds", DEFAULT_WINDOW_SECONDS)))


def message_lines(revert: dict[str, Any], template_lines: list[str]) -> list[str]:
    """The escalation at the top of the first revert's message."""
    item = Revert(**revert)
    return [
        "REVERTED BY A DEPLOY: CHANGE THE TEMPLATE",
        f"  Reverted by {item.by} at {item.at}, {item.seconds_after_fix} seconds after Warden's fix ({item.fixed_by}).",
        "  Warden fixed it once more. It will not fight further deploys: a revert within the next "
        f"{item.window_seconds}s is recorded, not fixed and not paged.",
        *(template_lines or ["  Make the change in the template or module that owns it (see WHO OWNS IT)."]),
        "",
    ]
