"""Least privilege, observed: every AWS API call a remediation makes on moto is one it declares,
and every call a Warden function makes on the twin is granted by that function's role.

tests/unit/test_template.py proves the roles grant exactly the declared permissions; these tests
close the loop by recording what the code really calls (botocore event hooks on every client).
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from unittest import mock

import pytest

from local.faults import ApiCall, allowed, attribute_calls_to_functions, record_api_calls, role_statements
from tests.robustness.world import ROOT, event_files, s3_twin, findings_by_remediation, function_env, phase_functions
from warden import registry
from warden.aws import for_finding
from warden.remediations.base import Remediation, WardenError
from warden.remediations.s3_public import QuarantinePublicBucket

FINDINGS = findings_by_remediation()


def exercise(twin, remediation: Remediation, finding) -> dict[str, list[ApiCall]]:
    """Run every phase of one remediation on the twin's account, each with the environment of the
    function that runs it in the workflow; the calls of each phase. Raises LookupError when the
    resource is not exposed (nothing planned)."""
    aws, functions, calls = for_finding(finding), phase_functions(remediation.family), {}

    @contextmanager
    def phase(name: str):
        with mock.patch.dict(os.environ, function_env(twin, functions[name])), record_api_calls() as recorded:
            yield
        calls[name] = list(recorded)

    with phase("resource_tags"):
        remediation.resource_tags(finding, aws)
    with phase("snapshot"):
        before = remediation.snapshot(finding, aws)
    with phase("plan"):
        changes = remediation.plan(finding, before)
    if not changes:
        raise LookupError("nothing to change")
    with phase("apply"):
        remediation.apply(finding, changes, aws)
    with phase("verify"):
        still_exposed = remediation.verify(finding, aws)
    assert still_exposed == [], f"{remediation.name} did not fix {finding.resource_arn}: {still_exposed}"
    if getattr(remediation, "rollback_permissions", None) is not None and "rollback" in functions:
        with phase("rollback"):  # a rollback re-reads the resource with snapshot, then restores it
            remediation.snapshot(finding, aws)
            remediation.rollback(finding, before, aws)
    return calls


def undeclared(remediation: Remediation, calls: dict[str, list[ApiCall]]) -> dict[str, set[str]]:
    """Per phase, the IAM actions called that the remediation does not declare for that phase."""
    declared = {
        "resource_tags": set(remediation.tag_permissions),
        "snapshot": set(remediation.permissions),
        "plan": set(),  # plan is pure: no AWS call at all
        "apply": set(remediation.permissions),
        "verify": set(remediation.verify_permissions),
    }
    if "rollback" in calls:
        declared["rollback"] = set(remediation.rollback_permissions)
    problems = {phase: {c.action for c in calls[phase]} - allowed_actions for phase, allowed_actions in declared.items()}
    return {phase: actions for phase, actions in problems.items() if actions}


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
        if not (calls["snapshot"] and calls["apply"] and calls["verify"]):
            problems[remediation.name] = f"{name}: a phase made no call at all: {sorted(p for p, c in calls.items() if not c)}"
        elif undeclared(remediation, calls):
            problems[remediation.name] = f"{name}: calls undeclared actions {undeclared(remediation, calls)}"
    assert problems == {}, "these remediations make calls their role would refuse in production, or were never observed"


@pytest.fixture
def s3_only():
    # Function-scoped: moto's backends are process-wide, so a twin kept alive across tests would
    # collide with the `twin` fixture another test of this module builds on the same worker.
    with s3_twin() as twin:
        yield twin


class _ReadsVersioningToo(QuarantinePublicBucket):
    """A remediation that makes one call it does not declare (never registered)."""

    def snapshot(self, finding, aws):
        aws.client("s3").get_bucket_versioning(Bucket=finding.resource_name)
        return super().snapshot(finding, aws)


def test_an_undeclared_call_is_caught(s3_only):
    twin = s3_only
    name, finding = FINDINGS[QuarantinePublicBucket.name][0]
    calls = exercise(twin, _ReadsVersioningToo(), finding)
    problems = undeclared(_ReadsVersioningToo(), calls)
    assert problems["snapshot"] == {"s3:GetBucketVersioning"}
    assert set(problems) <= {"snapshot", "rollback"}  # a rollback re-reads with snapshot too


def test_account_level_calls_map_to_their_own_iam_actions(s3_only):
    """s3control's GetPublicAccessBlock is s3:GetAccountPublicAccessBlock, not the bucket action."""
    twin = s3_only
    (name, finding), *_ = [f for f in FINDINGS["s3-account-block-public-access"]]
    calls = exercise(twin, registry.get("s3-account-block-public-access"), finding)
    assert [(c.service, c.operation, c.action) for c in calls["apply"]] == [
        ("s3control", "PutPublicAccessBlock", "s3:PutAccountPublicAccessBlock")
    ]
    assert {c.action for c in calls["snapshot"]} == {"s3:GetAccountPublicAccessBlock"}


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
@pytest.mark.parametrize("scenarios", ["all-events-s3-encryption-iam-cloudwatch"])
def test_every_call_on_the_twin_is_granted_to_the_function_that_made_it(twin, scenarios):
    """Every events/ file through the real rules and workflow, then an alarm action: each call
    a handler makes must be allowed (action and resource) by its own role in template.yaml."""
    with attribute_calls_to_functions(twin), record_api_calls() as calls:
        results = [twin.send(json.loads(path.read_text())) for path in event_files()]
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
    refused = sorted(
        {
            f"{c.function}: {c.action} on {c.resource(twin.account)}"
            for c in by_function
            if not allowed(role_statements(twin, c.function), c.action, c.resource(twin.account))
        }
    )
    assert refused == [], "calls the function's own role would refuse in production"


def test_a_call_outside_the_role_is_refused_by_the_check(s3_only):
    twin = s3_only
    statements = role_statements(twin, "VerifyFunction")
    bucket = "arn:aws:s3:::ml-training-data-prod"
    assert allowed(statements, "s3:GetBucketPolicyStatus", bucket)
    assert not allowed(statements, "s3:PutBucketPolicy", bucket)
    assert not allowed(statements, "sns:Publish", "arn:aws:sns:us-east-1:123456789012:warden-NotificationTopic")
    assert not allowed(role_statements(twin, "TriageFunction"), "dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/other")

