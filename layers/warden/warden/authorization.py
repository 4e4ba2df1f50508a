"""Triage's authorization: the only thing that makes a family, notify or cool-down step act.

Anyone with lambda:InvokeFunction can call Warden's functions with a hand-built state. So Triage
signs what it decided with a KMS HMAC key (template.yaml `AuthorizationKey`) whose key policy lets
only Warden's own roles call kms:GenerateMac; every later step verifies that signature (one
kms:VerifyMac) before its first AWS read or write:

    authorization = {"execution": <Step Functions execution ARN>, "decision": "enforce",
                     "expires_at": 1764600000, "mac": <base64 HMAC-SHA-256>}

The MAC covers the execution, the whole finding (its SHA-256: the resource, the principal, the key
id...), the remediation and its family, the decision and the expiry. Changing any of them in the
state, or handing the authorization to another execution, makes VerifyMac fail.

Consumed once: each step marks (execution, state name, decision) with a conditional write before
it acts. The workflow's own retries pass `$$.State.RetryCount`; a retry may take the mark over only
after the earlier attempt recorded that it failed, so replaying a captured, genuine input a second
time is refused too. The marks of the family steps and of Notify (`deferred`) live in the
finding's audit record, written by the step's first record write (warden.audit.update(mark=...)):
Notify's outcome, still before it publishes (a failed attempt undoes that write); a family step's
before-snapshot, after reading the resource and before changing it (a failed attempt keeps the
snapshot, the true before-state of what it may have changed); a family step that tells on-call
itself that its fix is verified writes Notify's mark too, with the verification (`fixed_and_told`).
Notify without a finding (a rejected event, the settings alert) and the throttle's cool-down rounds (`required`) mark in the dedupe table.

A refusal changes nothing: `Unauthorized` names why, is logged and counted (metric Unauthorized).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from warden.aws import client
from warden.observability import logger, metrics
from warden.remediations.base import WardenError

MAC_ALGORITHM = "HMAC_SHA_256"
# Long enough for the workflow's retries (RetryLater: ten attempts, 30 s x 1.5^n apart, about an
# hour) and the throttle's cool-down rounds, which Triage adds when it knows them.
WORKFLOW_BUDGET_SECONDS = 2 * 3600
# Markers outlive the authorization, so an expired mark can never make a captured input usable again.
MARK_GRACE_SECONDS = 86400
MARK_PREFIX = "authorization#"


class Unauthorized(WardenError):
    """The input was not authorized by Triage for this execution; nothing was read or changed."""


def _key_id() -> str:
    key = os.environ.get("WARDEN_AUTHORIZATION_KEY")
    if not key:
        raise Unauthorized("this function has no WARDEN_AUTHORIZATION_KEY, so it cannot check an authorization")
    return key


def canonical(value: Any) -> bytes:
    """JSON that any two parsers agree on: sorted keys, no spaces, whole floats as integers
    (Step Functions may write 8.0 as 8)."""

    def normal(node: Any) -> Any:
        if isinstance(node, dict):
            return {str(k): normal(v) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [normal(v) for v in node]
        if isinstance(node, float) and node.is_integer():
            return int(node)
        return node

    return json.dumps(normal(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def digest(purpose: str, claims: dict[str, Any]) -> bytes:
    """The message to MAC: a purpose label and the SHA-256 of the claims (KMS takes 4 KB at most)."""
    return f"warden:{purpose}:v1:".encode() + hashlib.sha256(canonical(claims)).hexdigest().encode()


def sign(purpose: str, claims: dict[str, Any]) -> str:
    response = client("kms").generate_mac(KeyId=_key_id(), MacAlgorithm=MAC_ALGORITHM, Message=digest(purpose, claims))
    return base64.b64encode(response["Mac"]).decode()


def verified(purpose: str, claims: dict[str, Any], mac: Any, key_id: str | None = None) -> bool:
    """True only when KMS confirms `mac` is Warden's MAC over these claims (with `key_id`, that
    key's: the ApprovalKey for a person's answer)."""
    if not isinstance(mac, str) or not mac:
        return False
    try:
        raw = base64.b64decode(mac, validate=True)
    except ValueError:
        return False
    try:
        answer = client("kms").verify_mac(
            KeyId=key_id or _key_id(), MacAlgorithm=MAC_ALGORITHM, Message=digest(purpose, claims), Mac=raw
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("KMSInvalidMacException", "InvalidMacException"):
            return False
        raise
    return bool(answer.get("MacValid"))


# --- Triage's side ------------------------------------------------------------------------------


def _claims(execution: str, state: dict[str, Any], decision: str, expires_at: int) -> dict[str, Any]:
    return {
        "execution": execution,
        "finding": hashlib.sha256(canonical(state.get("finding"))).hexdigest(),
        "remediation": state.get("remediation"),
        "family": state.get("family"),
        "decision": decision,
        "reason": state.get("reason"),  # the text on-call reads
        "event_summary": state.get("event_summary"),
        "settings_alert": state.get("settings_alert"),
        "escalation": state.get("escalation"),  # what makes the message HIGH
        "redelivery_of": state.get("redelivery_of"),
        "expires_at": expires_at,
    }


def grant(triaged: dict[str, Any], execution: str | None, valid_for_seconds: int = 0) -> dict[str, Any] | None:
    """Triage's signature over its decision (one kms:GenerateMac); None outside a workflow execution."""
    if not execution:
        return None
    decision = triaged["decision"]
    expires_at = int(time.time()) + WORKFLOW_BUDGET_SECONDS + max(0, int(valid_for_seconds))
    mac = sign("authorization", _claims(execution, triaged, decision, expires_at))
    return {"execution": execution, "decision": decision, "expires_at": expires_at, "mac": mac}


