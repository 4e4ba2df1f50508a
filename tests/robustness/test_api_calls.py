"""Least privilege, observed: every AWS API call a remediation makes on moto is one it declares,
and every call a Warden function makes on the twin is granted by that function's role.

tests/unit/test_template.py proves the roles grant exactly the declared permissions; these tests
close the loop by recording what the code really calls (botocore event hooks on every client).
"""

from __future__ import annotations

import json

import pytest

from local.faults import ApiCall, allowed, attribute_calls_to_functions, record_api_calls, role_statements
from tests.robustness.world import ROOT, FINDINGS, event_files, exercise, undeclared
from warden import registry
from warden.remediations.base import Remediation, WardenError


def test_every_remediation_has_an_event_file():
    missing = sorted({r.name for r in registry.all_remediations()} - set(FINDINGS))
    assert not missing, f"no file in events/ triggers {missing}: add one, so its API calls are checked"


def observe(twin, remediation: Remediation) -> tuple[str, dict[str, list[ApiCall]]] | str:
    """(event file, calls per phase) for the first events/ file that exposes `remediation` on the
    twin, or why none did."""
    tried = []
    for name, finding in FINDINGS.get(remediation.name, []):
        try:
            return name, exercise(twin, remediation, finding)
        except LookupError:
            tried.append(f"{name}: nothing to change")
        except (WardenError, NotImplementedError) as error:  # not in the scenario, or an API moto lacks
            tried.append(f"{name}: {type(error).__name__}: {error}")
    return f"no event file exposes it on the twin's scenario (tried: {tried}); expose it in local/scenarios.py"


# One twin for all remediations (each builds in seconds); tests/conftest.py sets up the IAM and
# API-throttling scenarios only for tests whose name says so, hence the id.
@pytest.mark.parametrize("scenarios", ["all-families-iam-cloudwatch"])
def test_every_api_call_each_remediation_makes_is_declared(twin, scenarios):
    problems = {}
    for remediation in registry.all_remediations():
        observed = observe(twin, remediation)
        if isinstance(observed, str):
            problems[remediation.name] = observed
            continue
        name, calls = observed
        phases = ("snapshot",) if remediation.notify_only else ("snapshot", "apply", "verify")
        if not all(calls.get(phase) for phase in phases):
            problems[remediation.name] = f"{name}: a phase made no call at all: {sorted(p for p in phases if not calls.get(p))}"
        elif undeclared(remediation, calls):
            problems[remediation.name] = f"{name}: calls undeclared actions {undeclared(remediation, calls)}"
    assert problems == {}, "these remediations make calls their role would refuse in production, or were never observed"


ALARM = {
    "source": "aws.cloudwatch",
    "alarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:warden-ExecutionsFailedAlarm",
    "accountId": "123456789012",
    "time": "2026-11-21T10:00:00.000+0000",
    "region": "us-east-1",
    "alarmData": {
        "alarmName": "warden-ExecutionsFailedAlarm",
        "state": {"value": "ALARM", "reason": "Threshold Crossed"},
        "previousState": {"value": "OK"},
        "configuration": {"description": "A Warden workflow execution failed."},
    },
}


# tests/conftest.py sets up the IAM and API-throttling scenarios only for tests whose name says so
# "macie": Macie=enabled and Macie holds a sensitive-data finding, so Triage's macie2 calls are checked too.
@pytest.mark.parametrize("scenarios", ["all-events-s3-encryption-iam-cloudwatch-macie"])
def test_every_call_on_the_twin_is_granted_to_the_function_that_made_it(twin, scenarios):
    """The first events/ file of every remediation, the malformed ones and an alarm action,
    through the real rules and workflow (tests/e2e runs every file): each call a handler makes
    must be allowed, action and resource, by its own role in template.yaml."""
    names = sorted({found[0][0] for found in FINDINGS.values()} | {p.name for p in event_files() if p.name.startswith("malformed")})
    with attribute_calls_to_functions(twin), record_api_calls() as calls:
        results = [twin.send(json.loads((ROOT / "events" / name).read_text())) for name in names]
        twin.invoke("NotifyFunction", ALARM)

    by_function = [c for c in calls if c.function]
    asl = json.loads((ROOT / "statemachines" / "remediation.asl.json").read_text())
    entered = {state for result in results for execution in result.executions for state in execution.states}
    ran = {
        spec["Resource"].strip("${}").removesuffix("Arn")
        for name, spec in asl["States"].items()
        if name in entered and spec.get("Type") == "Task" and spec.get("Resource", "").startswith("${")
    }
    assert {"TriageFunction", "S3PublicAccessFunction", "VerifyFunction", "NotifyFunction"} <= ran
    assert ran <= {c.function for c in by_function}, "every function the workflow ran had its calls attributed"
    # Macie holds a sensitive-data finding for the training bucket: Triage read it, with its own role
    assert {"macie2:ListFindings", "macie2:GetFindings"} <= {c.action for c in by_function if c.function == "TriageFunction"}
    refused = sorted(
        {
            f"{c.function}: {c.action} on {c.resource(twin.account)}"
            for c in by_function
            if not allowed(role_statements(twin, c.function), c.action, c.resource(twin.account))
        }
    )
    assert refused == [], "calls the function's own role would refuse in production"
