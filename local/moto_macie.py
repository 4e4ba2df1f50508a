"""TWIN-ONLY gap filler: Amazon Macie ListFindings and GetFindings, which moto 5.2.5 does not implement.

Nothing here is Warden code. It answers as the real API does for what Warden sends:
- ListFindings (POST /findings): findingCriteria.criterion on the fields below, `eq` / `neq` on
  strings and booleans (sent as "true"/"false"), `gte` / `lt` on the dates (epoch milliseconds);
  sortCriteria on updatedAt or createdAt; at most maxResults (default 50) ids per page, with a
  nextToken for the rest.
- GetFindings (POST /findings/describe): the findings for up to 50 ids, in the order asked; an id
  Macie does not hold is left out rather than failing the call.
- A region where Macie is not enabled (DisableMacie) answers AccessDeniedException.
Any other criterion field or operator raises ValidationException naming it, so nothing is ignored
silently. Macie writes findings itself (there is no API to put one), so the twin's findings come
from `holds`. Applied by local.twin.Twin only.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import datetime
from typing import Any
from unittest import mock

_MODELLED_FIELDS = {
    "resourcesAffected.s3Bucket.name": ("resourcesAffected", "s3Bucket", "name"),
    "category": ("category",),
    "archived": ("archived",),
    "sample": ("sample",),
    "accountId": ("accountId",),
    "type": ("type",),
    "updatedAt": ("updatedAt",),
    "createdAt": ("createdAt",),
}
_DATES = {"updatedAt", "createdAt"}
_MODELLED_OPERATORS = {"eq", "neq", "gte", "lt"}
MAX_IDS = 50


def holds(backend, findings: list[dict[str, Any]]) -> None:
    """Make the Macie of `backend` (moto's macie2 backend for one account and region) hold these
    findings, shaped as GetFindings returns them (the `detail` of a Macie Finding event)."""
    store = _store(backend)
    for finding in findings:
        store[finding["id"]] = json.loads(json.dumps(finding))


def _store(backend) -> dict[str, dict]:
    if not hasattr(backend, "twin_findings"):
        backend.twin_findings = {}
    return backend.twin_findings


def _value(finding: dict, path: tuple[str, ...]) -> Any:
    value: Any = finding
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _as_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _millis(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _matches(finding: dict, field: str, condition: dict[str, Any]) -> bool:
    value = _value(finding, _MODELLED_FIELDS[field])
    if field in _DATES:
        when = _millis(value) if value else None
        if when is None:
            return False
        return ("gte" not in condition or when >= condition["gte"]) and ("lt" not in condition or when < condition["lt"])
    text = _as_text(value)
    return ("eq" not in condition or text in condition["eq"]) and ("neq" not in condition or text not in condition["neq"])


def _check_enabled(backend) -> None:
    from moto.macie2.exceptions import AccessDeniedException

    if not backend.macie_session or backend.macie_session.get("status") != "ENABLED":
        raise AccessDeniedException("Macie is not enabled for this account in this Region")


def _list_findings(self) -> str:
    from moto.macie2.exceptions import ValidationException

    backend = self.macie_backend
    _check_enabled(backend)
    request = json.loads(self.body or "{}")
    criteria = (request.get("findingCriteria") or {}).get("criterion") or {}
    for field, condition in criteria.items():
        if field not in _MODELLED_FIELDS:
            raise ValidationException(f"the twin's ListFindings does not model the criterion {field!r} (local/moto_macie.py)")
        unmodelled = sorted(set(condition) - _MODELLED_OPERATORS)
        if unmodelled:
            raise ValidationException(f"the twin's ListFindings does not model the operators {unmodelled} (local/moto_macie.py)")
    found = [f for f in _store(backend).values() if all(_matches(f, k, c) for k, c in criteria.items())]
    sort = request.get("sortCriteria") or {}
    if sort:
        if sort.get("attributeName") not in _DATES:
            raise ValidationException(f"the twin's ListFindings sorts by {sorted(_DATES)} only (local/moto_macie.py)")
        found.sort(key=lambda f: f.get(sort["attributeName"]) or "", reverse=sort.get("orderBy") == "DESC")
    start = int(request.get("nextToken") or 0)
    size = int(request.get("maxResults") or MAX_IDS)
    if not 1 <= size <= MAX_IDS:
        raise ValidationException(f"maxResults must be between 1 and {MAX_IDS}")
    page = found[start : start + size]
    body: dict[str, Any] = {"findingIds": [f["id"] for f in page]}
    if start + size < len(found):
        body["nextToken"] = str(start + size)
    return json.dumps(body)


def _get_findings(self) -> str:
    from moto.macie2.exceptions import ValidationException

    backend = self.macie_backend
    _check_enabled(backend)
    ids = json.loads(self.body or "{}").get("findingIds") or []
    if not 1 <= len(ids) <= MAX_IDS:
        raise ValidationException(f"findingIds must list 1 to {MAX_IDS} ids")
    store = _store(backend)
    return json.dumps({"findings": [store[i] for i in ids if i in store]})


def patched() -> ExitStack:
    """Apply the gap filler for as long as the returned stack is open (before mock_aws starts)."""
    from moto.macie2 import urls
    from moto.macie2.responses import MacieResponse

    stack = ExitStack()
    stack.enter_context(mock.patch.dict(urls.url_paths, {
        "{0}/findings$": MacieResponse.dispatch,
        "{0}/findings/describe$": MacieResponse.dispatch,
    }))  # fmt: skip
    stack.enter_context(mock.patch.object(MacieResponse, "list_findings", _list_findings, create=True))
    stack.enter_context(mock.patch.object(MacieResponse, "get_findings", _get_findings, create=True))
    return stack


def backend(account: str, region: str):
    """moto's macie2 backend for one account and region (for `holds`)."""
    from moto.macie2.models import macie2_backends

    return macie2_backends[account][region]