# --- the before-snapshot's proof (rollback trusts nothing else) ---------------------------------


def _before_claims(finding: Any, remediation: Any, execution: Any, before: Any) -> dict[str, Any]:
    return {
        "finding": hashlib.sha256(canonical(finding)).hexdigest(),
        "finding_id": finding.get("id") if isinstance(finding, dict) else None,
        "resource_arn": finding.get("resource_arn") if isinstance(finding, dict) else None,
        "remediation": remediation,
        "execution": execution,
        "before": hashlib.sha256(canonical(before)).hexdigest(),
    }


def prove_before(state: dict[str, Any], before: Any) -> dict[str, Any]:
    """The family function's MAC over the before-snapshot it took, for this finding, remediation and
    execution: written beside the snapshot in the audit record (one kms:GenerateMac)."""
    execution = state["authorization"]["execution"]
    mac = sign("before-snapshot", _before_claims(state["finding"], state["remediation"], execution, before))
    return {"execution": execution, "mac": mac}


def before_is_wardens(finding: Any, remediation: Any, before: Any, proof: Any) -> bool:
    """True only when `proof` is Warden's MAC over exactly this snapshot, finding and remediation."""
    if not isinstance(proof, dict):
        return False
    return verified("before-snapshot", _before_claims(finding, remediation, proof.get("execution"), before), proof.get("mac"))


# --- a person's answer in approve mode (python -m warden_ops approve/reject) ---------------------

APPROVAL_FIELDS = ("approved", "by", "at", "reason")


def _approval_claims(finding_id: Any, execution: Any, answer: dict[str, Any]) -> dict[str, Any]:
    return {"finding_id": finding_id, "execution": execution, **{k: answer.get(k) for k in APPROVAL_FIELDS}}


def approval_message(finding_id: Any, execution: Any, answer: dict[str, Any]) -> bytes:
    """What an approver's MAC covers: the answer, for this finding and this waiting execution. The
    operator's command MACs it with the stack's ApprovalKey, which only ApproverPrincipalArns may
    use for kms:GenerateMac; Step Functions' task token alone is no proof (anyone who can read the
    audit record or the execution history holds it)."""
    return digest("approval", _approval_claims(finding_id, execution, answer))


