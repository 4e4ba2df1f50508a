"""What the robustness tests share: the e2e scenario on the twin, and events/ as findings.

Everything here is derived from the registry, local/scenarios.py and events/, so a new
remediation family is covered as soon as it registers, ships its events and its scenario.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from local import scenarios
from local.faults import ApiCall, record_api_calls
from warden import registry
from warden.aws import for_finding
from warden.remediations.base import NeedsDecision, Remediation
from warden.findings import Finding, RejectedEvent, parse_finding
from warden_ops import rollback as operator_rollback
from warden_ops.target import TwinTarget

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"


def event_files() -> list[Path]:
    return sorted(EVENTS.glob("*.json"))


def findings_by_remediation() -> dict[str, list[tuple[str, Finding]]]:
    """remediation name -> [(event file name, finding)] for every events/ file that parses and
    that some remediation answers."""
    found: dict[str, list[tuple[str, Finding]]] = defaultdict(list)
    for path in event_files():
        try:
            finding = parse_finding(json.loads(path.read_text()))
        except RejectedEvent:
            continue
        remediation = registry.remediation_for(finding)
        if remediation is not None:
            found[remediation.name].append((path.name, finding))
    return dict(found)


def _function_of_state(asl: dict, state: str) -> str:
    """The template logical id of the Lambda a Task state invokes ("${XFunctionArn}" -> XFunction)."""
    return asl["States"][state]["Resource"].strip("${}").removesuffix("Arn")


def phase_functions(family: str) -> dict[str, str]:
    """Which function runs each phase of a remediation of `family`, read from the workflow."""
    asl = json.loads((ROOT / "statemachines" / "remediation.asl.json").read_text())
    remediate_state = next(
        choice["Next"] for choice in asl["States"]["Route"]["Choices"]
        if {"Variable": "$.family", "StringEquals": family} in choice.get("And", [])
    )  # fmt: skip
    remediate = _function_of_state(asl, remediate_state)
    return {
        "resource_tags": _function_of_state(asl, "Triage"),
        "snapshot": remediate,
        "plan": remediate,
        "apply": remediate,
        "after_fix": remediate,  # the family verifies its own fix
        "recheck": _function_of_state(asl, "Triage"),  # a duplicate inside the dedupe window
        # rollback is no function's: the operator runs it (python -m warden_ops rollback)
    }


def function_env(twin, logical_id: str) -> dict[str, str]:
    """The environment the twin gives a function's handler (from template.yaml)."""
    return twin.functions[twin.physical[logical_id]]["env"]


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def event_for_bucket(name: str, bucket: str, event_id: str | None = None) -> dict:
    """An events/ file about the scenario's training bucket, retold about `bucket` (with its own
    event id, so each is a distinct finding)."""
    text = (EVENTS / name).read_text().replace(scenarios.TRAINING_BUCKET, bucket)
    event = json.loads(text)
    if event_id is not None:
        event["id"] = event_id
        detail = event.get("detail")
        if isinstance(detail, dict):
            for key in ("eventID", "id"):
                if key in detail:
                    detail[key] = event_id
    return event


def bucket_public_access(s3, bucket: str) -> dict:
    """What a person would check: Block Public Access, policy, ACL grants, tags."""
    try:
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except s3.exceptions.ClientError:
        block = None
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError:
        policy = None
    try:
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    except s3.exceptions.ClientError:
        tags = {}
    return {"block": block, "policy": policy, "acl": s3.get_bucket_acl(Bucket=bucket)["Grants"], "tags": tags}


def quarantined(s3, bucket: str) -> bool:
    from warden.remediations.s3_public import BLOCK_SETTINGS, public_grants, split_policy

    state = bucket_public_access(s3, bucket)
    return (
        state["block"] is not None
        and all(state["block"].get(s) for s in BLOCK_SETTINGS)
        and (state["policy"] is None or not split_policy(state["policy"])[0])
        and not public_grants({"Grants": state["acl"]})
    )


