"""The three workflow steps the Lambda handlers run: triage, remediate (verify, and tell on-call a fix is verified), notify.

Each takes and returns plain JSON (the Step Functions state), so the handlers stay one line and
the same code runs in Lambda, in the local twin and in tests.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from botocore.exceptions import ClientError

from warden import audit, authorization, dedupe, macie, organization, ownership, prevention, registry, reverts, securityhub, template_patches
from warden.aws import client, for_finding
from warden.confirm import verdict
from warden.finding import Finding
from warden.notify import Message, compose, compose_alarm, publish_arguments
from warden.observability import logger, metrics, outcome_metric
from warden.policy import Settings, caused_by_warden, exemption, protected_reason
from warden.remediations.base import (
    Change,
    NotRemediable,
    NotVerified,
    Remediation,
    ResourceGone,
    StillExposed,
    WardenError,
    retry_later_when_throttled,
)
from warden.settings import for_account
from warden.settings import load as load_settings

# --- triage ------------------------------------------------------------------------------------


def _event_summary(event: Any) -> str:
    if not isinstance(event, dict):
        return f"a {type(event).__name__}, not a JSON object"
    fields = {k: event.get(k) for k in ("id", "source", "detail-type", "account", "region", "time")}
    return ", ".join(f"{k}={str(v)[:80]!r}" for k, v in fields.items() if v is not None) or "no EventBridge envelope"


def _decide(finding: Finding, remediation: Remediation, settings: Settings, facts: dict | None = None) -> tuple[str, str, str | None]:
    """(decision, reason, escalation); the reason also tells what on-call should know whatever the
    decision: an exemption that expired, settings that were rejected, a forged dedupe record. `facts`
    receives what was read on the way (the resource's tags), so nothing is read twice. The
    escalation, when set, makes the outcome's message HIGH (a resource re-exposed after a fix)."""
    notes, escalation = list(settings.notes), []
    if finding.sample:  # before anything is read: a sample's names are placeholders, never acted on
        decision, reason = "wiring-test", wiring_test_reason(finding, remediation, settings)
    else:
        decision, reason = _decision(finding, remediation, settings, notes, {} if facts is None else facts, escalation)
    return decision, "; ".join([reason, *notes]), (escalation[0] if escalation else None)


# What each mode would make of a real finding, in a wiring test's answer.
MODE_WOULD = {
    "enforce": "it would apply that at once",
    "dry-run": "it would only report it",
    "approve": "it would ask a person to approve it first",
    "off": "it would leave the finding alone",
}


def _why_sample(finding: Finding) -> str:
    why = finding.details.get("sample_reason")  # GuardDuty: the flag, or its placeholder ids (warden.samples)
    return f" ({why})" if why else ""


def wiring_test_reason(finding: Finding, remediation: Remediation, settings: Settings) -> str:
    """A sample finding's answer: what Warden would do with a real one, having read and changed nothing."""
    mode, source = settings.mode_of(remediation.name, remediation.family)
    return (
        f"{finding.source} marked this finding a sample{_why_sample(finding)}, so it is a wiring test: Warden read nothing and changed "
        f"nothing. For a real {finding.type} finding it would run {remediation.name}: {remediation.describe()}. "
        f"{source} is {mode}, so {MODE_WOULD.get(mode, 'it would act as that mode says')}"
    )


def _decision(
    finding: Finding, remediation: Remediation, settings: Settings, notes: list[str], facts: dict, escalation: list[str]
) -> tuple[str, str]:
    unguarded = organization.unguarded_reason(finding.account)
    if unguarded:
        return "rejected", unguarded
    mode, source = settings.mode_of(remediation.name, remediation.family)
    if mode == "off":
        return "ignored", f"{source} is off: Warden leaves this finding alone (nothing read, nothing changed)"
    if finding.source == "config" and finding.type.startswith("securityhub-") and securityhub.enabled():
        return "ignored", (
            "Security Hub reports this evaluation as its own control finding; Warden acts on that one and updates it"
        )
    if caused_by_warden(finding, settings):
        return "ignored", f"caused by Warden's own role ({finding.actor}); not remediating its own change"
    reason = getattr(remediation, "ignore_reason", lambda _: None)(finding)
    if reason:
        return "ignored", reason
    aws = for_finding(finding, acting_as="triage")
    with retry_later_when_throttled("confirming the finding with its source"):
        refused = verdict(finding, aws, settings, required=remediation.acts_on_finding_alone)
    if refused:
        metrics.add_metric(name="FindingsUnconfirmed", unit=MetricUnit.Count, value=1)
        decision, reason = refused
        return decision, (f"not confirmed by its source: {reason}; nothing was changed" if decision == "rejected" else reason)
    try:
        with retry_later_when_throttled("reading the resource's tags and principals"):  # before any write
            reason = remediation.needless_reason(finding, aws)
            if reason:
                return "ignored", reason
            tags = remediation.resource_tags(finding, aws)
            principals = remediation.principals(finding, aws)
    except ResourceGone as gone:
        return "resource-gone", f"{gone}, so nothing is left to fix"
    facts["tags"] = tags  # who owns the resource comes from the same tags (warden.ownership)
    reason, expired = exemption(finding, tags, settings)
    notes[:0] = expired
    if reason:
        return "exempt", reason
    for principal in principals:
        reason = protected_reason(principal, settings)
        if reason:
            return "exempt", f"the fix would change {principal}, a protected principal: {reason}"
    owner = ownership.classify(tags, settings.iac, taggable=bool(remediation.tag_permissions))
    facts["owner"] = owner
    # The resource's deployer undoing Warden's fix: fixed once more and escalated, later only recorded
    # (warden.reverts). Checked before the dedupe window, which would call a quick revert a duplicate.
    revert = reverts.check(finding, remediation.name, settings.iac, owner)
    if revert is not None and revert.count == 1:
        # One deploy makes several calls at once (policy, ACL, public access block): only one of their
        # findings may be the first revert, so the first one claims it for the window, atomically.
        key = f"revert#{remediation.name}#{finding.account}#{finding.region}#{finding.resource_arn}"
        if dedupe.claim(key, finding.id, max(1, revert.window_seconds)).holder != finding.id:
            revert = dataclasses.replace(revert, count=2)
    if revert is not None:
        facts["revert"] = revert.to_dict()
        if revert.count > 1:
            return "ignored", revert.reason()
        return mode, f"{source} is {mode}; {revert.reason()}"
    # Account and region are part of the key: in an organization, accounts share region-wide settings
    # such as EBS encryption by default, whose findings name no ARN of their own.
    dedupe_key = f"{remediation.name}#{finding.account}#{finding.region}#{finding.resource_arn}"
    # Claimed with the decision's record, in one request (_recorded): decided as won until then.
    facts["window"] = _Window(dedupe_key, mode, source, aws, notes, escalation)
    return mode, f"{source} is {mode}"


@dataclass
class _Window:
    """The dedupe claim a decision waits on, with what deciding again needs: `notes` and
    `escalation` are _decide's own lists, so a forged claim's note reaches the reason."""

    key: str
    mode: str
    source: str
    aws: Any
    notes: list[str]
    escalation: list[str]

    def won(self) -> tuple[str, str, str | None]:
        return self.mode, "; ".join([f"{self.source} is {self.mode}", *self.notes]), None

    def held(self, finding: Finding, remediation: Remediation, settings: Settings, claim: dedupe.Claim) -> tuple[str, str, str | None]:
        """The decision when `claim` (not this finding's, not forged) holds the window."""
        if claim.holder == finding.id:  # this finding's own claim (an earlier delivery's)
            return self.won()
        decision, reason = _inside_the_window(finding, remediation, settings, self.aws, claim, self.key, self.mode, self.source, self.escalation)
        return decision, "; ".join([reason, *self.notes]), (self.escalation[0] if self.escalation else None)

    def ignore(self, forged: dedupe.Claim) -> None:
        metrics.add_metric(name="DedupeRecordsIgnored", unit=MetricUnit.Count, value=1)
        logger.warning("forged dedupe record ignored", extra={"key": self.key, "reason": forged.ignored})
        self.notes.append(forged.ignored)


# What a holder's outcome says about the resource being exposed now.
TOLD_A_PERSON = ("would-remediate", "awaiting-approval", "needs-decision", "approval-rejected", "expired")


def _inside_the_window(finding, remediation, settings, aws, held, key, mode, source, escalation) -> tuple[str, str]:
    """A finding for a resource another finding claimed within the window: a duplicate only if the
    resource is not exposed now, or the first finding is still being handled or asked a person."""
    window = settings.dedupe_window_seconds
    record = audit.read(held.holder) or {}
    outcome = record.get("outcome")
    if outcome == "failed":
        # The dedupe window stops storms, not recovery: after a failed fix the next finding tries again.
        return mode, f"{source} is {mode}; {held.holder} failed to fix this resource within the dedupe window, so Warden tries again"
    duplicate = f"{remediation.name} on this resource was already started by {held.holder} within the {window}s dedupe window"
    if outcome is None:
        return "duplicate", f"{duplicate}; that fix is still running"
    try:
        with retry_later_when_throttled("re-reading the resource inside the dedupe window"):
            exposed = remediation.verify(finding, aws)
    except ResourceGone as gone:
        return "resource-gone", f"{gone}, so nothing is left to fix"
    except WardenError as error:
        return mode, f"{source} is {mode}; {duplicate}, but re-reading the resource failed ({error}), so Warden looks again"
    if not exposed:
        return "duplicate", f"{duplicate}; re-read now, it is not exposed"
    now_exposed = "; ".join(exposed)
    if record.get("applied"):
        fixed_at = _moment((record.get("verification") or {}).get("verified_at") or record.get("notified_at") or record["updated_at"])
        happened = _moment(finding.time)
        if happened >= fixed_at:
            seconds, actor = int((happened - fixed_at).total_seconds()), finding.actor or "an unknown caller"
        else:  # this finding reports the first exposure; whoever undid the fix is in CloudTrail
            seconds, actor = int(_seconds_since(fixed_at.isoformat())), "someone CloudTrail names (this finding predates the fix)"
        escalation.append(f"re-exposed {seconds} seconds after the fix by {held.holder}, by {actor}")
        dedupe.claim(key, finding.id, window, take_over=True)  # later findings compare with this fix
        return mode, f"{source} is {mode}; {escalation[-1]}: {now_exposed}; Warden fixes it again"
    if outcome in TOLD_A_PERSON:
        return "duplicate", f"{duplicate}, which asked a person to act ({outcome}); it is still exposed: {now_exposed}"
    return mode, f"{source} is {mode}; {held.holder} found nothing to change ({outcome}), but it is exposed now: {now_exposed}"


def _settings_for(account: str, settings: Settings) -> Settings:
    """Organization mode: the settings with the account's and its OUs' own entries applied."""
    return for_account(settings, account, organization.ou_ids(account)) if settings.scoped else settings


def _resolved(finding: Finding, remediation: Remediation) -> Finding:
    """The finding with its resource's real ARN (remediation.resolve); as it was if that cannot be
    read now: the remediation looks it up again, and says so if it is gone."""
    try:
        with retry_later_when_throttled("resolving the resource's ARN"):
            return remediation.resolve(finding, for_finding(finding, acting_as="triage"))
    except (ClientError, WardenError) as error:
        logger.warning("resource ARN not resolved", extra={"error": str(error)})
        return finding


def triage(
    event: Any, lambda_context=None, execution: str | None = None, throttle_alarms: str = "", fast_path: bool = False
) -> dict[str, Any]:
    """Raw event -> {finding, remediation, family, decision, reason}, or decision 'rejected'; with
    `settings_alert` when these settings switch protection off and on-call was not told yet (the
    workflow pages with it first, whatever the decision). `fast_path`: Triage runs in the Express
    workflow, which hands what must wait to the Standard one (decision 'hand-over', with the event)."""
    settings = dataclasses.replace(load_settings(), throttle_alarms=throttle_alarms)
    triaged = _triage(event, settings, lambda_context, execution, fast_path)
    if settings.settings_alert:
        triaged["settings_alert"] = settings.settings_alert
    elif triaged["decision"] == "hand-over":
        return triaged  # nothing acts on it but the Standard workflow's start, which triages the event again
    return _authorized(triaged, execution, _authorization_lifetime(triaged, settings))


def _triage(event: Any, settings: Settings, lambda_context, execution: str | None, fast_path: bool = False) -> dict[str, Any]:
    from warden.findings import RejectedEvent, parse_finding  # the parser (pydantic): Triage's cold start only

    try:
        finding = parse_finding(event)
    except RejectedEvent as rejected:
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        logger.warning("event rejected", extra={"reason": str(rejected)})
        return {"decision": "rejected", "reason": str(rejected), "event_summary": _event_summary(event)}
    logger.set_correlation_id(finding.id)
    settings = _settings_for(finding.account, settings)
    remediation = registry.remediation_for(finding)
    if remediation is None:
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        reason = f"no remediation handles {finding.source} {finding.type!r} on {finding.resource_type}"
        return {"decision": "rejected", "reason": reason, "event_summary": _event_summary(event)}
    waits = _waits(remediation, settings) if fast_path else None
    if waits:  # nothing read or recorded: the Standard workflow's Triage decides, from the same event
        logger.info("handed over", extra={"reason": waits, "remediation": remediation.name})
        return {"decision": "hand-over", "reason": waits, "event": event}
    facts: dict[str, Any] = {}
    decision, reason, escalation = _decide(finding, remediation, settings, facts)
    finding, decision, reason, escalation, first = _recorded(finding, remediation, settings, execution, facts, decision, reason, escalation)
    owner = facts["owner"].to_dict() if "owner" in facts else None
    redelivery_of = None
    if first is not None:  # the same finding again: EventBridge redelivered it, or someone replayed it
        decision, reason, keeps_record = _redelivered(first, decision, reason)
        audit.record_attempt(finding.id, execution=execution, decision=decision, reason=reason)
        if keeps_record:
            redelivery_of = first.get("execution")
        else:  # the first delivery changed nothing: this one is the finding's decision now
            audit.update(finding.id, condition="no-fix-yet", decision=decision, reason=reason, execution=execution)
    metrics.add_dimension(name="decision", value=decision)
    metrics.add_metric(name="Findings", unit=MetricUnit.Count, value=1)
    logger.info("triaged", extra={"decision": decision, "reason": reason, "remediation": remediation.name})
    triaged = {
        "finding": finding.to_dict(),
        "remediation": remediation.name,
        "family": remediation.family,
        "decision": decision,
        "reason": reason,
    }
    if owner is not None:
        triaged["owner"] = owner
    if facts.get("revert"):
        triaged["revert"] = facts["revert"]
    member = organization.member_summary(finding.account)
    if member:  # organization mode: which account and OU, for the message
        triaged["member"] = member
    if escalation:  # on-call must look: Notify makes the outcome HIGH and says why
        triaged["escalation"] = escalation
    if redelivery_of:  # Notify adds its message to the record's attempts, leaving the first outcome
        triaged["redelivery_of"] = redelivery_of
    if decision == "approve":  # the workflow's wait for a person (TimeoutSecondsPath)
        triaged["approval_timeout_seconds"] = settings.approval_timeout_seconds
    return triaged


# The families the Express workflow runs (statemachines/fast_path.asl.json); the throttle's cool-downs
# wait for an alarm to clear, so its family runs in the Standard workflow only.
FAST_PATH_FAMILIES = ("s3_public", "encryption", "iam")


def _waits(remediation: Remediation, settings: Settings) -> str | None:
    """Why this finding's workflow may outlast an Express execution (5 minutes), or None."""
    mode, source = settings.mode_of(remediation.name, remediation.family)
    if mode == "approve":
        return f"{source} is approve: the workflow waits for a person's answer"
    if remediation.family not in FAST_PATH_FAMILIES:
        return f"{remediation.name} runs in the {remediation.family} family, whose cool-downs wait for its alarm to clear"
    if remediation.long_running:
        return f"{remediation.name} may take longer than an Express execution's 5 minutes"
    return None


def _prepared(finding: Finding, remediation: Remediation, decision: str, facts: dict) -> tuple[Finding, str | None]:
    """The finding as the record and the workflow state hold it, for this decision, and a note for the reason."""
    unread = None
    if macie.applies(finding, remediation.name, decision):  # Macie=enabled, a bucket Warden will act on
        finding, unread = macie.raise_if_sensitive(finding, for_finding(finding), facts.get("tags"))
        if finding.severity == "CRITICAL":
            metrics.add_metric(name="SensitiveDataRaised", unit=MetricUnit.Count, value=1)
    if decision in ("enforce", "dry-run", "approve", "exempt", "duplicate"):  # never for a sample: nothing is read
        finding = _resolved(finding, remediation)
    return finding.bounded(), unread  # from here on the finding is part of the workflow state (256 KB at most)


def _recorded(
    found: Finding, remediation: Remediation, settings: Settings, execution: str | None, facts: dict, decision: str, reason: str, escalation: str | None
) -> tuple[Finding, str, str, str | None, dict | None]:
    """(finding, decision, reason, escalation, the finding's earlier record or None): the decision
    written to the audit record. A decision that waits on the dedupe window claims it in the same
    request (one TransactWriteItems, warden.dedupe.Pending); when another finding holds it, the
    finding is decided again (duplicate, or fixed again) and that decision recorded alone."""
    window: _Window | None = facts.pop("window", None)
    pending = dedupe.Pending(window.key, found.id, settings.dedupe_window_seconds) if window else None
    owner = facts["owner"].to_dict() if "owner" in facts else None
    # What would have prevented the finding (proposed, never applied): the prevent report counts these.
    proposals = [p.id for p in prevention.proposals_for(remediation.name)] or None
    prepared: dict[str, tuple[Finding, str | None]] = {}  # per decision: a decision taken again reads nothing again

    def prepare(decision: str, reason: str) -> tuple[Finding, str]:
        if decision not in prepared:
            prepared[decision] = _prepared(found, remediation, decision, facts)
        finding, note = prepared[decision]
        return finding, f"{reason}; {note}" if note else reason

    while True:
        finding, noted = prepare(decision, reason)
        try:
            first = audit.record_decision(
                finding.to_dict(), decision, noted, remediation.name, execution, claim=pending.put() if pending else None,
                owner=owner, prevention=proposals, revert=facts.get("revert"),
            )  # fmt: skip
        except audit.ClaimHeld as refused:
            claim = pending.refused_by(refused.held)
            if claim.ignored:  # forged: replaced by the next try, and named in the reason
                window.ignore(claim)
                pending = pending.replacing(claim)
                decision, reason, escalation = window.won()
            else:
                pending = None
                decision, reason, escalation = window.held(found, remediation, settings, claim)
            continue
        if first is not None and pending is not None:
            # A redelivery: the record exists, so the claim was not written either; claimed alone, as before.
            claim = dedupe.claim(window.key, found.id, settings.dedupe_window_seconds)
            if claim.ignored:
                window.ignore(claim)
                decision, reason, escalation = window.won()
            else:
                decision, reason, escalation = window.held(found, remediation, settings, claim)
            finding, noted = prepare(decision, reason)
        return finding, decision, noted, escalation, first


def _redelivered(first: dict[str, Any], decision: str, reason: str) -> tuple[str, str, bool]:
    """(decision, reason, whether the first record stays as it is) for a finding that already has a
    record. Once Warden changed something for it (or is changing it), a redelivery never acts again:
    its before-snapshot would be Warden's own fix, or a state someone changed since. It becomes a
    `duplicate`, recorded as an attempt. After a failed fix it tries again (the record keeps the
    failed run's before-snapshot, the true before-state of what that run changed). If the first
    delivery changed nothing (ignored, exempt, dry-run...), this one is decided afresh."""
    by = f"execution {first.get('execution')} at {first.get('recorded_at')}"
    if first.get("outcome") == "failed":
        if decision in ("enforce", "approve"):
            return decision, f"{reason}; this finding was delivered again after its first fix ({by}) failed, so Warden tries again", False
        return decision, f"{reason}; this finding was delivered again (first: {by}, failed)", True
    acted = bool(first.get("applied")) or (first.get("decision") in ("enforce", "approve") and first.get("outcome") is None)
    if not acted:
        return decision, reason, False  # the earlier delivery stays in `attempts`
    if decision not in ("enforce", "approve"):
        return decision, f"{reason}; this finding was delivered again (first: {by})", True
    outcome = first.get("outcome") or "still running"
    return "duplicate", (
        f"this finding was already handled by {by} (decision {first.get('decision')!r}, outcome {outcome!r}); "
        "a redelivery or replay is recorded as an attempt and never re-applied"
    ), True


THROTTLE_LONGEST_SECONDS = 86400 * 97


def _authorization_lifetime(triaged: dict[str, Any], settings: Settings) -> int:
    """Seconds beyond the workflow's own budget: the wait for a person, a throttle's cool-down rounds."""
    seconds = settings.approval_timeout_seconds if triaged["decision"] == "approve" else 0
    if triaged.get("family") == "throttle":
        # The cool-down rounds at their longest (template.yaml: CooldownSeconds x MaxCooldowns at most):
        # Triage does not hold the throttle's settings, and the marks still make each round run once.
        seconds += THROTTLE_LONGEST_SECONDS
    return seconds


def _authorized(triaged: dict[str, Any], execution: str | None, valid_for_seconds: int = 0) -> dict[str, Any]:
    """Triage's decision with its signature: the only input later steps act on (warden.authorization)."""
    signed = authorization.grant(triaged, execution, valid_for_seconds)
    return {**triaged, "authorization": signed} if signed else triaged


# --- remediate, and verify the fix ---------------------------------------------------------------


def _load(state: dict[str, Any], family: str | None = None) -> tuple[Finding, Remediation]:
    finding = Finding.from_dict(state["finding"])
    logger.set_correlation_id(finding.id)
    remediation = registry.get(state["remediation"])
    if family is not None and remediation.family != family:
        raise NotRemediable(f"{remediation.name} belongs to the {remediation.family} function, not {family}")
    return finding, remediation


FAMILY_STEPS = {"s3_public": "S3PublicAccess", "encryption": "Encryption", "iam": "Iam", "throttle": "Throttle"}


def remediate(payload: dict[str, Any], family: str) -> dict[str, Any]:
    """Snapshot, plan, and (only when enforcing) apply and verify. Returns before, changes, what was
    applied and the verification; raises StillExposed when the fix did not hold. Nothing happens
    unless Triage authorized this finding for this execution (warden.authorization)."""
    with authorization.deferred(payload, steps=(FAMILY_STEPS[family],), snapshot=True) as mark:
        if mark.state.get("approval"):  # approve mode: only an approver's answer makes the fix apply
            unsigned = authorization.unsigned_approval(mark.state)
            if unsigned:
                raise authorization.refused(mark.step, f"the approval is refused: {unsigned}", mark.state)
        return _remediate(mark.state, family, mark)


def _remediate(state: dict[str, Any], family: str, mark: authorization.Mark) -> dict[str, Any]:
    finding, remediation = _load(state, family)
    aws = for_finding(finding, acting_as=family.replace("_", "-"))
    with retry_later_when_throttled("reading the resource before the fix"):
        before = remediation.snapshot(finding, aws)
    changes = [change.to_dict() for change in remediation.plan(finding, before)]
    # Written before applying, so even a crash half-way leaves the exact before-state on record.
    recorded = {"approval": state["approval"]} if state.get("approval") else {}  # who approved (approve mode)
    owner = ownership.Owner.from_dict(state.get("owner"))
    template_patch = (
        [p.to_dict() for p in template_patches.patches_for(remediation.name, finding, before, changes)]
        if owner and owner.managed else []
    )  # fmt: skip
    if template_patch:  # the owner's next deploy reverts the fix unless its template changes
        recorded["template_patch"] = template_patch
    # The proof that Warden's remediation took this snapshot: rollback refuses a snapshot without it.
    proof = authorization.prove_before(state, before)
    # The same write consumes the step's authorization (a replay is refused here, before any change).
    try:
        audit.update(finding.id, condition="no-fix-yet", mark=mark, before=before, before_proof=proof, changes=changes, **recorded)
    except audit.AlreadyApplied:
        # A second run for this finding after a failed one: the first before-snapshot is the true
        # before-state of what that run changed, so the record keeps it; this one is an attempt.
        execution = state["authorization"]["execution"]
        audit.record_attempt(finding.id, mark=mark, execution=execution, step="before-snapshot kept", before=before, changes=changes)
    metrics.add_dimension(name="remediation", value=remediation.name)
    metrics.add_metric(name="Plans", unit=MetricUnit.Count, value=1)
    result = {"before": before, "before_proof": proof, "changes": changes, "applied": [], "changed": False,
              "advice": remediation.advice(finding, before) if changes else [], "template_patch": template_patch}  # fmt: skip
    if state["decision"] == "enforce" and changes:
        after = remediation.apply(finding, [Change.from_dict(c) for c in changes], aws)
        result["applied"] = after.pop("applied")
        result["changed"] = bool(result["applied"])
        metrics.add_metric(name="Remediations", unit=MetricUnit.Count, value=1)
        telling = family in TELLS_WHEN_FIXED and not state.get("redelivery_of")  # a redelivery's message is an attempt (Notify)
        result["verification"], told = _verify(finding, remediation, aws, result["applied"], after, result, state if telling else None)
        if told is not None:  # after the fix: whatever happens now, the step succeeds
            result |= told.tell()
    if not changes:
        nothing = {"outcome": "ignored", "reason": remediation.nothing_to_change(finding, before)}
        if state.get("redelivery_of"):  # the record keeps its first outcome
            audit.record_attempt(finding.id, execution=state["authorization"]["execution"], **nothing)
        else:
            audit.update(finding.id, **nothing)
    logger.info("remediation planned" if state["decision"] != "enforce" else "remediation applied",
                extra={"changes": len(changes), "applied": result["applied"]})
    return result


def _verify(
    finding: Finding, remediation: Remediation, aws, applied: list[str], after: dict, result: dict, telling: dict | None
) -> tuple[dict[str, Any], _Fixed | None]:
    """ONE fresh read right after apply is both the after-fix snapshot (rollback compares it with the
    resource then, to detect drift) and the verification, recorded with what was applied in one
    audit write. Raises StillExposed after that write if anything remains. A read that fails is
    raised too (the fix stands, recorded without an after-snapshot: rollback then needs --force); a
    throttled one is not retried: a retried step would re-plan from the fixed resource.
    `telling`: the workflow state when this step tells on-call itself that the fix is verified: that
    same write records the outcome (_Fixed), and the "Fixed" message is returned, to be sent."""
    try:
        after_snapshot, exposed = remediation.after_fix(finding, aws, result)
    except ResourceGone:
        audit.update(finding.id, condition="not-applied", applied=applied, after=after, after_snapshot=None)
        raise
    except (ClientError, WardenError) as error:
        audit.update(finding.id, condition="not-applied", applied=applied, after=after, after_snapshot=None)
        raise NotVerified(f"applied {', '.join(applied)}, but re-reading the resource to verify the fix failed: {error}") from None
    verified = "" if exposed else remediation.verified(finding, result)
    verification = {"exposed": exposed, "verified": verified, "verified_at": _now()}
    fix = {"applied": applied, "after": after, "after_snapshot": after_snapshot, "verification": verification}
    told = _Fixed.composed(telling, {**result, "verification": verification}) if telling and not exposed else None
    try:
        if told is not None:
            audit.update(finding.id, condition="not-applied", mark=told.mark, **fix, **told.recorded)
        else:
            audit.update(finding.id, condition="not-applied", **fix)
    except authorization.Unauthorized:  # NotifyRemediated's mark is taken already (a replay got there first)
        told = None
        audit.update(finding.id, condition="not-applied", **fix)
    # Its own metric (dimension result only, as the dashboard's still-exposed line reads it).
    with single_metric(name="Verifications", unit=MetricUnit.Count, value=1, namespace="Warden", default_dimensions={"service": "warden"}) as metric:
        metric.add_dimension(name="result", value="still-exposed" if exposed else "fixed")
    if exposed:  # what was applied, and its undo, are in the audit record
        raise StillExposed(
            f"applied {', '.join(applied)}, but re-read, the resource is still exposed: {'; '.join(exposed)}. "
            f"To undo what was applied: python -m warden_ops rollback {finding.id}"
        )
    return verification, told


# The families whose verified fix ends the workflow, told by the family step itself (two functions in
# all); the throttle's message starts its cool-down (NotifyThrottled), so Notify sends it.
TELLS_WHEN_FIXED = ("s3_public", "encryption", "iam")


@dataclass
class _Fixed:
    """The "Fixed" message of a verified fix, sent by the family step, exactly as Notify would send
    it: its outcome recorded in the fix's verification write, with the mark of the workflow's
    outcome message (so NotifyRemediated cannot page again), then Security Hub, then SNS. A failure
    after the fix never fails the step (its retry would plan again from the fixed resource): the
    outcome is put back, the mark set failed, and the workflow's NotifyRemediated tells on-call."""

    state: dict[str, Any]  # the workflow state as NotifyRemediated would get it (with `result`)
    message: Message
    recorded: dict[str, Any]  # the outcome fields, as Notify records them
    mark: authorization.Mark

    @classmethod
    def composed(cls, state: dict[str, Any], result: dict[str, Any]) -> _Fixed | None:
        fixed = {**state, "result": result}
        try:
            message = compose("remediated", fixed, state["authorization"]["execution"])
        except Exception as error:  # a bug here must not fail a step whose fix is applied
            logger.exception("the Fixed message could not be composed; NotifyRemediated tells on-call", extra={"error": str(error)})
            return None
        recorded = _outcome_record(message.attributes["outcome"], fixed)
        return cls(fixed, message, recorded, authorization.fixed_and_told(fixed, restores=tuple(recorded)))

    def tell(self) -> dict[str, Any]:
        """{"notified": True, "notification": ...}, or {"notified": False, "notify_error": ...}:
        the workflow then sends NotifyRemediated."""
        execution = self.state["authorization"]["execution"]
        try:
            message, _ = _reflected("remediated", self.state, execution, self.message, record=True)
            return {"notified": True, "notification": _publish(message, self.state["finding"])}
        except Exception as error:  # the fix stands whatever failed; NotifyRemediated tries again
            logger.warning("could not tell on-call; NotifyRemediated will", extra={"error": str(error)})
            self.mark.undo()
            return {"notified": False, "notify_error": f"{type(error).__name__}: {error}"[:1000]}


# --- notify ------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _moment(iso_time: str) -> datetime:
    moment = datetime.fromisoformat(iso_time)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _seconds_since(iso_time: str) -> float:
    return max(0.0, (datetime.now(timezone.utc) - datetime.fromisoformat(iso_time)).total_seconds())


# Every Notify state of the workflow (statemachines/remediation.asl.json) and the approval request.
NOTIFY_STEPS = (
    "NotifySettingsRemoveProtection", "NotifyWiringTest", "NotifyRemediated", "NotifyThrottled", "NotifyRestored", "NotifyEscalated", "NotifyWouldRemediate", "AwaitApproval",
    "NotifyApprovalRejected", "NotifyExpired", "NotifyExempt", "NotifyDuplicate", "NotifyResourceGone",
    "NotifyNeedsDecision", "NotifyRejected", "NotifyFailed",
)  # fmt: skip
TRIAGE_FAILED_STEP = "NotifyTriageFailed"


def notify(payload: dict[str, Any]) -> dict[str, Any]:
    """Publish one message for a workflow outcome, or for one of Warden's own CloudWatch alarms.
    A workflow outcome needs Triage's authorization; an alarm is read back from CloudWatch."""
    if isinstance(payload, dict) and "alarmData" in payload:
        return _publish(compose_alarm(_own_alarm_in_alarm(payload)), None)
    if isinstance(payload, dict) and payload.get("step") == TRIAGE_FAILED_STEP:
        return _notify_outcome(_triage_failure(payload), payload, None)  # no authorization exists: Triage failed
    with authorization.deferred(payload, steps=NOTIFY_STEPS) as mark:
        state = mark.state
        if payload.get("outcome") == "approval-rejected":
            payload = _rejection_believed(state, payload)
            state = payload["state"]
        return _notify_outcome(state, payload, mark)


def _rejection_believed(state: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """A rejection is recorded as a person's only when an approver signed it. Anyone else's answer
    (Step Functions' task token is readable by whoever reads the audit record) is told as a failure,
    HIGH, naming what was wrong: nothing was applied, and the exposure is still there."""
    unsigned = authorization.unsigned_approval(state)
    if unsigned is None:
        return payload
    metrics.add_metric(name="Unauthorized", unit=MetricUnit.Count, value=1)
    logger.warning("an unsigned approval answer was refused", extra={"why": unsigned})
    cause = (f"an answer to the approval request said reject, and Warden refused it: {unsigned}. Nothing was applied; "
             "the finding is still open. Whoever sent it could read the task token: see CloudTrail (states:SendTaskSuccess)")  # fmt: skip
    return {**payload, "outcome": "failed", "state": {**state, "error": {"Error": "Unauthorized", "Cause": cause}}}


def _own_alarm_in_alarm(payload: dict[str, Any]) -> dict[str, Any]:
    """The alarm action's payload, rebuilt from CloudWatch itself: the alarm must be one of Warden's
    own (WARDEN_OWN_ALARMS) and in ALARM now, so a hand-made payload cannot page with invented text."""
    data = payload.get("alarmData")
    name = data.get("alarmName") if isinstance(data, dict) else None
    own = [a for a in os.environ.get("WARDEN_OWN_ALARMS", "").split(",") if a]
    if name not in own:
        raise _alarm_refused(f"{str(name)[:80]!r} is not one of Warden's own alarms ({', '.join(own)})")
    described = client("cloudwatch").describe_alarms(AlarmNames=[name]).get("MetricAlarms", [])
    if not described:
        raise _alarm_refused(f"Warden's alarm {name} does not exist")
    alarm = described[0]
    if alarm["StateValue"] != "ALARM":
        raise _alarm_refused(f"Warden's alarm {name} is {alarm['StateValue']} in CloudWatch, not ALARM")
    return {
        "region": alarm["AlarmArn"].split(":")[3],
        "alarmData": {
            "alarmName": name,
            "state": {"value": alarm["StateValue"], "reason": alarm.get("StateReason", "")},
            "configuration": {"description": alarm.get("AlarmDescription", "")},
        },
    }


def _alarm_refused(why: str) -> authorization.Unauthorized:
    return authorization.refusal(f"Notify: refused an alarm action CloudWatch did not send: {why}. Nothing was published.")


def _triage_failure(payload: dict[str, Any]) -> dict[str, Any]:
    """Triage failed, so nothing is signed: the input must be the one the workflow itself scheduled
    for this Notify state, as its execution history shows (which no caller can write)."""
    execution = payload.get("execution")
    try:  # an execution whose triage failed is short: a page or two of history
        pages = client("stepfunctions").get_paginator("get_execution_history").paginate(executionArn=str(execution))
        events = [event for page in pages for event in page["events"]]
    except ClientError as error:
        raise authorization.refused(TRIAGE_FAILED_STEP, f"execution {str(execution)[:200]!r} cannot be read ({error})") from None
    scheduled = [json.loads(e["lambdaFunctionScheduledEventDetails"].get("input") or "null")
                 for e in events if e.get("type") == "LambdaFunctionScheduled"]  # fmt: skip
    scheduled.reverse()  # the latest first: the one this invocation answers
    if not scheduled or scheduled[0] != payload:
        raise authorization.refused(TRIAGE_FAILED_STEP, "the workflow did not schedule this input for this execution")
    return payload.get("state") or {}


def _notify_outcome(state: dict[str, Any], payload: dict[str, Any], mark: authorization.Mark | None) -> dict[str, Any]:
    """The outcome recorded (with the step's mark, in one conditional write), reflected in Security
    Hub, then published. `mark` is None only when Triage failed (nothing signed, nothing to mark)."""
    recorded: dict[str, Any] = {}  # what the audit record gets besides the outcome
    if payload.get("outcome") == "settings-changed":  # about the settings, not the finding: nothing recorded on it
        mark.consume()
        return _publish(compose(payload["outcome"], state, payload.get("execution")), None)
    if payload.get("task_token"):  # approve mode: the workflow waits for this token
        expires = datetime.now(timezone.utc) + timedelta(seconds=int(state.get("approval_timeout_seconds", 0)))
        recorded = {"approval_token": payload["task_token"], "approval_expires_at": expires.isoformat(timespec="seconds")}
        state = {**state, "approval_expires_at": recorded["approval_expires_at"]}
    message = compose(payload["outcome"], state, payload.get("execution"))
    finding = state.get("finding")
    if mark is not None:  # before anything is done: a replay stops here, having changed nothing
        _record_outcome(finding, state, message.attributes["outcome"], recorded, mark)
    message, security_hub = _reflected(payload["outcome"], state, payload.get("execution"), message,
                                       record=finding is not None and mark is not None and not state.get("redelivery_of"))  # fmt: skip
    published = _publish(message, finding)
    if mark is None and finding is not None:  # Triage failed: recorded once published, as nothing was marked
        _record_outcome(finding, state, published["outcome"], {**recorded, **({"security_hub": security_hub} if security_hub else {})}, None)
    return published


def _reflected(outcome: str, state: dict[str, Any], execution: str | None, message: Message, record: bool) -> tuple[Message, str | None]:
    """The outcome reflected in Security Hub before publishing, so the message can say what Security
    Hub now shows (or that updating it failed): (the message to publish, Security Hub's line).
    `record`: the line goes to the finding's audit record too (a second write, Security Hub enabled)."""
    security_hub = securityhub.report(outcome, state, message.subject, message.body)
    if not security_hub:
        return message, None
    if record:
        audit.update(state["finding"]["id"], security_hub=security_hub)
    return compose(outcome, {**state, "security_hub": security_hub}, execution), security_hub


def _outcome_record(outcome: str, state: dict[str, Any], **recorded: Any) -> dict[str, Any]:
    """What the finding's audit record gets when on-call is told an outcome (by Notify, or by the
    family step whose fix is verified): SNS's message id is not known before publishing, the
    execution's output holds it."""
    if state.get("approval"):  # approve mode: who answered, and how
        recorded["approval"] = state["approval"]
    return {"outcome": outcome, "notified_at": _now(), **recorded}


def _record_outcome(finding: dict | None, state: dict[str, Any], outcome: str, recorded: dict[str, Any], mark: authorization.Mark | None) -> None:
    """One write: the outcome on the finding's record (or, for a redelivery, its attempts) and the
    step's mark. Without a finding (a rejected event), the mark alone."""
    if finding is None:
        if mark is not None:
            mark.consume()
        return
    logger.set_correlation_id(finding["id"])
    if state.get("redelivery_of"):  # the record keeps the first run's outcome
        audit.record_attempt(finding["id"], mark=mark, outcome=outcome, notified_at=_now())
    else:
        audit.update(finding["id"], mark=mark, **_outcome_record(outcome, state, **recorded))


def _publish(message, finding: dict[str, Any] | None) -> dict[str, Any]:
    notification_format = os.environ.get("WARDEN_NOTIFICATION_FORMAT", "text")
    response = client("sns").publish(
        TopicArn=os.environ["WARDEN_TOPIC_ARN"], **publish_arguments(message, finding, notification_format)
    )
    outcome = message.attributes["outcome"]
    outcome_metric("Notifications", outcome)
    if outcome == "failed":
        outcome_metric("Failures", outcome)
    if finding is not None and outcome == "remediated":
        outcome_metric("TimeToRemediate", outcome, _seconds_since(finding["time"]), MetricUnit.Seconds)
    logger.info("notified", extra={"outcome": outcome, "subject": message.subject, "message_id": response["MessageId"]})
    return {"outcome": outcome, "message_id": response["MessageId"], "subject": message.subject}
