"""Least privilege, proven by a check that can fail.

1. Every call every Warden function made, for every file in events/ and for rolling back every
   fix, is allowed by that function's own role in template.yaml: action, resource ARN, Deny
   statements and conditions (local.iam_policy), as IAM would decide.
2. Nothing granted is unused: removing any Allow statement, or any one resource of it, from any
   role makes at least one of those calls denied. A statement or resource that survives its
   removal is a grant no code path needs.

The calls are recorded once for the module (tests/robustness/least_privilege.py); the mutations
only re-evaluate them.
"""

from __future__ import annotations

import pytest

from local.iam_policy import ALLOWED, decide
from tests.robustness.least_privilege import Recording, Request, record_every_event


@pytest.fixture(scope="module")
def recording() -> Recording:
    return record_every_event()


def _refused(requests: list[Request], statements: dict[tuple[str, str], list[dict]]) -> list[Request]:
    return [
        r for r in requests if r.resource is None or decide(statements[(r.twin, r.function)], r.action, r.resource, r.context) != ALLOWED
    ]


def test_every_call_names_its_resource_and_is_allowed_by_its_own_role(recording):
    unknown = sorted({f"{r.function}: {r.action} ({r.source})" for r in recording.requests if r.resource is None})
    assert unknown == [], "calls whose resource ARN the check cannot tell: teach local/faults.py's ApiCall.resource"
    refused = sorted(
        {f"{r.function}: {r.action} on {r.resource} ({r.source})" for r in _refused(recording.requests, recording.statements)}
    )
    assert refused == [], "calls the function's own role would refuse in production"


def test_every_function_ran_and_the_recording_covers_each(recording):
    functions = {function for _, function in recording.statements}
    assert recording.ran == functions, f"never ran, so never checked: {sorted(functions - recording.ran)}"
    # Macie=enabled and Macie holds a sensitive-data finding: Triage's macie2 calls are checked too
    assert {"macie2:ListFindings", "macie2:GetFindings"} <= {r.action for r in recording.requests if r.function == "TriageFunction"}


def _without(statements: dict, function: str, sid: str, resource: str | None = None) -> dict:
    """The roles with one Allow statement (or one resource of it) removed from `function`'s role."""
    mutated = {}
    for (twin, name), role in statements.items():
        if name != function:
            mutated[(twin, name)] = role
            continue
        kept = []
        for statement in role:
            if statement.get("Sid") != sid:
                kept.append(statement)
            elif resource is not None:
                kept.append({**statement, "Resource": [r for r in statement["Resource"] if r != resource]})
        mutated[(twin, name)] = kept
    return mutated


def mutations(recording: Recording) -> list[tuple[str, str, str | None]]:
    """(function, Sid, resource or None) for each Allow statement and each resource of one that has several."""
    found = set()
    for (_, function), role in recording.statements.items():
        for statement in role:
            if statement.get("Effect") != "Allow":
                continue
            found.add((function, statement["Sid"], None))
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if len(resources) > 1:
                found |= {(function, statement["Sid"], r) for r in resources}
    return sorted(found, key=lambda m: (m[0], m[1], m[2] or ""))


def test_every_statement_sid_is_unique_within_its_role(recording):
    for key, role in recording.statements.items():
        sids = [s.get("Sid") for s in role]
        assert None not in sids and len(sids) == len(set(sids)), key


def test_removing_any_allow_statement_or_resource_denies_some_call(recording):
    survivors = []
    for function, sid, resource in mutations(recording):
        mutated = _without(recording.statements, function, sid, resource)
        if not _refused([r for r in recording.requests if r.function == function], mutated):
            survivors.append(f"{function}.{sid}" + (f" resource {resource}" if resource else ""))
    assert survivors == [], "granted but never needed by any event or rollback: remove it from template.yaml"


def test_the_mutation_check_catches_a_removed_statement(recording):
    """The check can fail: without the S3 quarantine grant, the quarantine calls are refused."""
    mutated = _without(recording.statements, "S3PublicAccessFunction", "RemediateBuckets")
    refused = {r.action for r in _refused([r for r in recording.requests if r.function == "S3PublicAccessFunction"], mutated)}
    assert {"s3:PutBucketPublicAccessBlock", "s3:PutBucketPolicy"} <= refused
