"""The dedupe window: the first finding about a resource and remediation claims it for a while, so
the same exposure reported by CloudTrail, Config and GuardDuty is fixed once.

A claim shortens work; it is never trusted to suppress a fix. Anyone with PutItem on the table
can write one, so:

- a claim whose expiry lies further ahead than one window from now was not written by Warden (or
  the window was shortened since): it is ignored, overwritten, and the decision's reason says so;
- a finding that meets a live claim still re-reads the resource (steps.triage), and fixes it again
  when it is exposed after the first fix finished.

Triage's claim for a fix (`Pending`) is written with the finding's audit record in one
TransactWriteItems (warden.audit.record_decision): one request instead of two, and no GetItem for
the holder, whose claim comes back with the refusal. DynamoDB bills a transactional write twice:
2 WRU for the claim (under 1 KB) and 2 per KB of the record, against 1 + 1 per KB as two PutItems;
the saving is a round trip, not capacity. A forged claim is seen in the refusal and replaced by a
second transaction, conditioned on exactly the expiry it saw.

`claim` (one conditional PutItem) serves the other claims: a deployer's revert, a take-over, and
a redelivered finding, whose record already exists. It succeeds when there is no claim, or the
claim expired, or it claims more than a window; otherwise the holder's claim comes back.
(Powertools' Idempotency trusts the stored expiry, which is exactly what a forger controls.)
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from warden.aws import client


@dataclass(frozen=True)
class Claim:
    holder: str  # the finding id holding the window (this finding's own id when it won the claim)
    claimed_at: int  # epoch seconds
    expires_at: int
    ignored: str | None = None  # a claim that was ignored as forged, described for the reason


def _table() -> str:
    return os.environ["WARDEN_DEDUPE_TABLE"]


def _when(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def _number(item: dict, name: str) -> int:
    try:
        return int(item[name]["N"])
    except (KeyError, TypeError, ValueError):
        return 0


def _forged(expiration: int, limit: int, window_seconds: int) -> str:
    return (
        f"a dedupe record for this resource claimed to suppress fixes until {_when(expiration)}, "
        f"longer than the {window_seconds}s window: Warden did not write that, ignored it and replaced it"
    )


def _holder(item: dict) -> Claim:
    return Claim(item.get("finding_id", {}).get("S", "an unnamed finding"), _number(item, "claimed_at"), _number(item, "expiration"))


@dataclass(frozen=True)
class Pending:
    """A claim written together with the finding's audit record (one transaction, warden.audit)."""

    key: str
    finding_id: str
    window_seconds: int
    now: int = field(default_factory=lambda: int(time.time()))
    forged_expiration: int | None = None  # set to replace the forged claim seen with this expiry

    @property
    def limit(self) -> int:
        return self.now + self.window_seconds

    def put(self) -> dict[str, Any]:
        """The TransactWriteItems Put: no live claim, or exactly the forged one seen."""
        if self.forged_expiration is None:
            condition, values = "attribute_not_exists(id) OR expiration <= :now", {":now": {"N": str(self.now)}}
        else:
            condition, values = "expiration = :forged", {":forged": {"N": str(self.forged_expiration)}}
        item = {
            "id": {"S": self.key},
            "finding_id": {"S": self.finding_id},
            "claimed_at": {"N": str(self.now)},
            "expiration": {"N": str(self.limit)},  # the table's TTL attribute
        }
        return {"Put": {"TableName": _table(), "Item": item, "ConditionExpression": condition,
                        "ExpressionAttributeValues": values, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}  # fmt: skip

    def refused_by(self, held: dict) -> Claim:
        """The claim that refused this one (the refusal's item). A forged one (more than a window
        ahead) comes back with `ignored` set: replace it with `replacing(claim)`."""
        holder = _holder(held)
        if holder.expires_at > self.limit:
            return dataclasses.replace(holder, ignored=_forged(holder.expires_at, self.limit, self.window_seconds))
        return holder

    def replacing(self, forged: Claim) -> Pending:
        return dataclasses.replace(self, forged_expiration=forged.expires_at)


def claim(key: str, finding_id: str, window_seconds: int, now: int | None = None, take_over: bool = False) -> Claim:
    """Claim `key` for `finding_id` for `window_seconds`; the live claim of another finding otherwise.
    `take_over`: replace a live claim (after a re-exposed resource was fixed again)."""
    now = int(time.time()) if now is None else now
    limit = now + window_seconds
    item = {
        "id": {"S": key},
        "finding_id": {"S": finding_id},
        "claimed_at": {"N": str(now)},
        "expiration": {"N": str(limit)},  # the table's TTL attribute
    }
    condition = {} if take_over else {
        "ConditionExpression": "attribute_not_exists(id) OR expiration <= :now OR expiration > :limit",
        "ExpressionAttributeValues": {":now": {"N": str(now)}, ":limit": {"N": str(limit)}},
    }  # fmt: skip
    dynamodb = client("dynamodb")
    try:
        old = dynamodb.put_item(TableName=_table(), Item=item, ReturnValues="ALL_OLD", **condition).get("Attributes") or {}
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return _holder(dynamodb.get_item(TableName=_table(), Key={"id": {"S": key}}, ConsistentRead=True).get("Item") or {})
    ignored = None
    if old and _number(old, "expiration") > limit and not take_over:
        ignored = _forged(_number(old, "expiration"), limit, window_seconds)
    return Claim(finding_id, now, limit, ignored)
