"""Fuzzing triage: every sample event in events/, mutated by hypothesis (keys deleted, types
changed, huge strings, deep nesting, hostile unicode), plus arbitrary JSON. Whatever arrives,
parsing gives a Finding or a RejectedEvent with a short reason, and the Triage function (the real
handler, on the twin) returns a decision the workflow can route: it never raises.

Deterministic (derandomize=True): CI sees the same examples on every run.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from local.twin import Twin
from tests.robustness.world import ROOT, event_files
from warden import registry
from warden.findings import ACCOUNT_RESOURCE_TYPE, MAX_EVENT_BYTES, MAX_EVENT_DEPTH, Finding, RejectedEvent, parse_finding

SEEDS = {path.name: json.loads(path.read_text()) for path in event_files()}
ASL = json.loads((ROOT / "statemachines" / "remediation.asl.json").read_text())


def _routes(choice: dict) -> set[str]:
    """The decisions a choice routes on (not the families it routes to)."""
    nested = choice.get("Or", []) + choice.get("And", [])
    if "StringEquals" in choice:
        return {choice["StringEquals"]} if choice["Variable"] == "$.decision" else set()
    return {v for c in nested for v in _routes(c)}


# What the workflow's Route state routes; anything else would fall to its Default (a failure).
DECISIONS = {value for choice in ASL["States"]["Route"]["Choices"] for value in _routes(choice)}
STEP_FUNCTIONS_PAYLOAD_LIMIT = 256 * 1024
MAX_REASON = 2048  # the reason goes into a notification and the execution's state

FUZZ = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)

HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "ml-training-data-prod\u200b",  # zero-width space
    "ML-TRAINING-DATA-PROD",
    "\u202eedorp-atad-gniniart",  # right-to-left override
    "１２３４５６７８９０１２",  # full-width digits: not an account id
    "١٢٣٤٥٦٧٨٩٠١٢",  # Arabic-Indic digits
    "arn:aws:s3:::*",
    "../../etc/passwd",
    "a; curl http://x | sh",
    "${aws:username}",
    "🪣" * 20,
    "e\u0301" * 30,  # combining accents
    "\ud800",  # a lone surrogate, as a JSON decoder lets through
    "2026-13-45T99:99:99Z",
    "NaN",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(HOSTILE_TEXT),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=12,
)


def _paths(value: Any) -> list[tuple]:
    """Every path into a JSON document (iteratively: inputs may be deep)."""
    found, stack = [], [((), value)]
    while stack:
        path, node = stack.pop()
        found.append(path)
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        stack.extend((path + (key,), child) for key, child in items)
    return sorted(found, key=repr)


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _nest(value: Any, depth: int, as_list: bool) -> Any:
    for _ in range(depth):
        value = [value] if as_list else {"a": value}
    return value


@st.composite
def mutated_events(draw, max_depth: int = 2000) -> Any:
    """A sample event with one to four mutations at paths drawn from the event itself."""
    event = _copy(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(event)
        path = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["delete", "replace", "huge", "nest", "unicode", "retype", "add-key"]))
        parent = event
        for key in path[:-1]:
            parent = parent[key]
        current = parent[path[-1]] if path else event
        if kind == "delete" and path:
            del parent[path[-1]]
            continue
        if kind == "add-key" and isinstance(current, dict):
            current[draw(st.sampled_from(HOSTILE_TEXT + ["x" * 10_000]))] = draw(json_values)
            continue
        if kind == "huge":
            new = "A" * draw(st.sampled_from([1_000, 70_000, MAX_EVENT_BYTES + 1]))
        elif kind == "nest":
            new = _nest(current, draw(st.integers(min_value=1, max_value=max_depth)), draw(st.booleans()))
        elif kind == "unicode":
            new = draw(st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(min_size=1, max_size=80)))
        elif kind == "retype":
            new = draw(st.sampled_from([[current], {"value": current}, str(current)[:100], 0, True, None]))
        else:
            new = draw(json_values)
        if path:
            parent[path[-1]] = new
        else:
            event = new
    return event


# mostly mutated samples (they reach deep into the parsers), some arbitrary JSON
anything = st.one_of(
    mutated_events(), mutated_events(), mutated_events(), json_values, st.dictionaries(st.text(max_size=20), json_values, max_size=8)
)


def check_parse(event: Any) -> Finding | None:
    """parse_finding's contract: a well-formed Finding, or RejectedEvent with a short reason."""
    try:
        finding = parse_finding(event)
    except RejectedEvent as rejected:
        reason = str(rejected)
        assert reason and len(reason) <= MAX_REASON, reason[:300]
        return None
    assert isinstance(finding, Finding)
    assert re.fullmatch(r"[0-9]{12}", finding.account)
    assert finding.resource_arn.startswith(("arn:", f"{ACCOUNT_RESOURCE_TYPE}:"))
    assert Finding.from_dict(json.loads(json.dumps(finding.to_dict()))) == finding, "the finding survives the workflow's JSON"
    remediation = registry.remediation_for(finding)  # pure lookups: must not raise either
    if remediation is not None:
        getattr(remediation, "ignore_reason", lambda _: None)(finding)
    return finding


