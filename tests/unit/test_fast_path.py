"""The Express workflow every event starts, and what it hands to the Standard one."""

import json
from pathlib import Path

from cfnlint.decode import decode

from warden.steps import FAMILY_STEPS, FAST_PATH_FAMILIES
from warden_ops import fast_path

ROOT = Path(__file__).resolve().parents[2]
STANDARD = json.loads((ROOT / "statemachines" / "remediation.asl.json").read_text())
EXPRESS = json.loads((ROOT / "statemachines" / "fast_path.asl.json").read_text())
RESOURCES = decode(str(ROOT / "template.yaml"))[0]["Resources"]


def test_the_checked_in_express_definition_is_generated_from_the_standard_one():
    assert (ROOT / "statemachines" / "fast_path.asl.json").read_text() == fast_path.render(), (
        "statemachines/fast_path.asl.json is stale: run make fast-path"
    )


def test_generating_leaves_the_standard_definition_as_it_was():
    before = json.dumps(STANDARD, sort_keys=True)
    fast_path.express(STANDARD)
    assert json.dumps(STANDARD, sort_keys=True) == before


def test_every_event_starts_the_express_workflow_and_it_may_start_only_the_standard_one():
    express, standard = RESOURCES["RemediationStateMachine"]["Properties"], RESOURCES["LongRunningStateMachine"]["Properties"]
    assert express["Type"] == "EXPRESS" and express["DefinitionUri"] == "statemachines/fast_path.asl.json"
    assert standard["Type"] == "STANDARD" and standard["DefinitionUri"] == "statemachines/remediation.asl.json"
    assert express["Events"] and "Events" not in standard
    assert {"StepFunctionsExecutionPolicy": {"StateMachineName": {"Fn::GetAtt": ["LongRunningStateMachine", "Name"]}}} in express["Policies"]
    assert not [p for p in standard["Policies"] if "StepFunctionsExecutionPolicy" in p]
    assert express["DefinitionSubstitutions"]["LongRunningStateMachineArn"] == {"Ref": "LongRunningStateMachine"}


def _reachable(definition: dict) -> set:
    return fast_path._reachable(definition["States"], definition["StartAt"])


def test_the_express_workflow_never_waits():
    """No state that waits (a person's answer, a cool-down) and no state nothing reaches."""
    states = EXPRESS["States"]
    assert set(states) == _reachable(EXPRESS)
    assert not [n for n, s in states.items() if s["Type"] == "Wait" or ".waitForTaskToken" in s.get("Resource", "")]
    assert not set(fast_path.STANDARD_ONLY) & set(states)


def test_the_express_workflow_runs_the_fast_path_families_and_hands_the_rest_over():
    families = {family for family, step in FAMILY_STEPS.items() if step in EXPRESS["States"]}
    assert families == set(FAST_PATH_FAMILIES)
    route = EXPRESS["States"]["Route"]
    assert {"Variable": "$.decision", "StringEquals": "hand-over", "Next": "HandOver"} in route["Choices"]
    assert route["Choices"][0]["Next"] == "NotifySettingsRemoveProtection"  # the settings alert first, as in Standard
    hand_over = EXPRESS["States"]["HandOver"]
    assert hand_over["Resource"] == "arn:aws:states:::states:startExecution"
    assert hand_over["Parameters"] == {
        "StateMachineArn": "${LongRunningStateMachineArn}", "Name.$": "$$.Execution.Name", "Input.$": "$.event",
    }  # fmt: skip


def test_a_failed_triage_is_triaged_again_in_the_standard_workflow_where_its_failure_can_be_told():
    """Notify checks a failed Triage against the execution's history, which only Standard keeps."""
    triage = EXPRESS["States"]["Triage"]
    assert triage["Parameters"]["fast_path"] is True and "fast_path" not in STANDARD["States"]["Triage"]["Parameters"]
    assert triage["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "TriageAgainInStandard"}]
    assert EXPRESS["States"]["TriageAgainInStandard"]["Parameters"]["Input.$"] == "$"  # the raw event
    assert "NotifyTriageFailed" not in EXPRESS["States"]
    assert EXPRESS["States"]["Route"]["Default"] == "UnknownDecision"
    assert EXPRESS["States"]["UnknownDecision"]["Type"] == "Fail"


def test_express_retries_fit_in_five_minutes():
    """A family step whose every attempt runs to its timeout and is retried as RetryLater, after a
    Triage and before a Notify that each run to their Lambda timeout, still ends inside an Express
    execution's 5 minutes: a failure is told by NotifyFailed, not lost in a timed-out execution."""
    lambda_timeout = int(decode(str(ROOT / "template.yaml"))[0]["Globals"]["Function"]["Timeout"])
    for family in FAST_PATH_FAMILIES:
        step = EXPRESS["States"][FAMILY_STEPS[family]]
        (later,) = [r for r in step["Retry"] if r["ErrorEquals"] == ["RetryLater"]]
        waits = sum(later["IntervalSeconds"] * later["BackoffRate"] ** n for n in range(later["MaxAttempts"]))
        worst = lambda_timeout + (later["MaxAttempts"] + 1) * step["TimeoutSeconds"] + waits + lambda_timeout
        assert worst <= fast_path.EXPRESS_LIMIT_SECONDS, (family, worst)
    for function in ("TriageFunction", "NotifyFunction"):  # with the template's default timeout
        assert "Timeout" not in RESOURCES[function]["Properties"]
    assert not [r for r in EXPRESS["States"]["Triage"]["Retry"] if r["ErrorEquals"] == ["RetryLater"]]


def test_the_failed_executions_alarm_watches_both_workflows():
    metrics = RESOURCES["ExecutionsFailedAlarm"]["Properties"]["Metrics"]
    watched = {(m["MetricStat"]["Metric"]["MetricName"], m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"])
               for m in metrics if "MetricStat" in m}  # fmt: skip
    assert watched == {
        ("ExecutionsFailed", "RemediationStateMachine"),
        ("ExecutionsTimedOut", "RemediationStateMachine"),
        ("ExecutionsFailed", "LongRunningStateMachine"),
    }