def unsigned_approval(state: dict[str, Any]) -> str | None:
    """Why the person's answer in `state` ($.approval) cannot be believed, or None when an approver
    signed it for this finding and execution (one kms:VerifyMac with WARDEN_APPROVAL_KEY)."""
    answer = state.get("approval")
    if not isinstance(answer, dict):
        return "the workflow holds no answer"
    mac, key = answer.get("signature"), os.environ.get("WARDEN_APPROVAL_KEY")
    if not key:
        return "this function has no WARDEN_APPROVAL_KEY, so it cannot check who answered"
    if not isinstance(mac, str) or not mac:
        return "the answer carries no approver's signature: it was not sent by python -m warden_ops approve/reject"
    claims = _approval_claims((state.get("finding") or {}).get("id"), (state.get("authorization") or {}).get("execution"), answer)
    if not verified("approval", claims, mac, key_id=key):
        return "its signature is not an approver's for this finding and execution (forged, altered or moved)"
    return None


# --- the consumers' side ------------------------------------------------------------------------


def refused(step: str, why: str, state: dict[str, Any] | None = None) -> Unauthorized:
    """The error for a refused workflow input, logged and counted; raise it before any other AWS call."""
    return _refuse(step, why, state or {})


def refusal(message: str) -> Unauthorized:
    """Any other refused input (e.g. an alarm action that CloudWatch did not send), logged and counted."""
    metrics.add_metric(name="Unauthorized", unit=MetricUnit.Count, value=1)
    logger.warning("refused", extra={"why": message})
    return Unauthorized(message)


def _refuse(step: str, why: str, state: dict[str, Any], nothing: str = "Nothing was read or changed.") -> Unauthorized:
    finding_id = (state.get("finding") or {}).get("id") if isinstance(state.get("finding"), dict) else None
    metrics.add_metric(name="Unauthorized", unit=MetricUnit.Count, value=1)
    logger.warning("refused: not authorized by Triage", extra={"step": step, "why": why, "finding_id": finding_id})
    what = f"finding {finding_id}" if finding_id else "this input"
    return Unauthorized(f"{step}: {what} was not authorized by Triage for this execution: {why}. {nothing}")


def _check(payload: dict[str, Any], steps: tuple[str, ...]) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """(state, step, authorization) when the payload carries a valid authorization; else Unauthorized."""
    state = payload.get("state")
    step = payload.get("step")
    state = state if isinstance(state, dict) else {}
    shown_step = step if isinstance(step, str) else "?"
    if step not in steps:
        raise _refuse(shown_step, f"step {step!r} is not one this function runs ({', '.join(steps)})", state)
    authorization = state.get("authorization")
    if not isinstance(authorization, dict):
        raise _refuse(step, "the state carries no authorization", state)
    execution, decision = authorization.get("execution"), authorization.get("decision")
    expires_at = authorization.get("expires_at")
    if payload.get("execution") != execution:
        raise _refuse(step, "the authorization belongs to another execution", state)
    if not isinstance(expires_at, int) or isinstance(expires_at, bool):
        raise _refuse(step, "the authorization has no expiry", state)
    if state.get("decision") != decision and not _approved(state, decision):
        raise _refuse(step, f"the state's decision {state.get('decision')!r} is not the one Triage made ({decision!r})", state)
    if not verified("authorization", _claims(execution, state, decision, expires_at), authorization.get("mac")):
        raise _refuse(step, "its signature does not match the finding, remediation and decision it carries (forged or altered)", state)
    if expires_at < time.time():
        raise _refuse(step, f"the authorization expired at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(expires_at))}", state)
    return state, step, authorization


def _approved(state: dict[str, Any], signed_decision: str) -> bool:
    """approve mode: after a person's answer the workflow sets the decision to enforce (ASL Approved)."""
    return signed_decision == "approve" and state.get("decision") == "enforce" and (state.get("approval") or {}).get("approved") is True


