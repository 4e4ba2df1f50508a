"""Restart CloudTrail logging that was stopped: stopping the audit trail is defence evasion.

Only StartLogging on the named trail; a deleted trail (DeleteTrail) is out of scope and ends as
resource-gone.
"""

from __future__ import annotations

from typing import Any

from warden.findings import Finding
from warden.remediations.base import Change, Remediation, Triggers, apply_in_order, aws_errors, register

TRAIL_GONE = ("TrailNotFoundException",)


@register
class RestartTrailLogging(Remediation):
    name = "cloudtrail-restart-logging"
    family = "encryption"
    resource_type = "AWS::CloudTrail::Trail"
    triggers = Triggers(
        cloudtrail_events=("StopLogging",),
        guardduty_types=("Stealth:IAMUser/CloudTrailLoggingDisabled",),
    )
    permissions = ("cloudtrail:GetTrailStatus", "cloudtrail:StartLogging")
    verify_permissions = ("cloudtrail:GetTrailStatus",)
    rollback_permissions = ("cloudtrail:GetTrailStatus", "cloudtrail:StopLogging")
    tag_permissions = ("cloudtrail:ListTags",)

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        with aws_errors(TRAIL_GONE, "the trail"):
            listing = aws.client("cloudtrail").list_tags(ResourceIdList=[finding.resource_arn])["ResourceTagList"]
        return {t["Key"]: t["Value"] for entry in listing for t in entry.get("TagsList", [])}

    def _is_logging(self, finding: Finding, aws) -> bool:
        with aws_errors(TRAIL_GONE, "the trail"):
            return aws.client("cloudtrail").get_trail_status(Name=finding.resource_arn)["IsLogging"]

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        return {"is_logging": self._is_logging(finding, aws)}

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        if before["is_logging"]:
            return []
        return [
            Change(
                "cloudtrail:StartLogging",
                "Trail logging restarted: stopped -> logging (events during the gap are not recovered; "
                "check Event history for what happened meanwhile)",
                f"aws cloudtrail stop-logging --name {finding.resource_arn}",
            )
        ]

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        trail = aws.client("cloudtrail")
        return {"applied": apply_in_order(changes, lambda c: trail.start_logging(Name=finding.resource_arn), TRAIL_GONE)}

    def verify(self, finding: Finding, aws, result: dict[str, Any] | None = None) -> list[str]:
        return [] if self._is_logging(finding, aws) else ["the trail is still not logging"]

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        if not before["is_logging"]:
            aws.client("cloudtrail").stop_logging(Name=finding.resource_arn)
