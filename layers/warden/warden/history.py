"""What Warden did: audit records filtered by resource, remediation, outcome and time, newest first.

    records(dynamodb, table, resource="arn:aws:s3:::ml-*", outcome="remediated", since=week_ago)

A resource given exactly is a Query of the `by-resource` index (its time range in the key
condition), which stops as soon as enough records match; the index holds keys only, so each page of
keys is read from the table with one BatchGetItem. A pattern, or no resource, is a Scan of the
table, paginated to the end, then sorted (the audit table holds one item per finding for
AuditRetentionDays, so a scan stays small). Remediation and resource accept shell patterns
(`iam-*`); so does account (a hub's audit table holds every member account's records). Outcome matches the notified outcome, the triage decision (`dry-run`, `ignored`,
`exempt`...), or `rolled-back` for fixes that were rolled back.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from warden.audit import by_resource, decode_item

PATTERN_CHARACTERS = re.compile(r"[*?\[]")
ACCOUNT_FILTER = re.compile(r"^[0-9*?]{1,12}$")
ROLLED_BACK = "rolled-back"


def status(record: dict[str, Any]) -> str:
    """One word for what became of a finding: rolled-back, else the outcome, else the decision."""
    if record.get("rolled_back_at"):
        return ROLLED_BACK
    return record.get("outcome") or record.get("decision") or "unknown"


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """`2026-11-01`, `2026-11-01T08:00:00Z` (UTC unless stated), or an age: `90m`, `24h`, `7d`."""
    now = now or datetime.now(timezone.utc)
    age = re.fullmatch(r"(\d+)([mhd])", text.strip())
    if age:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[age.group(2)]
        return now - timedelta(**{unit: int(age.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is neither a date (2026-11-01), a time (2026-11-01T08:00:00Z) nor an age (24h, 7d)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _stamp(moment: datetime) -> str:
    # recorded_at is written as UTC ISO with milliseconds (audit._now), so strings compare as times.
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _matches(pattern: str | None, value: str | None) -> bool:
    return pattern is None or (value is not None and fnmatch.fnmatchcase(value, pattern))


def _outcome_matches(outcome: str | None, record: dict[str, Any]) -> bool:
    if outcome is None:
        return True
    return outcome in {record.get("outcome"), record.get("decision"), status(record)}


def records(
    dynamodb,
    table: str,
    *,
    resource: str | None = None,
    remediation: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    account: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The matching audit records, newest first, at most `limit`."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if account is not None and not ACCOUNT_FILTER.match(account):
        raise ValueError(f"--account takes a 12-digit account id or a pattern of digits such as '1111*', not {account!r}")
    exact_resource = resource is not None and not PATTERN_CHARACTERS.search(resource)
    pages = _query(dynamodb, table, resource, since, until, limit) if exact_resource else _scan(dynamodb, table, since, until)
    found = []
    for item in pages:
        record = decode_item(item)
        if (
            _matches(resource, record.get("resource_arn"))
            and _matches(remediation, record.get("remediation"))
            and _matches(account, record.get("account"))
            and _outcome_matches(outcome, record)
        ):
            found.append(record)
            if exact_resource and len(found) == limit:
                break  # the index returns newest first: nothing later can be newer
    found.sort(key=lambda r: r.get("recorded_at", ""), reverse=True)
    return found[:limit]


def _time_condition(since: datetime | None, until: datetime | None, values: dict[str, Any]) -> str | None:
    if since and until:
        values.update({":since": {"S": _stamp(since)}, ":until": {"S": _stamp(until)}})
        return "recorded_at BETWEEN :since AND :until"
    if since:
        values[":since"] = {"S": _stamp(since)}
        return "recorded_at >= :since"
    if until:
        values[":until"] = {"S": _stamp(until)}
        return "recorded_at <= :until"
    return None


def _query(dynamodb, table: str, resource: str, since, until, page_size: int) -> Iterator[dict]:
    values: dict[str, Any] = {":arn": {"S": resource}}
    time_condition = _time_condition(since, until, values)
    condition = "resource_arn = :arn" + (f" AND {time_condition}" if time_condition else "")
    return by_resource(dynamodb, table, condition, values, page_size=page_size)


def _scan(dynamodb, table: str, since, until) -> Iterator[dict]:
    values: dict[str, Any] = {}
    time_condition = _time_condition(since, until, values)
    options = {"FilterExpression": time_condition, "ExpressionAttributeValues": values} if time_condition else {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, **options):
        yield from page["Items"]
