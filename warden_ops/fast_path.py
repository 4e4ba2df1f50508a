"""The Express workflow (statemachines/fast_path.asl.json), generated from the Standard one.

Every event starts the Express workflow: Triage, then the fix and its message, or a message alone,
in one execution priced per request and GB-second instead of per state transition. What may outlast
an Express execution (5 minutes) goes to the Standard workflow (statemachines/remediation.asl.json),
started by name with the same event:

- Triage says `hand-over` for approve mode (a person's answer), the throttle family (cool-downs wait
  for an alarm to clear) and remediations marked `long_running` (warden.steps._waits);
- Triage failed: the Standard workflow triages again with its hour of retries, and only there is a
  failed Triage told (Notify checks it against the execution's history, which Express does not keep).

The Express definition is the Standard one with those paths replaced, so the two cannot drift:

    python -m warden_ops.fast_path > statemachines/fast_path.asl.json    (make fast-path)

tests/unit/test_fast_path.py fails when the checked-in file is stale.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STANDARD = ROOT / "statemachines" / "remediation.asl.json"

# States that wait, or only follow one that waits: the Standard workflow's alone.
STANDARD_ONLY = ("Throttle", "AwaitApproval", "NotifyThrottled")
HAND_OVER = "HandOver"  # Triage's decision `hand-over`: its event goes to the Standard workflow
TRIAGE_AGAIN = "TriageAgainInStandard"  # Triage failed: the raw event goes to the Standard workflow
UNKNOWN_DECISION = "UnknownDecision"
# Step Functions' own errors starting an execution, retried. ExecutionAlreadyExists is not: the name
# is this execution's own, so either it handed over already and that execution has ended (AWS ran
# this one twice) or someone else took the name; the execution fails and the alarm says so.
START_ERRORS = ["StepFunctions.SdkClientException", "StepFunctions.AWSStepFunctionsException",
                "StepFunctions.ExecutionLimitExceededException"]  # fmt: skip
# A throttled family step is retried twice here (about 50 s); the Standard workflow's hour of
# retries does not fit in 5 minutes, and a failed fix is told and tried again by the next finding.
FAMILY_RETRY_LATER = {"ErrorEquals": ["RetryLater"], "IntervalSeconds": 20, "MaxAttempts": 2, "BackoffRate": 1.5}
# Lambda may run the encryption family for 15 minutes (a notebook, which Triage hands over); in
# Express a family step gets one, so a hung call ends in NotifyFailed rather than in an execution
# that times out at 5 minutes and tells nobody but the failed-executions alarm.
FAMILY_TIMEOUT_SECONDS = 60
EXPRESS_LIMIT_SECONDS = 300


def _start_standard(comment: str, input_path: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution",
        "Comment": comment,
        "Parameters": {
            "StateMachineArn": "${LongRunningStateMachineArn}",
            # The same name as this execution: a second run of it (Express runs at least once)
            # starts nothing new, and the two are found together.
            "Name.$": "$$.Execution.Name",
            "Input.$": input_path,
        },
        "Retry": [{"ErrorEquals": START_ERRORS, "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2, "JitterStrategy": "FULL"}],
        "End": True,
    }


def _reachable(states: dict[str, Any], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        state = states[name]
        nexts = [state.get("Next"), state.get("Default")]
        nexts += [choice.get("Next") for choice in state.get("Choices", [])]
        nexts += [catch.get("Next") for catch in state.get("Catch", [])]
        todo += [n for n in nexts if n]
    return seen


def express(standard: dict[str, Any]) -> dict[str, Any]:
    """The Express definition made from the Standard one (pure: the input is not changed)."""
    definition = copy.deepcopy(standard)
    states = definition["States"]
    definition["Comment"] = (
        "Warden's Express workflow, generated from remediation.asl.json by python -m warden_ops.fast_path: triage, fix, "
        "verify and notify in one execution; what may wait longer than 5 minutes continues in the Standard workflow."
    )
    triage = states["Triage"]
    triage["Parameters"]["fast_path"] = True
    triage["Retry"] = [r for r in triage["Retry"] if r["ErrorEquals"] != ["RetryLater"]]
    # ResultPath null: the state's input, the raw event, is what the Standard workflow starts with.
    triage["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": TRIAGE_AGAIN}]
    route = states["Route"]
    route["Choices"] = [c for c in route["Choices"] if c["Next"] not in STANDARD_ONLY]
    # After the settings alert (the first choice), which the hand-over carries too.
    route["Choices"].insert(1, {"Variable": "$.decision", "StringEquals": "hand-over", "Next": HAND_OVER})
    route["Default"] = UNKNOWN_DECISION
    for name, state in states.items():
        if state.get("Type") == "Choice" and name != "Route":
            state["Choices"] = [c for c in state["Choices"] if c["Next"] not in STANDARD_ONLY]
        if state.get("Next") == "WhatWasPlanned":  # a family step
            state["Retry"] = [FAMILY_RETRY_LATER if r["ErrorEquals"] == ["RetryLater"] else r for r in state["Retry"]]
            state["TimeoutSeconds"] = FAMILY_TIMEOUT_SECONDS
    states[HAND_OVER] = _start_standard(
        "Triage handed over (approve mode, a throttle, a fix that may take minutes): the Standard workflow triages the same event.",
        "$.event",
    )
    states[TRIAGE_AGAIN] = _start_standard(
        "Triage failed here: the Standard workflow triages the event again with its longer retries, and tells on-call if it fails.",
        "$",
    )
    states[UNKNOWN_DECISION] = {
        "Type": "Fail",
        "Error": "UnknownDecision",
        "Cause": "Triage answered with no decision this workflow knows; Warden's failed-executions alarm tells on-call.",
    }
    reachable = _reachable(states, definition["StartAt"])
    definition["States"] = {name: state for name, state in states.items() if name in reachable}
    return definition


def render() -> str:
    return json.dumps(express(json.loads(STANDARD.read_text())), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    if argv if argv is not None else sys.argv[1:]:
        print("usage: python -m warden_ops.fast_path > statemachines/fast_path.asl.json", file=sys.stderr)
        return 2
    print(render(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
