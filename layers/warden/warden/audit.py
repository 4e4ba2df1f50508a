"""The audit trail: one DynamoDB item per finding, written at each step of the workflow.

The item keeps the decision, the before-snapshot (enough to roll back exactly), the changes,
the verification and the outcome. Snapshots are stored as JSON strings: DynamoDB has no floats
and policies are documents, not attributes anyone queries.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from warden.aws import client

RETENTION_DAYS_DEFAULT = 365


def _table_name() -> str:
    return os.environ["WARDEN_AUDIT_TABLE"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _dynamodb():
    return client("dynamodb")


def _attribute(value: Any) -> dict:
    if value is None:
        return {"NULL": True}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    return {"S": json.dumps(value, default=str)}


def record_decision(
    finding: dict, decision: str, reason: str, remediation: str | None, execution: str | None, **extra: Any
) -> dict[str, Any] | None:
    """The finding's first record; None when it was written. If the finding already has one (a
    redelivery or a replay of the same event), that record is never overwritten and is returned
    instead: the caller records its attempt (record_attempt). `extra`: further attributes, e.g.
    `owner` (warden.ownership); None ones are left out."""
    retention_days = int(os.environ.get("WARDEN_AUDIT_RETENTION_DAYS", RETENTION_DAYS_DEFAULT))
    item = {
        "finding_id": finding["id"],
        "recorded_at": _now(),
        "resource_arn": finding["resource_arn"],
        "account": finding["account"],
        "region": finding["region"],
        "source": finding["source"],
        # "sweep" when python -m warden_ops sweep found it in what the source holds, else "event"
        "found_by": (finding.get("details") or {}).get("found_by", "event"),
        "trigger": finding["type"],
        "actor": finding.get("actor"),
        "remediation": remediation or "none",
        "decision": decision,
        "reason": reason,
        "execution": execution,
        "finding": finding,
        "expires_at": int(time.time()) + retention_days * 86400,
        **{k: v for k, v in extra.items() if v is not None},
    }
    try:
        _dynamodb().put_item(
            TableName=_table_name(),
            Item={k: _attribute(v) for k, v in item.items()},
            ConditionExpression="attribute_not_exists(finding_id)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return None
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        existing = error.response.get("Item")
    return decode_item(existing) if existing else read(finding["id"]) or {}


def record_attempt(finding_id: str, **attempt: Any) -> None:
    """Append one attempt (a redelivery, a replay, a second run) to the record: never overwrites it."""
    entry = {"at": _now(), **attempt}
    _dynamodb().update_item(
        TableName=_table_name(),
        Key={"finding_id": {"S": finding_id}},
        UpdateExpression="SET #attempts = list_append(if_not_exists(#attempts, :none), :attempt)",
        ExpressionAttributeNames={"#attempts": "attempts"},
        ExpressionAttributeValues={":none": {"L": []}, ":attempt": {"L": [_attribute(entry)]}},
    )


class AlreadyApplied(Exception):
    """The record already holds applied changes (or the first attempt's before-snapshot): kept as it is."""


def update(finding_id: str, condition: str | None = None, **fields: Any) -> None:
    """Add or overwrite attributes of a finding's record (changes, verification, outcome...).

    `condition`: "no-fix-yet" writes only while the record holds no applied changes and no failed
    fix (whose before-snapshot is the true before-state of its partial changes); "not-applied" only
    while it holds no applied changes. Otherwise AlreadyApplied is raised and nothing is written."""
    fields["updated_at"] = _now()
    names = {f"#{k}": k for k in fields}
    values = {f":{k}": _attribute(v) for k, v in fields.items()}
    conditional: dict[str, Any] = {}
    if condition == "no-fix-yet":
        names |= {"#applied": "applied", "#outcome": "outcome"}
        values[":failed"] = {"S": "failed"}
        conditional["ConditionExpression"] = "attribute_not_exists(#applied) AND (attribute_not_exists(#outcome) OR #outcome <> :failed)"
    elif condition == "not-applied":  # applied changes are written once: a replay never replaces them
        names["#applied"] = "applied"
        conditional["ConditionExpression"] = "attribute_not_exists(#applied)"
    elif condition is not None:
        raise ValueError(f"unknown audit condition {condition!r}")
    try:
        _dynamodb().update_item(
            TableName=_table_name(),
            Key={"finding_id": {"S": finding_id}},
            UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in fields),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            **conditional,
        )
    except ClientError as error:
        if conditional and error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise AlreadyApplied(f"the audit record of {finding_id} already holds a fix; it is kept as it is") from None
        raise


def read(finding_id: str) -> dict[str, Any] | None:
    """One record with its JSON attributes decoded (for rollback, history and tests)."""
    item = _dynamodb().get_item(TableName=_table_name(), Key={"finding_id": {"S": finding_id}}).get("Item")
    return None if item is None else {k: _decode(v) for k, v in item.items()}


def decode_item(item: dict) -> dict[str, Any]:
    """A raw DynamoDB item (as GetItem, Query and Scan return it) as a record with JSON decoded."""
    return {k: _decode(v) for k, v in item.items()}


def _decode(attribute: dict) -> Any:
    kind, value = next(iter(attribute.items()))
    if kind == "NULL":
        return None
    if kind == "N":
        return int(value)
    if kind == "BOOL":
        return value
    if kind == "L":
        return [_decode(item) for item in value]
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def history(resource_arn: str, limit: int = 25) -> list[dict[str, Any]]:
    """A resource's records, newest first (the by-resource index)."""
    items = _dynamodb().query(
        TableName=_table_name(),
        IndexName="by-resource",
        KeyConditionExpression="resource_arn = :arn",
        ExpressionAttributeValues={":arn": {"S": resource_arn}},
        ScanIndexForward=False,
        Limit=limit,
    )["Items"]
    return [{k: _decode(v) for k, v in item.items()} for item in items]
