"""Amazon Bedrock model invocation logging deleted or weakened: put the last good configuration back.

Invocation logging (one configuration per account and region) is the record of every prompt and
response; deleting it is how an attacker hides model abuse. The deletion's CloudTrail event carries
no parameters and Bedrock keeps no history, so the configuration to restore comes from Warden's own
audit trail: the newest good configuration it saw set (each PutModelInvocationLoggingConfiguration
event is recorded, acted on or not), or the one it restored before. A configuration is weaker than
that one when logging is gone, a destination (S3, CloudWatch Logs) is gone, or a kind of data
(text, image, embedding, video) is no longer delivered. With no good configuration on record,
Warden does not invent one: a person decides. Nor does it restore a CloudWatch Logs destination,
which would pass the destination's delivery role to Bedrock: no Warden role may pass roles.
"""

from __future__ import annotations

import json
from typing import Any

from warden.finding import Finding
from warden.remediations.base import Change, NeedsDecision, Remediation, Triggers, apply_in_order, register

DELIVERY_FLAGS = ("textDataDeliveryEnabled", "imageDataDeliveryEnabled", "embeddingDataDeliveryEnabled", "videoDataDeliveryEnabled")
DESTINATIONS = ("s3Config", "cloudWatchConfig")


def _config(value: Any) -> dict[str, Any] | None:
    """A logging configuration, or None when logging is off (Bedrock answers an empty object after a delete)."""
    return value if isinstance(value, dict) and any(value.get(d) for d in DESTINATIONS) else None


def good(config: dict[str, Any] | None) -> bool:
    """Text is delivered to at least one destination: the least that makes model use auditable."""
    return bool(config and config.get("textDataDeliveryEnabled") and any(config.get(d) for d in DESTINATIONS))


def weakened(current: dict[str, Any] | None, reference: dict[str, Any]) -> list[str]:
    """What `current` no longer does that `reference` did, in words; empty when nothing is lost."""
    if current is None:
        return ["invocation logging is off (no configuration)"]
    lost = [f"no longer delivers to {d}" for d in DESTINATIONS if reference.get(d) and not current.get(d)]
    lost += [f"{flag} turned off" for flag in DELIVERY_FLAGS if reference.get(flag) and not current.get(flag)]
    return lost


def describe(config: dict[str, Any] | None) -> str:
    if config is None:
        return "off"
    places = []
    if config.get("s3Config"):
        s3 = config["s3Config"]
        places.append(f"s3://{s3.get('bucketName')}/{s3.get('keyPrefix', '')}")
    if config.get("cloudWatchConfig"):
        places.append(f"log group {config['cloudWatchConfig'].get('logGroupName')}")
    kinds = [flag.removesuffix("DataDeliveryEnabled") for flag in DELIVERY_FLAGS if config.get(flag)]
    return f"to {' and '.join(places)} ({', '.join(kinds) or 'no data kinds'})"


