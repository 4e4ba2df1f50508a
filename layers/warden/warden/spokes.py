"""Organization mode: notice a member account whose spoke stopped forwarding.

Each spoke sends the hub an hourly heartbeat (a scheduled rule targeting the hub bus, spoke.yaml).
`record` keeps the time of each account's last heartbeat; `check` (hourly, in the hub) lists the
organization's active accounts and tells on-call, once, about every account not heard from for
WARDEN_SPOKE_SILENCE_SECONDS: its spoke stack was deleted or its rules disabled, or the account
joined and the StackSet has not reached it. An account heard from again is reported once too.

Heartbeats are kept in the dedupe table under `spoke-heartbeat#<account>` (no expiry): a hub with
1,000 member accounts reads them with 10 BatchGetItem calls an hour.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from typing import Any

from warden.aws import client

SILENCE_SECONDS_DEFAULT = 3 * 3600  # three missed hourly heartbeats
KEY = "spoke-heartbeat#{}"
BATCH = 100  # BatchGetItem's limit


def _table() -> str:
    return os.environ["WARDEN_DEDUPE_TABLE"]


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def record(event: dict[str, Any]) -> dict[str, Any]:
    """A heartbeat arrived from a member's spoke: remember when, and whether it had been reported silent."""
    account = event["account"]
    now = time.time()
    previous = client("dynamodb").update_item(
        TableName=_table(),
        Key={"id": {"S": KEY.format(account)}},
        UpdateExpression="SET last_seen = :now REMOVE reported_silent_at",
        ExpressionAttributeValues={":now": {"N": str(int(now))}},
        ReturnValues="ALL_OLD",
    ).get("Attributes", {})
    if "reported_silent_at" in previous:
        _publish(
            "Warden: spoke forwarding again",
            f"The Warden spoke in account {account} is forwarding events to the hub again "
            f"(heartbeat at {_iso(now)}; reported silent at {_iso(int(previous['reported_silent_at']['N']))}).",
            "LOW",
        )
    return {"account": account, "last_seen": _iso(now)}


def _active_accounts() -> dict[str, str]:
    accounts = {}
    for page in client("organizations").get_paginator("list_accounts").paginate():
        accounts.update({a["Id"]: a.get("Name", "") for a in page["Accounts"] if a.get("Status", "ACTIVE") == "ACTIVE"})
    return accounts


def _heartbeats(accounts: list[str]) -> dict[str, dict]:
    dynamodb, found = client("dynamodb"), {}
    for start in range(0, len(accounts), BATCH):
        keys = [{"id": {"S": KEY.format(a)}} for a in accounts[start : start + BATCH]]
        request = {_table(): {"Keys": keys}}
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            for item in answer["Responses"].get(_table(), []):
                found[item["id"]["S"].split("#", 1)[1]] = item
            request = answer.get("UnprocessedKeys") or None
    return found


def check(now: float | None = None) -> dict[str, Any]:
    """Report, once each, the active accounts whose spoke has been silent too long."""
    now = now or time.time()
    silence = int(os.environ.get("WARDEN_SPOKE_SILENCE_SECONDS", SILENCE_SECONDS_DEFAULT))
    hub = os.environ.get("WARDEN_ACCOUNT_ID")
    accounts = {a: n for a, n in _active_accounts().items() if a != hub}
    heartbeats = _heartbeats(sorted(accounts))
    dynamodb, silent = client("dynamodb"), []
    for account, name in sorted(accounts.items()):
        item = heartbeats.get(account)
        if item is None:
            # First sight of the account: start its clock, so a new account gets the StackSet's time to arrive.
            dynamodb.put_item(TableName=_table(), Item={"id": {"S": KEY.format(account)}, "last_seen": {"N": str(int(now))}, "first_watched": {"BOOL": True}})
            continue
        last = int(item["last_seen"]["N"])
        if now - last < silence or "reported_silent_at" in item:
            continue
        dynamodb.update_item(
            TableName=_table(),
            Key={"id": {"S": KEY.format(account)}},
            UpdateExpression="SET reported_silent_at = :now",
            ExpressionAttributeValues={":now": {"N": str(int(now))}},
        )
        never = "first_watched" in item
        silent.append(f"  {account} ({name}): {'no heartbeat since Warden started watching it' if never else 'last heartbeat'} at {_iso(last)}")
    if silent:
        _publish(
            f"Warden: {len(silent)} spoke(s) stopped forwarding",
            "These member accounts' Warden spokes have not sent a heartbeat for "
            f"{silence // 60} minutes, so Warden no longer sees their events and fixes nothing there:\n"
            + "\n".join(silent)
            + "\n\nWHAT TO DO\n  Check the spoke stack instance in each account (aws cloudformation list-stack-instances "
            "--stack-set-name warden-spoke --call-as DELEGATED_ADMIN): deleted, drifted (rules disabled), or not yet deployed.",
            "HIGH",
        )
    return {"accounts": len(accounts), "silent": len(silent)}


def _publish(subject: str, body: str, severity: str) -> None:
    client("sns").publish(
        TopicArn=os.environ["WARDEN_TOPIC_ARN"],
        Subject=subject[:100],
        Message=body,
        MessageAttributes={
            "severity": {"DataType": "String", "StringValue": severity},
            "outcome": {"DataType": "String", "StringValue": "spoke-health"},
            "remediation": {"DataType": "String", "StringValue": "none"},
        },
    )
