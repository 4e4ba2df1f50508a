"""Least privilege, observed: every AWS API call a remediation makes on moto is one it declares.

tests/unit/test_template.py proves the roles grant exactly the declared permissions; this closes the
loop by recording what the code really calls (botocore event hooks on every client).
tests/robustness/test_least_privilege.py checks every call on the twin against the deployed roles
(resource, Deny and conditions included) and that each grant is needed.
"""

from __future__ import annotations


import pytest

from local.faults import ApiCall
from tests.robustness.world import FINDINGS, exercise, undeclared
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
        phases = ("snapshot",) if remediation.notify_only else ("snapshot", "apply", "after_fix", "recheck")
        if not all(calls.get(phase) for phase in phases):
            problems[remediation.name] = f"{name}: a phase made no call at all: {sorted(p for p in phases if not calls.get(p))}"
        elif undeclared(remediation, calls):
            problems[remediation.name] = f"{name}: calls undeclared actions {undeclared(remediation, calls)}"
    assert problems == {}, "these remediations make calls their role would refuse in production, or were never observed"
