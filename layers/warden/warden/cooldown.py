"""The throttle's circuit breaker: after the cool-down, check the alarm; restore or wait again.

Called by the Throttle function from the workflow's cool-down loop (see the ASL). A restore is a
rollback to the before-snapshot that the remediation recorded; it never fails silently: errors
go to the workflow's Catch and on-call is told.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from warden import audit, authorization, registry
from warden.aws import for_finding
from warden.finding import Finding
from warden.observability import logger, metrics

NOT_ABUSED = ("OK", "INSUFFICIENT_DATA")  # no data: the traffic that tripped it has stopped


def check_alarm(payload: dict[str, Any]) -> dict[str, Any]:
    """One more cool-down round: the alarm's state, and whether the rounds are used up."""
    # Each round is one run of the CheckAlarm state; a round only reads the alarm.
    with authorization.required(payload, steps=("CheckAlarm",), occurrence=_round) as state:
        return _check_alarm(state)


def _round(state: dict[str, Any]) -> Any:
    return (state.get("cooldown") or {}).get("round", 0)


def _check_alarm(state: dict[str, Any]) -> dict[str, Any]:
    finding = Finding.from_dict(state["finding"])
    settings = state["result"]["before"]["settings"]
    alarms = for_finding(finding, acting_as="throttle").client("cloudwatch").describe_alarms(AlarmNames=[finding.details["alarm_name"]])
    metric_alarms = alarms.get("MetricAlarms", []) + alarms.get("CompositeAlarms", [])
    # An alarm deleted meanwhile cannot say the abuse goes on: treat it as over.
    alarm_state = metric_alarms[0]["StateValue"] if metric_alarms else "OK"
    rounds = (state.get("cooldown") or {}).get("round", 0) + 1
    logger.info("cool-down check", extra={"alarm_state": alarm_state, "round": rounds})
    metrics.add_metric(name="CooldownChecks", unit=MetricUnit.Count, value=1)
    return {
        "alarm_state": alarm_state,
        "round": rounds,
        "abuse_over": alarm_state in NOT_ABUSED,
        "exhausted": alarm_state not in NOT_ABUSED and rounds >= settings["max_cooldowns"],
    }


def restore(payload: dict[str, Any]) -> dict[str, Any]:
    """Put back exactly the limits the stage had before the throttle, and record it."""
    with authorization.required(payload, steps=("RestoreLimits",)) as state:
        return _restore(state)


def _restore(state: dict[str, Any]) -> dict[str, Any]:
    finding = Finding.from_dict(state["finding"])
    remediation = registry.get(state["remediation"])
    before = state["result"]["before"]
    if not authorization.before_is_wardens(state["finding"], state["remediation"], before, state["result"].get("before_proof")):
        raise authorization.refused("RestoreLimits", "the limits to restore are not the before-snapshot Warden's throttle took", state)
    aws = for_finding(finding, acting_as="throttle")
    notes = remediation.rollback(finding, before, aws) or []
    restored = [f"Undone: {change['summary']}" for change in state["result"]["changes"]] + notes
    # Re-read: what differs from the before-snapshot is said, never passed off as restored.
    from warden.rollback import differences

    remaining = differences(remediation.state(before), remediation.state(remediation.snapshot(finding, aws)))
    restored += [f"Not restored exactly: {line}" for line in remaining]
    metrics.add_metric(name="Restores", unit=MetricUnit.Count, value=1)
    audit.update(
        finding.id, restored_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), restored=restored,
        restored_exactly=not remaining,
    )  # fmt: skip
    return {"restored": restored}
