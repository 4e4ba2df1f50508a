"""Which remediation answers which finding. Imports every remediation module so they register."""

from __future__ import annotations

from warden.finding import Finding
from warden.remediations import (  # noqa: F401
    bedrock_logging,
    encryption,
    iam,
    kms,
    s3_public,
    sagemaker,
    sagemaker_endpoint,
    sagemaker_recreate,
    throttle,
    trail_logging,
)
from warden.remediations.base import REMEDIATIONS, Remediation


def _triggered_by(remediation: Remediation, finding: Finding) -> bool:
    triggers = remediation.triggers
    if finding.source == "cloudtrail":
        return finding.type in triggers.cloudtrail_events
    if finding.source == "config":
        # Conformance packs and Security Hub deploy managed rules with a prefix or suffix.
        return any(rule in finding.type for rule in triggers.config_rules)
    if finding.source == "guardduty":
        return finding.type in triggers.guardduty_types
    if finding.source == "cloudwatch":
        return finding.type in triggers.alarm_metrics
    if finding.source == "securityhub":
        return finding.type in triggers.securityhub_controls
    if finding.source == "macie":
        return finding.type in triggers.macie_types
    return False


def remediation_for(finding: Finding) -> Remediation | None:
    """The one remediation for this finding's resource type and trigger, if any."""
    for remediation in REMEDIATIONS.values():
        if remediation.handles(finding.resource_type) and _triggered_by(remediation, finding):
            return remediation
    return None


def get(name: str) -> Remediation:
    return REMEDIATIONS[name]


def all_remediations() -> list[Remediation]:
    return list(REMEDIATIONS.values())


def family(name: str) -> list[Remediation]:
    return [r for r in REMEDIATIONS.values() if r.family == name]