def last_good(resource_arn: str, exclude: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the newest good configuration in Warden's audit trail for this account and region, where it came from)."""
    from warden import audit

    for record in audit.history(resource_arn, limit=50):
        if record.get("finding_id") == exclude:
            continue
        requested = ((record.get("finding") or {}).get("details") or {}).get("requestParameters") or {}
        for config, how in ((requested.get("loggingConfig"), "set by"), (((record.get("after_snapshot") or {}).get("logging_config")), "restored by")):
            if good(_config(config)):
                return config, f"the configuration {how} {record.get('actor') or 'Warden'} in finding {record['finding_id']} ({record.get('recorded_at', '?')[:19]})"
    return None, None


@register
class RestoreInvocationLogging(Remediation):
    name = "bedrock-restore-invocation-logging"
    summary = "put Bedrock model invocation logging back to the configuration Warden last saw set"
    verified_statement = "Bedrock model invocation logging is on, delivered where it was, in {finding.region}"
    family = "encryption"
    resource_type = "AWS::Bedrock::ModelInvocationLoggingConfiguration"
    triggers = Triggers(cloudtrail_events=("DeleteModelInvocationLoggingConfiguration", "PutModelInvocationLoggingConfiguration"))
    # dynamodb:Query and BatchGetItem read the audit trail. No iam:PassRole: no Warden role may pass roles (a CloudWatch Logs
    # destination's delivery role), so a configuration with one is handed to a person (see plan).
    permissions = (
        "bedrock:GetModelInvocationLoggingConfiguration",
        "bedrock:PutModelInvocationLoggingConfiguration",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
    )
    verify_permissions = ("bedrock:GetModelInvocationLoggingConfiguration",)
    rollback_permissions = (
        "bedrock:GetModelInvocationLoggingConfiguration",
        "bedrock:PutModelInvocationLoggingConfiguration",
        "bedrock:DeleteModelInvocationLoggingConfiguration",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
    )
    volatile_snapshot_keys = ("restore", "restore_source")

    def ignore_reason(self, finding: Finding) -> str | None:
        config = _config((finding.details.get("requestParameters") or {}).get("loggingConfig"))
        if finding.type == "PutModelInvocationLoggingConfiguration" and good(config):
            return f"this call set invocation logging {describe(config)}; Warden keeps it on record to restore it if it is deleted"
        return None

    def _read(self, aws) -> dict[str, Any] | None:
        return _config(aws.client("bedrock").get_model_invocation_logging_configuration().get("loggingConfig"))

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        restore, source = last_good(finding.resource_arn, exclude=finding.id)
        return {"logging_config": self._read(aws), "restore": restore, "restore_source": source}

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        current, restore = before["logging_config"], before["restore"]
        if restore is None:
            if good(current):
                return []
            raise NeedsDecision(
                f"Bedrock model invocation logging in {finding.region} is {describe(current)} and Warden has no earlier good "
                "configuration on record (it learns one from each PutModelInvocationLoggingConfiguration event it sees). "
                "Nothing was changed. Put it back: aws bedrock put-model-invocation-logging-configuration --logging-config "
                "file://logging.json (text delivery on, to an S3 bucket and/or a CloudWatch Logs group)."
            )
        lost = weakened(current, restore)
        if not lost:
            return []
        if restore.get("cloudWatchConfig"):
            raise NeedsDecision(
                f"Bedrock model invocation logging in {finding.region} is {describe(current)} ({'; '.join(lost)}). The "
                f"configuration to restore ({before['restore_source']}) delivers to CloudWatch Logs through role "
                f"{restore['cloudWatchConfig'].get('roleArn')}, and putting it back passes that role to Bedrock, which no Warden "
                "role may do (no iam:PassRole). Nothing was changed. Put it back yourself: aws bedrock "
                f"put-model-invocation-logging-configuration --logging-config '{json.dumps(restore)}'"
            )
        undo = (
            "aws bedrock delete-model-invocation-logging-configuration"
            if current is None
            else f"aws bedrock put-model-invocation-logging-configuration --logging-config '{json.dumps(current)}'"
        )
        return [
            Change(
                "bedrock:PutModelInvocationLoggingConfiguration",
                f"Model invocation logging restored in {finding.region}: {describe(current)} -> {describe(restore)} "
                f"({'; '.join(lost)}; configuration from {before['restore_source']})",
                undo,
                {"loggingConfig": restore},
            )
        ]

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        bedrock = aws.client("bedrock")
        return {"applied": apply_in_order(changes, lambda c: bedrock.put_model_invocation_logging_configuration(**c.params), ())}

    def read_exposure(self, finding: Finding, aws) -> dict[str, Any]:
        return {"logging_config": self._read(aws)}

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        current = fresh["logging_config"]
        restored = next((c["params"]["loggingConfig"] for c in (result or {}).get("changes") or []), None)
        if restored:
            return weakened(current, restored)
        return [] if good(current) else [f"invocation logging is {describe(current)}"]

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        bedrock = aws.client("bedrock")
        if before["logging_config"] is None:
            bedrock.delete_model_invocation_logging_configuration()
        else:
            bedrock.put_model_invocation_logging_configuration(loggingConfig=before["logging_config"])
