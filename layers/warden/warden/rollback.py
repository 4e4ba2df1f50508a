"""Undo one of Warden's fixes: put the resource back to its before-snapshot, exactly.

    rollback("cloudtrail:3f2c...")               -> {"status": "rolled-back", "message": ..., ...}
    rollback("cloudtrail:3f2c...", force=True)   # also when the resource changed since the fix

The audit record of the finding holds the before-snapshot (taken before anything was changed) and
the after-snapshot (taken right after the fix). Before restoring, the resource is read again: if it
no longer matches the after-snapshot, someone changed it since Warden's fix, and restoring the
before-state would silently throw their change away, so the rollback is refused with the
differences unless forced. After restoring, the resource is read once more and compared with the
before-snapshot, so the answer says whether the restore is exact.

The outcome is written to the original audit record (`rolled_back_at` and a `rollback` map with
who asked, whether it was forced, the drift and the state it overwrote); refused attempts change
nothing and are only logged. Each remediation's `rollback` method does the restoring; the Rollback
function's role grants exactly their `rollback_permissions`, and no event can start it.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from warden import audit, authorization, registry
from warden.aws import Aws, for_finding, own_account
from warden.finding import Finding
from warden.observability import logger, metrics
from warden.remediations.base import Remediation, ResourceGone, WardenError

VALUE_LIMIT = 300  # characters of one value shown in a difference

# Warden's rollback calls are caused by one of its roles, so triage ignores their CloudTrail events;
# AWS Config and GuardDuty report the exposure again later, and Warden would fix it again.
RECURRENCE_WARNING = (
    "AWS Config or GuardDuty may report this exposure again, and Warden will then fix it again. "
    "If the previous state is intended, exempt the resource (tag it with the exempt tag, e.g. "
    "'until=2027-01-31; reason=...') or set this remediation's mode to off in the settings."
)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= VALUE_LIMIT else text[: VALUE_LIMIT - 3] + "..."


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where two snapshots differ, one line each, as deep as the difference goes:
    "policy.Statement: added {...}", "public_access_block.BlockPublicAcls: true -> false"."""
    if expected == actual:
        return []
    if isinstance(expected, dict) and isinstance(actual, dict):
        return [
            line
            for key in sorted(set(expected) | set(actual), key=str)
            for line in differences(expected.get(key), actual.get(key), f"{path}.{key}" if path else str(key))
        ]
    if isinstance(expected, list) and isinstance(actual, list):
        removed = [item for item in expected if item not in actual]
        added = [item for item in actual if item not in expected]
        if removed or added:
            parts = [f"added {_show(item)}" for item in added] + [f"removed {_show(item)}" for item in removed]
            return [f"{path or 'value'}: {'; '.join(parts)}"]
        return [f"{path or 'value'}: same items in another order"]
    return [f"{path or 'value'}: {_show(expected)} -> {_show(actual)}"]


def _result(record: dict[str, Any] | None, finding_id: str, status: str, message: str, **extra: Any) -> dict[str, Any]:
    record = record or {}
    result = {
        "finding_id": finding_id,
        "status": status,
        "message": message,
        "resource_arn": record.get("resource_arn"),
        "remediation": record.get("remediation"),
        **extra,
    }
    metrics.add_dimension(name="status", value=status)
    metrics.add_metric(name="Rollbacks", unit=MetricUnit.Count, value=1)
    log = logger.info if status == "rolled-back" else logger.warning
    log("rollback " + status, extra={"finding_id": finding_id, "rollback_message": message})
    return result


def _refused(record: dict[str, Any] | None, finding_id: str, message: str, **extra: Any) -> dict[str, Any]:
    return _result(record, finding_id, "refused", message, **extra)


def _what_was_done(record: dict[str, Any]) -> str:
    outcome = record.get("outcome") or "no outcome yet"
    return f"decision {record.get('decision')!r}, outcome {outcome!r}"


