"""Restart CloudTrail logging that was stopped: stopping the audit trail is defence evasion.

Only StartLogging on the named trail; a deleted trail (DeleteTrail) is out of scope and ends as
resource-gone.
"""

from __future__ import annotations

from warden.finding import Finding
from warden.remediations.base import ToggleRemediation, Triggers, aws_errors, register

TRAIL_GONE = ("TrailNotFoundException",)


@register
class RestartTrailLogging(ToggleRemediation):
    name = "cloudtrail-restart-logging"
    summary = "start the trail logging again"
    verified_statement = "the trail is logging"
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

    snapshot_key = "is_logging"
    gone_codes = TRAIL_GONE
    change_action = "cloudtrail:StartLogging"
    change_summary = (
        "Trail logging restarted: stopped -> logging (events during the gap are not recovered; "
        "check Event history for what happened meanwhile)"
    )
    change_undo = "aws cloudtrail stop-logging --name {finding.resource_arn}"
    still_off = "the trail is still not logging"

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        with aws_errors(TRAIL_GONE, "the trail"):
            listing = aws.client("cloudtrail").list_tags(ResourceIdList=[finding.resource_arn])["ResourceTagList"]
        return {t["Key"]: t["Value"] for entry in listing for t in entry.get("TagsList", [])}

    def is_on(self, finding: Finding, aws) -> bool:
        with aws_errors(TRAIL_GONE, "the trail"):
            return aws.client("cloudtrail").get_trail_status(Name=finding.resource_arn)["IsLogging"]

    def turn_on(self, finding: Finding, aws) -> None:
        aws.client("cloudtrail").start_logging(Name=finding.resource_arn)

    def turn_off(self, finding: Finding, aws) -> None:
        aws.client("cloudtrail").stop_logging(Name=finding.resource_arn)