@settings(FUZZ, max_examples=400)
@given(event=anything)
def test_parse_gives_a_finding_or_a_clear_rejection(event):
    check_parse(event)


def test_seeds_still_parse_as_before():
    """The fuzzer's starting points: the valid samples really are findings (else it fuzzes nothing)."""
    findings = {name: check_parse(event) for name, event in SEEDS.items()}
    valid = [name for name, finding in findings.items() if finding is not None]
    assert len(valid) >= len(SEEDS) // 2, valid


@pytest.mark.parametrize("depth", [MAX_EVENT_DEPTH + 1, 5_000, 100_000])
def test_absurdly_deep_events_are_rejected_without_recursion(depth):
    for as_list in (True, False):
        event = {**SEEDS["cloudtrail-s3-putbucketpolicy-public.json"], "detail": _nest({}, depth, as_list)}
        with pytest.raises(RejectedEvent, match="nested more than"):
            parse_finding(event)


def test_oversized_event_is_rejected_by_size():
    event = {**SEEDS["cloudtrail-s3-putbucketpolicy-public.json"], "padding": "x" * (MAX_EVENT_BYTES + 1)}
    with pytest.raises(RejectedEvent, match="over EventBridge's"):
        parse_finding(event)


# --- the real Triage handler, through the Lambda API of the twin ---------------------------------


@pytest.fixture(scope="module")
def triage_twin():
    with Twin(parameters={"Mode": "enforce"}) as twin:
        yield twin


@settings(FUZZ, max_examples=30)
@given(event=st.one_of(mutated_events(max_depth=200), json_values))
def test_triage_handler_always_returns_a_routable_decision(triage_twin, event):
    try:
        output = triage_twin.invoke("TriageFunction", {"event": event, "execution": "arn:aws:states:fuzz"})
    except RuntimeError as failed:
        # moto itself crashes on some lookups of resources that do not exist (e.g. SageMaker
        # ListTags: AttributeError inside moto); AWS answers those with an error code. Such
        # examples test the simulator, not Warden: discard them, fail on everything else.
        payload = str(failed)
        assume(not ("/moto/" in payload.rsplit("File ", 1)[-1] and "ClientError" not in payload))
        raise
    assert output["decision"] in DECISIONS
    assert output["reason"] and len(output["reason"]) <= MAX_REASON
    if output["decision"] == "rejected":
        assert len(output["event_summary"]) <= MAX_REASON
    else:
        assert Finding.from_dict(output["finding"]).id
    size = len(json.dumps(output).encode())
    assert size <= STEP_FUNCTIONS_PAYLOAD_LIMIT, f"Triage output is {size} bytes, over the Step Functions limit"
