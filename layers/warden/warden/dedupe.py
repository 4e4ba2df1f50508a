"""The dedupe window: the first finding about a resource and remediation claims it for a while, so
the same exposure reported by CloudTrail, Config and GuardDuty is fixed once.

A claim shortens work; it is never trusted to suppress a fix. Anyone with PutItem on the table
can write one, so:

- a claim whose expiry lies further ahead than one window from now was not written by Warden (or
  the window was shortened since): it is ignored, overwritten, and the decision's reason says so;
- a finding that meets a live claim still re-reads the resource (steps.triage), and fixes it again
  when it is exposed after the first fix finished.

One conditional PutItem per claim: the write succeeds when there is no claim, or the claim expired,
or it claims more than a window; otherwise the holder's claim comes back with the refusal.
(Powertools' Idempotency trusts the stored expiry, which is exactly what a forger controls.)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone

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
        held = dynamodb.get_item(TableName=_table(), Key={"id": {"S": key}}, ConsistentRead=True).get("Item") or {}
        return Claim(held.get("finding_id", {}).get("S", "an unnamed finding"), _number(held, "claimed_at"), _number(held, "expiration"))
    ignored = None
    if old and _number(old, "expiration") > limit and not take_over:
        ignored = (
            f"a dedupe record for this resource claimed to suppress fixes until {_when(_number(old, 'expiration'))}, "
            f"longer than the {window_seconds}s window: Warden did not write that, ignored it and replaced it"
        )
    return Claim(finding_id, now, limit, ignored)
