"""Keep customer-managed KMS keys usable and rotating.

A disabled key or one pending deletion makes every object, volume and model artifact encrypted
under it unreadable, and a deleted key loses them for good. AWS-managed keys are never touched
(AWS rejects the calls anyway); keys that are exempt or listed as intentionally retired are left
alone and reported.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from warden.finding import Finding
from warden.remediations.base import (
    Change,
    NotRemediable,
    Remediation,
    ToggleRemediation,
    Triggers,
    apply_in_order,
    aws_errors,
    register,
)

KEY_GONE = ("NotFoundException",)  # calls use the key id: the key is in the finding's own account


def _describe(finding: Finding, aws) -> dict[str, Any]:
    with aws_errors(KEY_GONE, "the key"):
        metadata = aws.client("kms").describe_key(KeyId=finding.resource_name)["KeyMetadata"]
    if metadata.get("KeyManager") != "CUSTOMER":
        raise NotRemediable(f"{finding.resource_arn} is an AWS-managed key; Warden only manages customer-managed keys")
    return metadata


def _key_tags(finding: Finding, aws) -> dict[str, str]:
    with aws_errors(KEY_GONE, "the key"):
        tags = aws.client("kms").list_resource_tags(KeyId=finding.resource_name).get("Tags", [])
    return {t["TagKey"]: t["TagValue"] for t in tags}


@register
class KeepKeyUsable(Remediation):
    name = "kms-keep-key-usable"
    summary = "enable the key, or cancel its scheduled deletion"
    verified_statement = "the key is enabled, not pending deletion"
    family = "encryption"
    resource_type = "AWS::KMS::Key"
    triggers = Triggers(
        cloudtrail_events=("DisableKey", "ScheduleKeyDeletion"),
        config_rules=("kms-cmk-not-scheduled-for-deletion",),
        securityhub_controls=("KMS.3",),
    )
    permissions = ("kms:DescribeKey", "kms:CancelKeyDeletion", "kms:EnableKey")
    verify_permissions = ("kms:DescribeKey",)
    rollback_permissions = ("kms:DescribeKey", "kms:DisableKey", "kms:ScheduleKeyDeletion")
    tag_permissions = ("kms:ListResourceTags",)

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        return _key_tags(finding, aws)

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        metadata = _describe(finding, aws)
        return {"key_state": metadata["KeyState"], "deletion_date": str(metadata.get("DeletionDate") or "") or None}

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        key, state = finding.resource_arn, before["key_state"]
        changes = []
        if state == "PendingDeletion":
            changes.append(
                Change(
                    "kms:CancelKeyDeletion",
                    f"Deletion of the key cancelled (was scheduled for {before['deletion_date']})",
                    f"aws kms schedule-key-deletion --key-id {key} --pending-window-in-days 30",
                )
            )
        if state in ("PendingDeletion", "Disabled"):
            changes.append(
                Change("kms:EnableKey", f"Key enabled: {state} -> Enabled", f"aws kms disable-key --key-id {key}")
            )
        return changes

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        kms = aws.client("kms")
        calls = {"kms:CancelKeyDeletion": kms.cancel_key_deletion, "kms:EnableKey": kms.enable_key}
        return {"applied": apply_in_order(changes, lambda c: calls[c.action](KeyId=finding.resource_name), KEY_GONE)}

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        return [] if fresh["key_state"] == "Enabled" else [f"the key is {fresh['key_state']}"]

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        kms = aws.client("kms")
        if before["key_state"] in ("Disabled", "PendingDeletion"):
            kms.disable_key(KeyId=finding.resource_name)
        if before["key_state"] == "PendingDeletion":
            kms.schedule_key_deletion(KeyId=finding.resource_name, PendingWindowInDays=_pending_days(before["deletion_date"]))


def _pending_days(deletion_date: str | None) -> int:
    """The waiting period that puts deletion back on (or near) its old date: KMS allows 7 to 30 days."""
    try:
        remaining = datetime.fromisoformat(deletion_date) - datetime.now(timezone.utc)
    except (TypeError, ValueError):
        return 30
    return max(7, min(30, math.ceil(remaining.total_seconds() / 86400)))


@register
class EnableKeyRotation(ToggleRemediation):
    name = "kms-enable-key-rotation"
    summary = "turn automatic key rotation on"
    verified_statement = "automatic key rotation is enabled"
    family = "encryption"
    resource_type = "AWS::KMS::Key"
    triggers = Triggers(
        cloudtrail_events=("DisableKeyRotation",),
        config_rules=("cmk-backing-key-rotation-enabled",),
        securityhub_controls=("KMS.4",),
    )
    permissions = ("kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation")
    verify_permissions = ("kms:GetKeyRotationStatus",)
    rollback_permissions = ("kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:DisableKeyRotation")
    tag_permissions = ("kms:ListResourceTags",)

    snapshot_key = "rotation_enabled"
    gone_codes = KEY_GONE
    change_action = "kms:EnableKeyRotation"
    change_summary = (
        "Automatic key rotation turned on: off -> on (yearly; old key material stays available for decryption)"
    )
    change_undo = "aws kms disable-key-rotation --key-id {finding.resource_arn}"
    still_off = "automatic key rotation is still off"

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        return _key_tags(finding, aws)

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        metadata = _describe(finding, aws)  # first: it refuses AWS-managed keys
        rotating = self.is_on(finding, aws)
        return {"rotation_enabled": rotating, "key_spec": metadata.get("KeySpec"), "key_state": metadata["KeyState"]}

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        if not before["rotation_enabled"] and before["key_spec"] != "SYMMETRIC_DEFAULT":
            raise NotRemediable(f"automatic rotation is not supported for {before['key_spec']} keys")
        return super().plan(finding, before)

    def is_on(self, finding: Finding, aws) -> bool:
        with aws_errors(KEY_GONE, "the key"):
            return aws.client("kms").get_key_rotation_status(KeyId=finding.resource_name)["KeyRotationEnabled"]

    def turn_on(self, finding: Finding, aws) -> None:
        aws.client("kms").enable_key_rotation(KeyId=finding.resource_name)

    def turn_off(self, finding: Finding, aws) -> None:
        aws.client("kms").disable_key_rotation(KeyId=finding.resource_name)
