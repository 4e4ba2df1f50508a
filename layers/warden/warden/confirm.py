"""A finding is a claim until its source confirms it.

Anyone allowed `states:StartExecution` or `events:PutEvents` can hand Warden an event. Most fixes
follow from the resource's live state, which Warden reads itself, so a forged event can at worst
make Warden fix a real exposure. A GuardDuty finding is different: revoking a role's sessions or
deactivating an access key follows from the finding alone. So before anything acts on one, triage
asks GuardDuty (GetFindings, with the detector named by the finding's ARN) whether the finding
exists, is not archived, is not a sample (CreateSampleFindings, which any PowerUser may call), and
names the same resource and type as the event.

A CloudWatch alarm is a claim anyone can make (PutMetricAlarm): only the alarms named in the
ThrottleAlarmNames stack parameter may act, and only as they are now (DescribeAlarms): in ALARM,
watching the resource the event names, and set so that ALARM means heavy traffic.

`verdict` returns (decision, reason) when a finding must be rejected or ignored, or None when its
source vouches for it; a source without a confirmer here needs none (its fixes follow from live state).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from botocore.exceptions import ClientError

from warden.finding import Finding
from warden.remediations.base import error_code

GUARDDUTY_FINDING_ARN = re.compile(
    r"^arn:aws[a-z-]*:guardduty:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):detector/(?P<detector>[0-9a-zA-Z]{1,300})/finding/[0-9a-zA-Z-]+$"
)
NO_DETECTOR = ("BadRequestException", "ResourceNotFoundException")


def _wire(value: Any, shape) -> Any:
    """A boto3-parsed value back in the service's JSON field names (the shape the event's detail
    has), so the confirmed finding goes through the very parser that read the event."""
    if value is None or shape is None:
        return value
    if shape.type_name == "structure":
        return {
            member.serialization.get("name", name): _wire(value[name], member)
            for name, member in shape.members.items()
            if name in value
        }
    if shape.type_name == "list":
        return [_wire(item, shape.member) for item in value]
    if shape.type_name == "map":
        return {key: _wire(item, shape.value) for key, item in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def is_sample(service: dict[str, Any]) -> bool:
    """GuardDuty marks findings made by CreateSampleFindings in service.additionalInfo: {"sample": true}."""
    info = service.get("AdditionalInfo") or {}
    try:
        value = json.loads(info.get("Value") or "{}")
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("sample") is True


def _guardduty(finding: Finding, aws) -> str | None:
    from warden.findings import RejectedEvent, parse_finding  # the parser (pydantic): Triage only

    arn = GUARDDUTY_FINDING_ARN.match(finding.raw_ref or "")
    if arn is None:
        return (
            f"the GuardDuty finding {finding.id} carries no finding ARN naming its detector (detail.arn), so Warden "
            "cannot confirm it with GuardDuty and does not act on it"
        )
    if (arn["account"], arn["region"]) != (finding.account, finding.region):
        return f"the finding ARN {finding.raw_ref} is from {arn['account']}/{arn['region']}, not {finding.account}/{finding.region}"
    finding_id, detector = finding.id.split(":", 1)[1], arn["detector"]
    guardduty = aws.client("guardduty")
    try:
        held = guardduty.get_findings(DetectorId=detector, FindingIds=[finding_id])["Findings"]
    except ClientError as error:
        if error_code(error) in NO_DETECTOR:
            return f"GuardDuty has no detector {detector} in {finding.account}/{finding.region} ({error_code(error)}): the event was not sent by GuardDuty"
        raise
    if not held:
        return f"GuardDuty holds no finding {finding_id} in detector {detector}: the event was not sent by GuardDuty"
    source = held[0]
    service = source.get("Service") or {}
    if service.get("Archived"):
        return f"GuardDuty finding {finding_id} is archived: someone decided it needs no action"
    if is_sample(service):
        return f"GuardDuty finding {finding_id} is a sample (CreateSampleFindings), not a detection"
    shape = guardduty.meta.service_model.operation_model("GetFindings").output_shape.members["Findings"].member
    envelope = {"detail-type": "GuardDuty Finding", "source": "aws.guardduty", "id": finding_id, "version": "0",
                "account": finding.account, "region": finding.region, "time": source.get("UpdatedAt"), "resources": [],
                "detail": _wire(source, shape)}  # fmt: skip
    try:
        confirmed = parse_finding(envelope)
    except RejectedEvent as unreadable:
        return f"GuardDuty's own finding {finding_id} does not name a resource Warden can act on ({unreadable})"
    claimed = (finding.type, finding.resource_type, finding.resource_arn)
    actual = (confirmed.type, confirmed.resource_type, confirmed.resource_arn)
    if claimed != actual:
        return (
            f"GuardDuty finding {finding_id} reports {confirmed.type} on {confirmed.resource_arn}, "
            f"not {finding.type} on {finding.resource_arn} as the event claims"
        )
    return None


# --- CloudWatch alarms: only the alarms the security team designated -----------------------------

ABUSE_COMPARISONS = ("GreaterThanThreshold", "GreaterThanOrEqualToThreshold")


@dataclass(frozen=True)
class Designation:
    """One alarm allowed to act (ThrottleAlarmNames): its exact name, and the least threshold it may have."""

    name: str
    min_threshold: float | None = None  # None: any threshold above 0

    @classmethod
    def parse(cls, entry: str) -> Designation:
        name, _, floor = entry.partition(">=")
        return cls(name.strip(), float(floor) if floor.strip() else None)


def designated_alarms(raw: str) -> dict[str, Designation]:
    """ThrottleAlarmNames: `name` or `name>=threshold`, comma-separated. A stack parameter, not the
    settings document: changing the stack needs IAM rights a PowerUser does not have."""
    return {d.name: d for d in (Designation.parse(e) for e in raw.split(",") if e.strip())}


def _live_metric(alarm: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    if alarm.get("MetricName"):
        return alarm.get("Namespace", ""), alarm["MetricName"], {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
    stat = next((q["MetricStat"]["Metric"] for q in alarm.get("Metrics", []) if q.get("MetricStat")), {})
    return stat.get("Namespace", ""), stat.get("MetricName", ""), {d["Name"]: d["Value"] for d in stat.get("Dimensions", [])}


def _cloudwatch(finding: Finding, aws, settings) -> tuple[str, str] | None:
    """The alarm, re-read now: designated, in ALARM, watching the resource the event names, and set
    to fire on heavy traffic only (not threshold <= 0 or below its pinned minimum, not on low
    traffic, not on missing data). Anyone may create or change an alarm; only these may act."""
    from warden.findings.alarms import alarm_resource  # the parser (pydantic): Triage only

    name = finding.details.get("alarm_name", "")
    designation = designated_alarms(settings.throttle_alarms).get(name)
    if designation is None:
        return "ignored", (
            f"alarm {name!r} is not one the security team designated to act (ThrottleAlarmNames): "
            "Warden leaves the resource alone"
        )
    alarms = aws.client("cloudwatch").describe_alarms(AlarmNames=[name], AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    if not alarms:
        return "ignored", f"the designated alarm {name!r} no longer exists: nothing to act on"
    alarm = alarms[0]
    if alarm.get("StateValue") != "ALARM":
        return "ignored", f"the designated alarm {name!r} is {alarm.get('StateValue')} now, not ALARM"
    namespace, metric, dimensions = _live_metric(alarm)
    try:
        _, watched, _ = alarm_resource(namespace, dimensions, finding.region, finding.account)
    except ValueError:
        watched = f"{namespace} {dimensions}"
    if f"{namespace}/{metric}" != finding.type or watched != finding.resource_arn:
        return "rejected", (
            f"the designated alarm {name!r} now watches {namespace}/{metric} on {watched}, not {finding.type} on "
            f"{finding.resource_arn} as the event says: someone changed or re-created it"
        )
    threshold, comparison = float(alarm.get("Threshold", 0)), alarm.get("ComparisonOperator", "")
    problems = []
    if comparison not in ABUSE_COMPARISONS:
        problems.append(f"it fires on {comparison}, not on traffic above a threshold")
    if threshold <= 0:
        problems.append(f"its threshold {threshold:g} is not above 0, so it fires on any traffic")
    elif designation.min_threshold is not None and threshold < designation.min_threshold:
        problems.append(f"its threshold {threshold:g} is below the {designation.min_threshold:g} it was designated with")
    if alarm.get("TreatMissingData") == "breaching":
        problems.append("it treats missing data as breaching, so it fires with no traffic at all")
    if problems:
        return "rejected", f"the designated alarm {name!r} cannot be trusted to mean abuse: {'; '.join(problems)}. Someone changed it; nothing was throttled"
    return None


CONFIRMERS: dict[str, Callable[[Finding, Any, Any], tuple[str, str] | None]] = {
    "guardduty": lambda finding, aws, settings: ("rejected", reason) if (reason := _guardduty(finding, aws)) else None,
    "cloudwatch": _cloudwatch,
}
PERMISSIONS = {"guardduty": ("guardduty:GetFindings",), "cloudwatch": ("cloudwatch:DescribeAlarms",)}  # Triage's calls here


def verdict(finding: Finding, aws, settings, required: bool = False) -> tuple[str, str] | None:
    """(decision, reason) when this finding must not be acted on as it stands, or None. `required`:
    the remediation acts on the finding alone, so a source that cannot be confirmed is refused too."""
    confirm = CONFIRMERS.get(finding.source)
    if confirm is not None:
        return confirm(finding, aws, settings)
    if required:
        return "rejected", f"this fix follows from the finding alone, and {finding.source} findings cannot be confirmed with their source"
    return None
