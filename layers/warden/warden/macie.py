"""What Amazon Macie knows about the data in a bucket that is public or lost its encryption.

Triage asks, once it has decided to act (enforce, dry-run or approve) on a public-bucket or
bucket-encryption finding, and only when the Macie parameter is enabled: Macie's sensitive-data
findings for that bucket in the last MacieLookbackDays days (ListFindings filtered on the bucket,
then GetFindings), or else a `warden:sensitive-data` tag the security team set on the bucket. If
either says the bucket holds sensitive data, the finding becomes CRITICAL and carries a summary:
categories and counts, never the data. Everything after triage (the approval request, the
messages, the audit record, Security Hub) reads it from the finding.

Disabled (the default): nothing here runs and no macie2 call is made. A Macie that cannot be
read (not enabled in the region, throttled, denied) never stops the fix: the reason says so.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from warden.finding import Finding

PERMISSIONS = ("macie2:ListFindings", "macie2:GetFindings")  # Triage's, only with Macie=enabled
SENSITIVE_TAG = "warden:sensitive-data"
# The fixes whose exposure is worse when the bucket holds sensitive data.
RAISED_REMEDIATIONS = frozenset({"s3-quarantine-public-bucket", "s3-restore-default-encryption"})
ACTING = frozenset({"enforce", "dry-run", "approve"})
MAX_FINDINGS = 50  # one page of ListFindings, one GetFindings: the newest 50 are enough to say what is there
_IDENTIFIER = re.compile(r"^[A-Z0-9_]{1,64}$")  # managed data identifier types, e.g. CREDIT_CARD_NUMBER


def enabled() -> bool:
    return os.environ.get("WARDEN_MACIE", "disabled") == "enabled"


def lookback_days() -> int:
    return int(os.environ.get("WARDEN_MACIE_LOOKBACK_DAYS", "30"))


def applies(finding: Finding, remediation_name: str, decision: str) -> bool:
    """Whether triage looks at all: Macie enabled, an S3 bucket, a fix Warden will plan."""
    return enabled() and decision in ACTING and remediation_name in RAISED_REMEDIATIONS and finding.resource_type == "AWS::S3::Bucket"


def _category_counts(findings: list[dict]) -> tuple[dict[str, int], dict[str, int]]:
    """(count per category, count per managed identifier type) over Macie's findings. Custom data
    identifiers are counted by category only: their names are the account's own text."""
    categories: dict[str, int] = {}
    types: dict[str, int] = {}
    for finding in findings:
        result = ((finding.get("classificationDetails") or {}).get("result")) or {}
        for item in result.get("sensitiveData") or []:
            category = str(item.get("category") or "OTHER")
            category = category if _IDENTIFIER.match(category) else "OTHER"
            categories[category] = categories.get(category, 0) + int(item.get("totalCount") or 0)
            for detection in item.get("detections") or []:
                kind = str(detection.get("type") or "")
                kind = kind if _IDENTIFIER.match(kind) else "OTHER"
                types[kind] = types.get(kind, 0) + int(detection.get("count") or 0)
        custom = int((result.get("customDataIdentifiers") or {}).get("totalCount") or 0)
        if custom:
            categories["CUSTOM_IDENTIFIER"] = categories.get("CUSTOM_IDENTIFIER", 0) + custom
    return categories, types


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def from_macie(macie, finding: Finding, now: datetime) -> dict[str, Any] | None:
    """The summary of Macie's active, non-sample sensitive-data findings for the bucket, or None."""
    since = now - timedelta(days=lookback_days())
    criterion = {
        "resourcesAffected.s3Bucket.name": {"eq": [finding.resource_name]},
        "accountId": {"eq": [finding.account]},
        "category": {"eq": ["CLASSIFICATION"]},
        "archived": {"eq": ["false"]},
        "sample": {"eq": ["false"]},
        "updatedAt": {"gte": int(since.timestamp() * 1000)},
    }
    listed = macie.list_findings(
        findingCriteria={"criterion": criterion},
        sortCriteria={"attributeName": "updatedAt", "orderBy": "DESC"},
        maxResults=MAX_FINDINGS,
    )
    ids = listed.get("findingIds") or []
    if not ids:
        return None
    found = macie.get_findings(findingIds=ids)["findings"]
    categories, types = _category_counts(found)
    if not categories:
        return None
    return {
        "source": "macie",
        "objects": len({((f.get("resourcesAffected") or {}).get("s3Object") or {}).get("key") for f in found}),
        "categories": categories,
        "types": types,
        "first_reported": min(_iso(f.get("createdAt")) for f in found),
        "lookback_days": lookback_days(),
        "macie_findings": [f["id"] for f in found[:5]],
        "more": bool(listed.get("nextToken")),
    }


def from_tag(tags: dict[str, str] | None) -> dict[str, Any] | None:
    """The security team's own word: a `warden:sensitive-data` tag on the bucket."""
    value = (tags or {}).get(SENSITIVE_TAG)
    if value is None:
        return None
    # Tag values allow letters, digits, spaces and + - = . _ : / @; anything else is not shown.
    return {"source": "tag", "tag": "".join(c for c in value if c.isalnum() or c in " +-=._:/@")[:128]}


def raise_if_sensitive(finding: Finding, aws, tags: dict[str, str] | None, now: datetime | None = None) -> tuple[Finding, str | None]:
    """(the finding, raised to CRITICAL with details["sensitive_data"] if the bucket holds sensitive
    data; a note for the reason when Macie could not be read)."""
    now = now or datetime.now(timezone.utc)
    note = None
    try:
        sensitive = from_macie(aws.client("macie2"), finding, now)
    except (ClientError, BotoCoreError) as error:
        code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else type(error).__name__
        note = f"Macie could not be read ({code}), so Warden could not tell whether the bucket holds sensitive data"
        sensitive = None
    sensitive = sensitive or from_tag(tags)
    if sensitive is None:
        return finding, note
    sensitive["severity_was"] = finding.severity
    return replace(finding, severity="CRITICAL", details={**finding.details, "sensitive_data": sensitive}), note


def describe(finding: dict) -> list[str]:
    """The message's lines on what the bucket holds and since when it has been exposed. Pure."""
    sensitive = (finding.get("details") or {}).get("sensitive_data")
    if not sensitive:
        return []
    lines = [f"SENSITIVE DATA IN THIS BUCKET (severity raised from {sensitive.get('severity_was', '?')} to CRITICAL)"]
    if sensitive.get("source") == "macie":
        more = " (the newest 50 findings; Macie holds more)" if sensitive.get("more") else ""
        lines.append(
            f"  Amazon Macie reported sensitive data in {sensitive['objects']} object(s) in the last "
            f"{sensitive['lookback_days']} days{more}, first on {sensitive['first_reported']}:"
        )
        types = sensitive.get("types") or {}
        for category, count in sorted(sensitive["categories"].items(), key=lambda item: -item[1]):
            lines.append(f"    {category}: {count}")
        if types:
            lines.append("    by type: " + ", ".join(f"{kind} {count}" for kind, count in sorted(types.items(), key=lambda item: -item[1])))
        lines.append(f"  Categories and counts only; the data itself stays in Macie (findings {', '.join(sensitive['macie_findings'])}).")
    else:
        lines.append(f"  The security team tagged the bucket {SENSITIVE_TAG}={sensitive.get('tag', '')!r}.")
    exposed = (finding.get("details") or {}).get("exposed_since") or finding.get("time")
    lines += [f"  Exposed since {exposed} ({finding['source']} {finding['type']}).", ""]
    return lines