@contextmanager
def s3_twin(**parameters: str):
    """The S3 scenario of tests/conftest.py's `twin` without the other families' (much faster to
    build, so a module can share one): the public training bucket, the exempt website bucket and
    the account's Block Public Access off, in enforce mode."""
    from local.twin import Twin

    with Twin(parameters={"Mode": "enforce", **parameters}) as twin:
        scenarios.public_training_bucket(twin.client("s3"))
        scenarios.exempt_website_bucket(twin.client("s3"))
        scenarios.account_block_off(twin.client("s3control"))
        yield twin


def public_bucket(twin, name: str) -> str:
    """Another public training bucket, so tests sharing one twin do not share an exposure."""
    scenarios.public_training_bucket(twin.client("s3"), name=name)
    return name


def training_policy(bucket: str) -> dict:
    """The scenario's training-bucket policy, as set on `bucket`."""
    return json.loads(json.dumps(scenarios.TRAINING_POLICY).replace(scenarios.TRAINING_BUCKET, bucket))


def forget_claims(twin) -> None:
    """Empty the dedupe table, as if the window had passed (for tests that share one twin)."""
    dynamodb, table = twin.client("dynamodb"), twin.physical["DedupeTable"]
    for item in dynamodb.scan(TableName=table, ProjectionExpression="id")["Items"]:
        dynamodb.delete_item(TableName=table, Key={"id": item["id"]})


# --- observing a remediation's API calls, phase by phase ---------------------------------------


def exercise(twin, remediation: Remediation, finding) -> dict[str, list[ApiCall]]:
    """Run every phase of one remediation on the twin's account, each with the environment of the
    function that runs it in the workflow; the calls of each phase. Raises LookupError when the
    resource is not exposed (nothing planned)."""
    aws, functions, calls = for_finding(finding), phase_functions(remediation.family), {}

    @contextmanager
    def phase(name: str):
        # a function's phase runs with that function's environment; rollback as the operator runs it
        # (python -m warden_ops rollback: the stack's table and key, the operator's session)
        environment = (
            mock.patch.dict(os.environ, function_env(twin, functions[name]))
            if name in functions
            else operator_rollback.library(TwinTarget(twin))
        )
        with environment, record_api_calls() as recorded:
            yield
        calls[name] = list(recorded)

    with phase("resource_tags"):
        remediation.resource_tags(finding, aws)
    with phase("snapshot"):
        before = remediation.snapshot(finding, aws)
    with phase("plan"):
        try:
            changes = remediation.plan(finding, before)
        except NeedsDecision:
            if remediation.notify_only:
                return calls  # its designed end: on-call decides, nothing is applied
            raise
    if not changes:
        raise LookupError("nothing to change")
    with phase("apply"):
        applied = remediation.apply(finding, changes, aws)["applied"]
    with phase("after_fix"):
        result = {"before": before, "changes": [c.to_dict() for c in changes], "applied": applied}
        _, still_exposed = remediation.after_fix(finding, aws, result)
    assert still_exposed == [], f"{remediation.name} did not fix {finding.resource_arn}: {still_exposed}"
    with phase("recheck"):
        assert remediation.verify(finding, aws) == [], f"{remediation.name}: triage's re-read disagrees with the re-read after the fix"
    if getattr(remediation, "rollback_permissions", None) is not None:
        # as the operator, as warden_ops.rollback does: it re-reads the resource with snapshot, then
        # restores it, so the next remediation observed on the same twin finds the scenario's exposures
        with phase("rollback"):
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
        "after_fix": set(remediation.permissions) | set(remediation.verify_permissions),
        "recheck": set(remediation.verify_permissions),
    }
    if "rollback" in calls:
        declared["rollback"] = set(remediation.rollback_permissions)
    problems = {phase: {c.action for c in calls.get(phase, [])} - allowed_actions for phase, allowed_actions in declared.items()}
    return {phase: actions for phase, actions in problems.items() if actions}


FINDINGS = findings_by_remediation()
