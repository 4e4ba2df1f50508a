"""The `Finding` record every step passes along, whatever the event's source.

Parsing an event into one is warden.findings, which only Triage needs: this module stays free of
pydantic and the parser so that the other functions' cold starts do not load them.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

# A finding travels in the Step Functions state, which is capped at 256 KB; going over is
# States.DataLimitExceeded, which no Catch can handle. The finding gets at most this much of it.
MAX_FINDING_BYTES = 32 * 1024

ACCOUNT_RESOURCE_TYPE = "AWS::::Account"
# The source of the events `python -m warden_ops sweep` synthesizes from what Config, GuardDuty and
# Security Hub hold now; the finding records it (details["found_by"]) for the audit and the message.
SWEEP_SOURCE = "warden.sweep"


@dataclass(frozen=True)
class Finding:
    """One security-relevant observation, whatever its source."""

    id: str  # unique per event: "<source>:<event or finding id>"
    source: Literal["cloudtrail", "config", "guardduty", "cloudwatch", "securityhub", "macie"]
    type: str  # CloudTrail eventName, Config rule name, GuardDuty or Macie finding type, Security Hub control id
    account: str
    region: str
    resource_type: str  # CloudFormation type, e.g. AWS::S3::Bucket
    resource_arn: str  # or "AWS::::Account:<id>" for account-level findings
    actor: str | None  # who caused it (principal ARN or GuardDuty user), when known
    time: str  # ISO 8601, when it happened
    severity: Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
    raw_ref: str  # how to find the original: CloudTrail eventID, Config rule ARN, GuardDuty or Security Hub finding ARN, Macie finding id
    # Source specifics a remediation may use. details["sample"] is True when the source marked the
    # finding a sample (a wiring test): triage answers it with what Warden would do, and nothing else.
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def sample(self) -> bool:
        return bool(self.details.get("sample"))

    @property
    def resource_name(self) -> str:
        """The last part of the ARN: a bucket name, a key id, an account id."""
        return re.split(r"[:/]", self.resource_arn)[-1]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def bounded(self, max_bytes: int = MAX_FINDING_BYTES) -> Finding:
        """This finding as the workflow state and the audit record carry it: at most `max_bytes` of
        JSON. Request parameters go first, largest first, and `details["truncated"]` says which.
        Only triage's ignore_reason reads them, on the whole finding, before this is called."""
        if _json_size(self.to_dict()) <= max_bytes:
            return self
        parameters = dict(self.details.get("requestParameters") or {})
        others = {k: v for k, v in self.details.items() if k != "requestParameters"}
        dropped: list[str] = []

        def trimmed(details: dict[str, Any]) -> Finding:
            marker = (
                f"Warden dropped {', '.join(dropped)} to keep the finding under {max_bytes} bytes "
                f"(the workflow state's limit is 256 KB); the whole event is in CloudTrail: {self.raw_ref}"
            )
            return replace(self, details={**details, "truncated": marker})

        while parameters:
            largest = max(parameters, key=lambda key: _json_size(parameters[key]))
            dropped.append(f"requestParameters.{largest} ({_json_size(parameters.pop(largest))} bytes)")
            candidate = trimmed({**others, "requestParameters": parameters})
            if _json_size(candidate.to_dict()) <= max_bytes:
                return candidate
        dropped.append(f"details ({_json_size(others)} bytes)")
        return trimmed({})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(**data)


def _json_size(value: Any) -> int:
    """Bytes of `value` as JSON in UTF-8, the way Step Functions counts a state."""
    return len(json.dumps(value, default=str, ensure_ascii=False).encode())


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def account_resource(account: str) -> str:
    return f"{ACCOUNT_RESOURCE_TYPE}:{account}"
