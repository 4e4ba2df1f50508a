"""Raw EventBridge events -> one `Finding` shape, one parser per source. No AWS calls here.

Every way an event can be wrong ends in `RejectedEvent` with a reason that names the field,
so on-call is told what was wrong instead of the workflow failing with a stack trace.

Each source is a module that declares the detail-types it parses (its PARSERS); `parse_finding` checks
what every event must satisfy, picks the source's parser by detail-type, and handles GuardDuty samples.
A source's module is imported with its first event: a Triage cold start creates the pydantic models of
the one source it parses, not those of all six.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from importlib import import_module
from typing import Any

from aws_lambda_powertools.utilities.parser import ValidationError

from warden.finding import ACCOUNT_RESOURCE_TYPE, SWEEP_SOURCE, Finding, account_resource
from warden.findings.base import RejectedEvent, describe
from warden.samples import sample_of

__all__ = [
    "ACCOUNT_RESOURCE_TYPE", "MAX_EVENT_BYTES", "MAX_EVENT_DEPTH", "SOURCES", "Finding", "RejectedEvent", "account_resource",
    "parse_finding",
]  # fmt: skip

MAX_EVENT_BYTES = 256 * 1024  # EventBridge's own limit; anything bigger did not come from it
MAX_EVENT_DEPTH = 32  # real events nest less than 10 levels; deeper is hostile

# detail-type -> the module (warden.findings.<module>) whose PARSERS parses it
SOURCES = {
    "AWS API Call via CloudTrail": "cloudtrail",
    "Config Rules Compliance Change": "config",
    "GuardDuty Finding": "guardduty",
    "CloudWatch Alarm State Change": "alarms",
    "Security Hub Findings - Imported": "securityhub",
    "Macie Finding": "macie",
}


def _deeper_than(value: Any, limit: int) -> bool:
    """Iterative, so a hostile event cannot exhaust the stack while we measure it."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _aggregated_here(finding: Finding, envelope_account: Any) -> bool:
    """A Security Hub administrator receives its members' findings on its own default bus: the
    envelope is this stack's account, the finding names the member (organization mode; Triage then
    accepts it only for a guarded member). No one can put an aws.securityhub event on a bus."""
    return finding.source == "securityhub" and envelope_account == os.environ.get("WARDEN_ACCOUNT_ID")


def parse_finding(event: Any) -> Finding:
    """Turn one raw EventBridge event into a Finding, or raise RejectedEvent saying why not."""
    if not isinstance(event, dict):
        raise RejectedEvent(f"event must be a JSON object, got {type(event).__name__}")
    if _deeper_than(event, MAX_EVENT_DEPTH):  # first: json.dumps itself recurses
        raise RejectedEvent(f"event is nested more than {MAX_EVENT_DEPTH} levels deep")
    try:
        size = len(json.dumps(event))
    except (TypeError, ValueError) as error:
        raise RejectedEvent(f"event is not serialisable JSON: {error}") from None
    if size > MAX_EVENT_BYTES:
        raise RejectedEvent(f"event is {size} bytes, over EventBridge's {MAX_EVENT_BYTES}-byte limit")
    detail_type = event.get("detail-type")
    source = SOURCES.get(detail_type) if isinstance(detail_type, str) else None
    if source is None:
        raise RejectedEvent(
            f"unknown detail-type {str(detail_type)[:100]!r}; expected one of {sorted(SOURCES)}"
        )
    parser = import_module(f"warden.findings.{source}").PARSERS[detail_type]
    sample = sample_of(event)  # GuardDuty's "Generate sample findings": a wiring test, never acted on
    try:
        finding = parser(event)
    except (ValidationError, RejectedEvent) as error:
        if sample is None:
            if isinstance(error, RejectedEvent):
                raise
            raise RejectedEvent(f"{detail_type} event is malformed: {describe(error)}") from None
        from warden.findings.guardduty import sample_finding

        finding = sample_finding(sample, event["detail"])  # its placeholders fail validation
    envelope_account = event.get("account")
    if envelope_account != finding.account and not _aggregated_here(finding, envelope_account):
        # EventBridge sets `account`; the detail is the source's claim. A mismatch is forged or relayed wrongly.
        raise RejectedEvent(
            f"the event's account {str(envelope_account)[:20]!r} is not the account its detail names "
            f"({finding.account}): Warden acts only on events whose envelope and detail agree"
        )
    if sample is not None:
        finding = replace(finding, details={**finding.details, "sample": True, "sample_reason": sample.why})
    if event.get("source") == SWEEP_SOURCE:
        finding = replace(finding, details={**finding.details, "found_by": "sweep"})
    return finding
