"""The audit trail: one DynamoDB item per finding, written at each step of the workflow.

The item keeps the decision, the before-snapshot (enough to roll back exactly), the changes,
the verification and the outcome, and under `marks` the authorization marks of the steps that
write their mark with their record (warden.authorization.Mark). Snapshots are stored as JSON strings: DynamoDB has no floats
and policies are documents, not attributes anyone queries.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from itertools import islice
from typing import Any, Iterator

from botocore.exceptions import ClientError

from warden.aws import client
from warden.observability import logger

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


class ClaimHeld(Exception):
    """record_decision's claim was refused (another finding holds the window): nothing was written."""

    def __init__(self, held: dict):
        super().__init__("the dedupe window is held")
        self.held = held  # the holder's raw item


# A transaction cancelled only because another one wrote the same item meanwhile is tried again.
TRANSACTION_CONFLICT_TRIES = 3


def record_decision(
    finding: dict, decision: str, reason: str, remediation: str | None, execution: str | None, claim: dict | None = None, **extra: Any
) -> dict[str, Any] | None:
    """The finding's first record; None when it was written. If the finding already has one (a
    redelivery or a replay of the same event), that record is never overwritten and is returned
    instead (and `claim` is not written either): the caller records its attempt (record_attempt).
    `claim`: a dedupe claim's Put (warden.dedupe.Pending.put), written with the record in one
    TransactWriteItems, both or neither; ClaimHeld when only the claim was refused. `extra`:
    further attributes, e.g. `owner` (warden.ownership); None ones are left out."""
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
    put = {
        "TableName": _table_name(),
        # `marks`: the steps' authorization marks (warden.authorization.Mark), added by their writes
        "Item": {**{k: _attribute(v) for k, v in item.items()}, "marks": {"M": {}}},
        "ConditionExpression": "attribute_not_exists(finding_id)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if claim is not None:
        return _record_with_claim(finding["id"], claim, put)
    try:
        _dynamodb().put_item(**put)
        return None
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        existing = error.response.get("Item")
    return decode_item(existing) if existing else read(finding["id"]) or {}


def _record_with_claim(finding_id: str, claim: dict, put: dict) -> dict[str, Any] | None:
    for attempt in range(1, TRANSACTION_CONFLICT_TRIES + 1):
        try:
            _dynamodb().transact_write_items(TransactItems=[claim, {"Put": put}])
            return None
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons") or []
            codes = [reason.get("Code") for reason in reasons]
            if "TransactionConflict" in codes and attempt < TRANSACTION_CONFLICT_TRIES:
                continue
            if codes[1:2] == ["ConditionalCheckFailed"]:  # the record first, as without a claim
                existing = reasons[1].get("Item")
                return decode_item(existing) if existing else read(finding_id) or {}
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise ClaimHeld(reasons[0].get("Item") or {}) from None
            raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def record_attempt(finding_id: str, mark: Any = None, **attempt: Any) -> None:
    """Append one attempt (a redelivery, a replay, a second run) to the record: never overwrites it.
    `mark`: a step's authorization mark (warden.authorization.Mark), written in this same request."""
    entry = {"at": _now(), **attempt}
    _write(
        finding_id,
        ["#attempts = list_append(if_not_exists(#attempts, :none), :attempt)"],
        {"#attempts": "attempts"},
        {":none": {"L": []}, ":attempt": {"L": [_attribute(entry)]}},
        None,
        mark,
    )


class AlreadyApplied(Exception):
    """The record already holds applied changes (or the first attempt's before-snapshot): kept as it is."""


def update(finding_id: str, condition: str | None = None, mark: Any = None, **fields: Any) -> None:
    """Add or overwrite attributes of a finding's record (changes, verification, outcome...).

    `condition`: "no-fix-yet" writes only while the record holds no applied changes and no failed
    fix (whose before-snapshot is the true before-state of its partial changes); "not-applied" only
    while it holds no applied changes. Otherwise AlreadyApplied is raised and nothing is written.
    `mark`: a step's authorization mark (warden.authorization.Mark), consumed by this same
    conditional request: a replay is refused (Unauthorized) and nothing is written."""
    fields["updated_at"] = _now()
    names = {f"#{k}": k for k in fields}
    values = {f":{k}": _attribute(v) for k, v in fields.items()}
    expression = None
    if condition == "no-fix-yet":
        names |= {"#applied": "applied", "#outcome": "outcome"}
        values[":failed"] = {"S": "failed"}
        expression = "attribute_not_exists(#applied) AND (attribute_not_exists(#outcome) OR #outcome <> :failed)"
    elif condition == "not-applied":  # applied changes are written once: a replay never replaces them
        names["#applied"] = "applied"
        expression = "attribute_not_exists(#applied)"
    elif condition is not None:
        raise ValueError(f"unknown audit condition {condition!r}")
    try:
        _write(finding_id, [f"#{k} = :{k}" for k in fields], names, values, expression, mark)
    except ClientError as error:
        if expression and error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise AlreadyApplied(f"the audit record of {finding_id} already holds a fix; it is kept as it is") from None
        raise


def _write(finding_id: str, sets: list[str], names: dict, values: dict, condition: str | None, mark: Any) -> None:
    """One UpdateItem. With a `mark`, the mark is set under `marks` in the same request, on its
    condition; the old values come back, so a failed attempt can undo exactly this write."""
    if mark is None:
        _dynamodb().update_item(
            TableName=_table_name(),
            Key={"finding_id": {"S": finding_id}},
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            **({"ConditionExpression": condition} if condition else {}),
        )
        return
    part = mark.in_record(_now())
    both = (lambda marked: f"({condition}) AND {marked}") if condition else (lambda marked: marked)
    try:
        old = _marked(finding_id, mark, [*sets, f"{part['path']} = :mark"], {**names, **part["names"]}, {**values, **part["values"]}, both(part["condition"]), bool(condition))
    except _NoMarks:  # a record written before marks were kept in it (an execution that spans a deploy)
        marks = {":marks": {"M": {part["names"]["#mark"]: part["values"][":mark"]}}}
        old = _marked(finding_id, mark, [*sets, "#marks = :marks"], {**names, "#marks": "marks"}, {**values, **marks}, both("attribute_not_exists(#marks)"), bool(condition))
    # A family step's failed attempt keeps its before-snapshot: only its mark is set failed.
    written = [] if mark.snapshot else [name for name in names.values() if mark.restores is None or name in mark.restores]
    mark.undo = lambda: _undo(finding_id, written, old, part)


class _NoMarks(Exception):
    pass


def _marked(finding_id: str, mark: Any, sets: list[str], names: dict, values: dict, condition: str, record_condition: bool) -> dict:
    """The update with its mark. Refused by the mark: a replay (Unauthorized); else by the record's
    own condition: AlreadyApplied."""
    try:
        return _dynamodb().update_item(
            TableName=_table_name(),
            Key={"finding_id": {"S": finding_id}},
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ).get("Attributes", {})
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == "ConditionalCheckFailedException":
            if not record_condition or mark.refuses(error.response.get("Item") or {}):
                raise mark.replay() from None
            raise AlreadyApplied(f"the audit record of {finding_id} already holds a fix; it is kept as it is") from None
        if code == "ValidationException" and "invalid for update" in str(error):  # no `marks` map to set the mark in
            raise _NoMarks() from None
        raise


def _undo(finding_id: str, written: list[str], old: dict, part: dict) -> None:
    """A failed attempt: the attributes it wrote back as they were, and its mark `failed`, so the
    workflow's retry may take it over (warden.authorization)."""
    names = {f"#w{i}": name for i, name in enumerate(written)}
    restore = [key for key, name in names.items() if name in old]
    remove = [key for key, name in names.items() if name not in old]
    expression = "SET " + ", ".join([part["failed"], *(f"{key} = :old{key[2:]}" for key in restore)])
    if remove:
        expression += " REMOVE " + ", ".join(remove)
    try:
        _dynamodb().update_item(
            TableName=_table_name(),
            Key={"finding_id": {"S": finding_id}},
            UpdateExpression=expression,
            ExpressionAttributeNames={**names, **{k: v for k, v in part["names"].items() if k in ("#marks", "#mark", "#state")}},
            ExpressionAttributeValues={":mark_failed": {"S": "failed"}, **{f":old{key[2:]}": old[names[key]] for key in restore}},
        )
    except ClientError as error:  # the step's own error is what matters; this one is only logged
        logger.warning("could not record the failed attempt", extra={"error": str(error)})


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
    if kind == "M":
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def history(resource_arn: str, limit: int = 25) -> list[dict[str, Any]]:
    """A resource's records, newest first (the by-resource index)."""
    items = by_resource(_dynamodb(), _table_name(), "resource_arn = :arn", {":arn": {"S": resource_arn}}, page_size=limit)
    return [decode_item(item) for item in islice(items, limit)]


BATCH_GET_KEYS = 100  # BatchGetItem's limit per request
BATCH_GET_TRIES = 6  # keys left unprocessed (throttling) are asked for again, 0.1 s to 1.6 s apart


def by_resource(dynamodb, table: str, key_condition: str, values: dict[str, Any], page_size: int = BATCH_GET_KEYS) -> Iterator[dict]:
    """A resource's raw items, newest first. The by-resource index projects keys only (template.yaml),
    so each page of at most `page_size` keys is read from the table with one BatchGetItem."""
    pages = dynamodb.get_paginator("query").paginate(
        TableName=table,
        IndexName="by-resource",
        KeyConditionExpression=key_condition,
        ExpressionAttributeValues=values,
        ScanIndexForward=False,
        PaginationConfig={"PageSize": max(1, min(page_size, BATCH_GET_KEYS))},
    )
    for page in pages:
        yield from _batch_get(dynamodb, table, [item["finding_id"]["S"] for item in page["Items"]])


def _batch_get(dynamodb, table: str, finding_ids: list[str]) -> list[dict]:
    """The items of `finding_ids`, in that order; one that expired (TTL) since the index listed it is left out."""
    found: dict[str, dict] = {}
    request = {table: {"Keys": [{"finding_id": {"S": finding_id}} for finding_id in finding_ids]}} if finding_ids else None
    tries = 0
    while request:
        if tries == BATCH_GET_TRIES:
            from warden.remediations.base import RetryLater  # only here: audit stays below the remediations

            raise RetryLater(f"BatchGetItem on {table} left {len(request[table]['Keys'])} record(s) unread after {tries} tries")
        if tries:
            time.sleep(0.05 * 2**tries)
        answer = dynamodb.batch_get_item(RequestItems=request)
        found.update({item["finding_id"]["S"]: item for item in answer["Responses"].get(table, [])})
        request = answer.get("UnprocessedKeys") or None
        tries += 1
    return [found[finding_id] for finding_id in finding_ids if finding_id in found]