def rollback(
    finding_id: str,
    force: bool = False,
    requested_by: str | None = None,
    member_credentials: tuple[str, str, str] | None = None,
    before_restore: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Restore the before-snapshot of one audit record. Never raises for a refusal: the answer's
    `status` is `rolled-back`, `refused` (nothing was changed) or `failed` (the restore broke off).
    A fix is undone in the account it was made in: with `member_credentials` (a session in the
    record's account, organization mode), else only when this code runs in that account.
    `requested_by` is the caller as AWS names it (sts:GetCallerIdentity); `before_restore` runs once
    the restore is decided, right before it (the operator command adds its exemption there), and
    returns what to record beside it."""
    logger.set_correlation_id(finding_id)
    record = audit.read(finding_id)
    if record is None:
        return _refused(None, finding_id, f"no audit record has finding_id {finding_id!r}; `history` lists them")
    if record.get("rolled_back_at") and not force:
        by = (record.get("rollback") or {}).get("requested_by") or "an unnamed caller"
        return _refused(
            record, finding_id, f"this fix was already rolled back at {record['rolled_back_at']} by {by}; nothing to do"
        )
    before = record.get("before")
    changed = bool(record.get("applied")) or (record.get("outcome") == "failed" and before is not None)
    if not changed or before is None:
        return _refused(record, finding_id, f"Warden changed nothing for this finding ({_what_was_done(record)}); nothing to roll back")
    try:
        remediation = registry.get(record["remediation"])
    except KeyError:
        return _refused(record, finding_id, f"remediation {record['remediation']!r} is not known to this version of Warden")

    # The proof binds the snapshot to its finding; the record's key must be that finding too.
    proven = authorization.before_is_wardens(record.get("finding"), record.get("remediation"), before, record.get("before_proof"))
    if not proven or (record.get("finding") or {}).get("id") != finding_id:
        return _refused(
            record,
            finding_id,
            "this before-snapshot was not written by Warden's remediation (its proof does not verify with Warden's "
            "authorization key): refused, nothing was changed. Someone wrote or altered this audit record",
        )
    finding = Finding.from_dict(record["finding"])
    if member_credentials is not None:
        aws = Aws(finding.account, finding.region, member_credentials)
    elif finding.account != own_account():
        return _refused(
            record,
            finding_id,
            f"this fix was made in account {finding.account}, and this rollback acts in account {own_account()}: "
            "a fix is undone in the account it was made in, with credentials for that account",
        )
    else:
        aws = for_finding(finding)
    try:
        current = remediation.snapshot_as(finding, aws, before)
    except ResourceGone as gone:
        return _refused(record, finding_id, f"{gone}: there is nothing to restore")
    except (ClientError, WardenError) as error:
        return _result(record, finding_id, "failed", f"could not read the resource to check it for changes: {error}")

    drift = _drift(remediation, record, current)
    if drift and not force:
        return _refused(
            record,
            finding_id,
            "the resource changed since Warden's fix, so restoring the before-state would undo those changes too: "
            + "; ".join(drift)
            + ". Nothing was changed. Check the changes, then repeat with --force to restore the before-state anyway.",
            drift=drift,
        )
    noted = before_restore(record) if before_restore else {}
    return _restore(record, finding, remediation, aws, before, current, drift, force, requested_by, noted)


def _drift(remediation: Remediation, record: dict[str, Any], current: dict[str, Any]) -> list[str]:
    after = record.get("after_snapshot")
    if after is None:
        return [
            "Warden has no record of the state right after its fix (the fix failed part-way, or the after-state "
            "could not be read), so it cannot tell whether anyone changed the resource since"
        ]
    return differences(remediation.state(after), remediation.state(current))


def _restore(
    record: dict[str, Any],
    finding: Finding,
    remediation: Remediation,
    aws,
    before: dict[str, Any],
    current: dict[str, Any],
    drift: list[str],
    force: bool,
    requested_by: str | None,
    noted: dict[str, Any],
) -> dict[str, Any]:
    finding_id = finding.id
    details = {"requested_by": requested_by, "forced": force, "drift": drift, "overwritten_state": current, **noted}
    try:
        remediation.rollback(finding, before, aws)
    except (ClientError, WardenError) as error:
        audit.update(finding_id, rollback={**details, "status": "failed", "error": str(error), "at": _now()})
        return _result(
            record,
            finding_id,
            "failed",
            f"the restore broke off: {error}. The resource may be part-way between its fixed and its before-state; "
            "the before-snapshot is in the audit record.",
        )
    restored = remediation.snapshot_as(finding, aws, before)
    remaining = differences(remediation.state(before), remediation.state(restored))
    at = _now()
    audit.update(
        finding_id,
        rolled_back_at=at,
        rollback={**details, "status": "rolled-back", "at": at, "restored_exactly": not remaining, "differences": remaining},
    )
    exact = (
        "The re-read resource equals the before-snapshot."
        if not remaining
        else "The re-read resource still differs from the before-snapshot where AWS cannot restore it exactly: "
        + "; ".join(remaining)
        + "."
    )
    forced = " (forced over changes made since the fix)" if force and drift else ""
    return _result(
        record,
        finding_id,
        "rolled-back",
        f"{remediation.name} on {finding.resource_arn} rolled back to its before-snapshot{forced}. {exact}",
        forced=force,
        drift=drift,
        restored_exactly=not remaining,
        differences=remaining,
        warning=RECURRENCE_WARNING,
    )