def _mark_key(authorization: dict[str, Any], step: str, state: dict[str, Any], occurrence: int) -> str:
    # The decision tells approve mode's two runs of one state apart: the plan, then the approved apply.
    return f"{MARK_PREFIX}{authorization['execution']}#{_group(step, state)}#{state.get('decision')}#{occurrence}"


def _group(step: str, state: dict[str, Any]) -> str:
    """Notify states share marks: the workflow tells on-call once per phase (settings that switch
    protection off, the approval request, the outcome, and after a throttle's cool-down the restore,
    escalation or failure), so a
    captured authorization cannot page again through another Notify state's name."""
    if step in ("AwaitApproval", "NotifySettingsRemoveProtection"):
        return step  # each precedes the outcome's message
    if step.startswith("Notify"):
        # After a throttle's first message ($.notification), the cool-down ends in one more.
        return "NotifyAfterCooldown" if step in ("NotifyRestored", "NotifyEscalated") or "notification" in state else "Notify"
    return step


def _consume(key: str, retry: int, expires_at: int, step: str, state: dict[str, Any]) -> None:
    try:
        client("dynamodb").update_item(
            TableName=os.environ["WARDEN_DEDUPE_TABLE"],
            Key={"id": {"S": key}},
            UpdateExpression="SET attempt = :attempt, outcome = :running, expiration = :expiration",
            ConditionExpression="attribute_not_exists(id) OR (attempt < :attempt AND outcome = :failed)",
            ExpressionAttributeValues={
                ":attempt": {"N": str(retry)},
                ":running": {"S": "running"},
                ":failed": {"S": "failed"},
                ":expiration": {"N": str(expires_at + MARK_GRACE_SECONDS)},
            },
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise _refuse(step, "this step already ran with this authorization (a replay)", state) from None
        raise


def _release(key: str) -> None:
    """The attempt failed: the workflow's next retry may take the mark over."""
    try:
        client("dynamodb").update_item(
            TableName=os.environ["WARDEN_DEDUPE_TABLE"],
            Key={"id": {"S": key}},
            UpdateExpression="SET outcome = :failed",
            ExpressionAttributeValues={":failed": {"S": "failed"}},
        )
    except ClientError as error:  # the step's own error is what matters; this one is only logged
        logger.warning("could not record the failed attempt", extra={"error": str(error)})


@dataclass
class Mark:
    """A step's consume-once mark, checked but not written yet (`deferred`): written before the
    step acts, either alone (`consume`) or in the finding's audit record together with what the
    step records there (warden.audit.update / record_attempt with mark=...)."""

    key: str  # the dedupe table's key; in an audit record, the same without the prefix
    attempt: int
    expires_at: int
    step: str
    state: dict[str, Any]
    # With the before-snapshot (`deferred(snapshot=True)`): the resource was read before the mark is
    # written, and a failed attempt keeps what it recorded (the true before-state of a partial fix).
    snapshot: bool = False
    # What a failed attempt puts back as it was, of what it wrote with the mark (None: all of it).
    restores: tuple[str, ...] | None = None
    undo: Callable[[], None] | None = None  # set once written: what a failed attempt runs

    def consume(self) -> None:
        """Alone, in the dedupe table: for a step that records nothing on a finding."""
        _consume(self.key, self.attempt, self.expires_at, self.step, self.state)
        self.undo = lambda: _release(self.key)

    def replay(self) -> Unauthorized:
        nothing = "It read the resource; nothing was changed or recorded." if self.snapshot else "Nothing was read or changed."
        return _refuse(self.step, "this step already ran with this authorization (a replay)", self.state, nothing)

    def refuses(self, item: dict[str, Any]) -> bool:
        """Whether the mark in this raw audit item refuses this attempt (`in_record`'s condition)."""
        held = (((item.get("marks") or {}).get("M") or {}).get(self.key.removeprefix(MARK_PREFIX)) or {}).get("M")
        if held is None:
            return False
        return not (int(held.get("attempt", {}).get("N", "0")) < self.attempt and held.get("state", {}).get("S") == "failed")

    def in_record(self, now: str) -> dict[str, Any]:
        """The mark as part of an audit record update: under `marks`, keyed by execution, state
        group, decision and round; the same take-over rule as `_consume`."""
        return {
            "path": "#marks.#mark",
            "names": {"#marks": "marks", "#mark": self.key.removeprefix(MARK_PREFIX), "#attempt": "attempt", "#state": "state"},
            "values": {":mark": {"M": {"attempt": {"N": str(self.attempt)}, "state": {"S": "running"}, "at": {"S": now}}},
                       ":mark_attempt": {"N": str(self.attempt)}, ":mark_failed": {"S": "failed"}},  # fmt: skip
            "condition": "(attribute_not_exists(#marks.#mark) OR (#marks.#mark.#attempt < :mark_attempt AND #marks.#mark.#state = :mark_failed))",
            "failed": "#marks.#mark.#state = :mark_failed",
        }


def fixed_and_told(state: dict[str, Any], restores: tuple[str, ...]) -> Mark:
    """The mark of the workflow's outcome message (NotifyRemediated's, round 0), for a family step
    that tells on-call itself that its fix is verified: written with the fix's verification as
    attempt -1, so a replay of NotifyRemediated is refused, and set failed if the family's publish
    fails, so the workflow's NotifyRemediated (retry 0) takes it over and tells on-call instead.
    `restores`: the outcome fields that write adds, put back if the publish fails."""
    signed = state["authorization"]
    return Mark(_mark_key(signed, "NotifyRemediated", state, 0), -1, signed["expires_at"], "NotifyRemediated", state, restores=restores)


@contextmanager
def deferred(payload: dict[str, Any], steps: tuple[str, ...], snapshot: bool = False) -> Iterator[Mark]:
    """Check a workflow step's payload like `required`, and yield its Mark unwritten: the step
    writes it (Mark.consume, or with its audit write) before it acts. A failed attempt undoes it.
    `snapshot`: written with the family step's before-snapshot (see Mark.snapshot)."""
    mark = _checked(payload, steps, None)
    mark.snapshot = snapshot
    try:
        yield mark
    except Unauthorized:
        raise
    except Exception:
        if mark.undo is not None:
            mark.undo()
        raise
    if mark.undo is None:
        raise RuntimeError(f"{mark.step} acted without consuming its authorization")  # a bug in Warden, not an input


def _checked(payload: Any, steps: tuple[str, ...], occurrence: Callable[[dict], Any] | None) -> Mark:
    if not isinstance(payload, dict):
        raise _refuse("?", f"the input is a {type(payload).__name__}, not a workflow step's payload", {})
    state, step, authorization = _check(payload, steps)
    retry = payload.get("retry", 0)
    if not isinstance(retry, int) or isinstance(retry, bool) or retry < 0:
        raise _refuse(step, f"retry {retry!r} is not a retry count", state)
    nth = occurrence(state) if occurrence else 0
    if not isinstance(nth, int) or isinstance(nth, bool) or nth < 0:
        raise _refuse(step, f"round {nth!r} is not a count", state)
    return Mark(_mark_key(authorization, step, state, nth), retry, authorization["expires_at"], step, state)


@contextmanager
def required(payload: dict[str, Any], steps: tuple[str, ...], occurrence: Callable[[dict], Any] | None = None) -> Iterator[dict[str, Any]]:
    """Check and consume the authorization of a workflow step's payload ({"state", "execution",
    "step", "retry"}), then yield the state. Raises Unauthorized before anything else is done.
    `occurrence` tells apart the legitimate runs of a state in a loop (the cool-down rounds)."""
    mark = _checked(payload, steps, occurrence)
    mark.consume()
    try:
        yield mark.state
    except Unauthorized:
        raise
    except Exception:
        _release(mark.key)
        raise
