"""GuardDuty sample findings ("Generate sample findings"): how AWS tells people to test the wiring.

The parser marks them (details["sample"]) and triage answers them as a wiring test, before anything
is read: what Warden would do with a real finding of that type, nothing changed, the execution
succeeds, even when a sample's placeholders happen to name a real resource. Recognised here from the
raw event, because placeholder ids such as GeneratedFindingAccessKeyId fail the parser's validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The ids GuardDuty puts in sample findings where a real one names a resource or a principal.
PLACEHOLDER_PREFIX = "GeneratedFinding"
MAX_SCAN = 2000  # strings looked at for placeholders; a real resource section has a few dozen


@dataclass(frozen=True)
class Sample:
    finding_id: str
    finding_type: str
    account: str
    region: str
    why: str  # how Warden recognised it as a sample


def _strings(value: Any) -> list[str]:
    """Every string in `value`, iteratively and bounded (the event is untrusted)."""
    found, stack = [], [value]
    while stack and len(found) < MAX_SCAN:
        node = stack.pop()
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _text(value: Any, limit: int = 128) -> str:
    return str(value)[:limit] if value is not None else "?"


def sample_of(event: Any) -> Sample | None:
    """The sample this GuardDuty event is, or None for anything else (real findings included)."""
    if not isinstance(event, dict) or event.get("detail-type") != "GuardDuty Finding":
        return None
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return None
    service = detail.get("service") if isinstance(detail.get("service"), dict) else {}
    info = service.get("additionalInfo") if isinstance(service.get("additionalInfo"), dict) else {}
    placeholders = sorted({s for s in _strings(detail.get("resource")) if s.startswith(PLACEHOLDER_PREFIX)})
    if info.get("sample") is True or str(info.get("sample")).lower() == "true":
        why = "service.additionalInfo.sample is true"
    elif placeholders:
        why = f"its resource names GuardDuty's sample placeholders ({', '.join(placeholders[:3])})"
    else:
        return None
    return Sample(
        finding_id=_text(detail.get("arn") or detail.get("id"), 256),
        finding_type=_text(detail.get("type")),
        account=_text(detail.get("accountId") or event.get("account"), 12),
        region=_text(detail.get("region") or event.get("region"), 32),
        why=why,
    )
