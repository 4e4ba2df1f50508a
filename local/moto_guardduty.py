"""TWIN-ONLY gap filler: GuardDuty findings, which moto 5.2.5 does not model at all.

Nothing here is Warden code. A detector holds findings in GuardDuty's own JSON shape (the `detail`
of a "GuardDuty Finding" event is that shape), and these calls answer as the real API does:

- GetFindings (POST /detector/{id}/findings/get): the findings held with those ids; an id the
  detector does not hold is left out, not an error; a detector the account does not own is
  BadRequestException (moto's DetectorNotFoundException).
- ListFindings (POST /detector/{id}/findings): the ids held that match FindingCriteria (`eq` / `neq`
  on dotted fields, e.g. type and service.archived), MaxResults (at most 50) a page, NextToken.
- GetFindings takes at most 50 ids, as GuardDuty does.
- ArchiveFindings (POST /detector/{id}/findings/archive): service.archived becomes true.
- CreateSampleFindings (POST /detector/{id}/findings/create): one finding per type, marked as GuardDuty
  marks samples (service.additionalInfo.value {"sample": true}) and naming GuardDuty's placeholder
  resources (GeneratedFindingUserName...). Any PowerUser may call it: Warden must not act on these.

GuardDuty's detections themselves have no API: `report(twin, findings)` stands in for GuardDuty
finding something (local.scenarios.guardduty_reported). Applied by local.twin.Twin only.
"""

from __future__ import annotations

import copy
import json
import uuid
from contextlib import ExitStack
from datetime import datetime, timezone
from unittest import mock

_FINDINGS = "_twin_findings"  # attribute on moto's Detector: finding id -> finding (GuardDuty JSON)


def _held(detector) -> dict[str, dict]:
    if not hasattr(detector, _FINDINGS):
        setattr(detector, _FINDINGS, {})
    return getattr(detector, _FINDINGS)


def _detector(response):
    detector_id = response.path.split("/detector/", 1)[1].split("/", 1)[0]
    return response.guardduty_backend.get_detector(detector_id)  # BadRequestException when not owned


MAX_PAGE = 50


def _bad_request(message: str):
    from moto.guardduty.exceptions import GuardDutyException

    error = GuardDutyException("BadRequestException", message)
    error.code = 400
    return error


def _get_findings(self) -> str:
    held = _held(_detector(self))
    ids = json.loads(self.body or "{}").get("findingIds") or []
    if len(ids) > MAX_PAGE:
        raise _bad_request(f"at most {MAX_PAGE} findingIds per GetFindings")
    return json.dumps({"findings": [held[i] for i in ids if i in held]})


def _field(finding: dict, path: str):
    value = finding
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return str(value).lower() if isinstance(value, bool) else None if value is None else str(value)


def _matches(finding: dict, criterion: dict) -> bool:
    for path, condition in criterion.items():
        value = _field(finding, path)
        for operator, expected in condition.items():
            if operator not in ("eq", "neq", "equals", "notEquals"):
                raise _bad_request(f"the twin's ListFindings does not model {operator!r} (local/moto_guardduty.py)")
            if (value in expected) != (operator in ("eq", "equals")):
                return False
    return True


def _list_findings(self) -> str:
    request = json.loads(self.body or "{}")
    criterion = (request.get("findingCriteria") or {}).get("criterion") or {}
    size = int(request.get("maxResults") or MAX_PAGE)
    if not 0 < size <= MAX_PAGE:
        raise _bad_request(f"maxResults must be between 1 and {MAX_PAGE}")
    ids = [i for i, finding in sorted(_held(_detector(self)).items()) if _matches(finding, criterion)]
    start = int(request.get("nextToken") or 0)
    end = start + size
    return json.dumps({"findingIds": ids[start:end], "nextToken": str(end) if end < len(ids) else ""})


def _archive_findings(self) -> str:
    held = _held(_detector(self))
    for finding_id in json.loads(self.body or "{}").get("findingIds") or []:
        if finding_id in held:
            held[finding_id].setdefault("service", {})["archived"] = True
    return "{}"


def _sample(detector, account: str, region: str, finding_type: str) -> dict:
    finding_id = uuid.uuid4().hex
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "schemaVersion": "2.0", "accountId": account, "region": region, "partition": "aws", "id": finding_id,
        "arn": f"arn:aws:guardduty:{region}:{account}:detector/{detector.id}/finding/{finding_id}",
        "type": finding_type, "severity": 8, "createdAt": now, "updatedAt": now, "title": f"Sample {finding_type}",
        "resource": {
            "resourceType": "AccessKey",
            "accessKeyDetails": {"accessKeyId": "ASIASAMPLEGENERATED1", "principalId": "GeneratedFindingPrincipalId",
                                 "userName": "GeneratedFindingUserName", "userType": "AssumedRole"},
        },
        "service": {"serviceName": "guardduty", "detectorId": detector.id, "archived": False, "count": 1,
                    "additionalInfo": {"value": json.dumps({"sample": True}), "type": "default"}},
    }  # fmt: skip


def _create_sample_findings(self) -> str:
    detector = _detector(self)
    types = json.loads(self.body or "{}").get("findingTypes") or ["UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"]
    for finding_type in types:
        sample = _sample(detector, self.current_account, self.region, finding_type)
        _held(detector)[sample["id"]] = sample
    return "{}"


def report(account: str, region: str, detector_id: str, findings: list[dict]) -> None:
    """GuardDuty finds these (its JSON shape, e.g. an event's detail) in that detector."""
    from moto.guardduty.models import guardduty_backends

    detector = guardduty_backends[account][region].get_detector(detector_id)
    for finding in findings:
        _held(detector)[finding["id"]] = copy.deepcopy(finding)


def forget(account: str, region: str, detector_id: str) -> None:
    """The detector holds no findings any more (a scenario that starts from an empty GuardDuty)."""
    from moto.guardduty.models import guardduty_backends

    _held(guardduty_backends[account][region].get_detector(detector_id)).clear()


def patched() -> ExitStack:
    """Apply the gap filler for as long as the returned stack is open (before mock_aws starts)."""
    from moto.guardduty import urls
    from moto.guardduty.responses import GuardDutyResponse

    paths = {
        "{0}/detector/(?P<detector_id>[^/]+)/findings$": GuardDutyResponse.dispatch,
        "{0}/detector/(?P<detector_id>[^/]+)/findings/get$": GuardDutyResponse.dispatch,
        "{0}/detector/(?P<detector_id>[^/]+)/findings/archive$": GuardDutyResponse.dispatch,
        "{0}/detector/(?P<detector_id>[^/]+)/findings/create$": GuardDutyResponse.dispatch,
    }
    stack = ExitStack()
    stack.enter_context(mock.patch.dict(urls.url_paths, paths))
    for name, method in (("get_findings", _get_findings), ("list_findings", _list_findings),
                         ("archive_findings", _archive_findings), ("create_sample_findings", _create_sample_findings)):  # fmt: skip
        stack.enter_context(mock.patch.object(GuardDutyResponse, name, method, create=True))
    return stack
