"""TWIN-ONLY gap fillers: reads `python -m warden_ops sweep` makes that moto 5.2.5 lacks.

Nothing here is Warden code; it makes moto answer as the real services do, for what the sweep sends:

- config DescribeComplianceByConfigRule and GetComplianceDetailsByConfigRule: not implemented by
  moto. Evaluations are what Config's managed rules record; no API writes them for a managed rule
  (PutEvaluations is for custom rules' Lambda functions), so the twin holds them in
  `config_evaluations(backend)` and scenarios put them there (`evaluate`). ComplianceTypes filters;
  Limit (at most 100) and NextToken page; an unknown rule is NoSuchConfigRuleException.
- GuardDuty's findings are local/moto_guardduty.py's (ListFindings' criteria and paging are there).
- securityhub GetFindings: moto ignores Filters. Here the filters the sweep uses are applied
  (EQUALS, NOT_EQUALS, PREFIX), and any other filter key is InvalidInputException, never ignored.

Applied by local.twin.Twin only.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import Any
from unittest import mock

MAX_CONFIG_LIMIT = 100
MAX_SECURITY_HUB_PAGE = 100
# Security Hub filter name -> the finding's field (dotted path)
SECURITY_HUB_FILTERS = {
    "ComplianceStatus": "Compliance.Status",
    "ComplianceSecurityControlId": "Compliance.SecurityControlId",
    "RecordState": "RecordState",
    "WorkflowStatus": "Workflow.Status",
    "ProductName": "ProductName",
    "GeneratorId": "GeneratorId",
    "AwsAccountId": "AwsAccountId",
}


def config_evaluations(backend) -> list[dict[str, Any]]:
    """The evaluation results this Config backend holds: {rule, resource_type, resource_id, compliance, recorded}."""
    if not hasattr(backend, "twin_evaluations"):
        backend.twin_evaluations = []
    return backend.twin_evaluations


def evaluate(account: str, region: str, rule: str, resource_type: str, resource_id: str, compliance: str = "NON_COMPLIANT") -> None:
    """Config records one evaluation of `rule` (which must exist) for a resource."""
    from moto.config.models import config_backends

    backend = config_backends[account][region]
    if rule not in backend.config_rules:
        raise ValueError(f"no Config rule {rule!r} in the twin")
    config_evaluations(backend).append(
        {"rule": rule, "resource_type": resource_type, "resource_id": resource_id, "compliance": compliance,
         "recorded": datetime.now(timezone.utc).timestamp()}  # fmt: skip
    )


def _page(items: list, token: str | None, size: int) -> tuple[list, str | None]:
    start = int(token or 0)
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


# --- Config -----------------------------------------------------------------------------------------


def _config_error(code: str, message: str):
    from moto.config.exceptions import JsonRESTError

    return JsonRESTError(code, message)


def _describe_compliance_by_config_rule(self) -> str:
    backend = self.config_backend
    names = self._get_param("ConfigRuleNames") or sorted(backend.config_rules)
    wanted = set(self._get_param("ComplianceTypes") or ["COMPLIANT", "NON_COMPLIANT", "INSUFFICIENT_DATA"])
    rows = []
    for name in names:
        if name not in backend.config_rules:
            raise _config_error("NoSuchConfigRuleException", f"The ConfigRule '{name}' provided in the request is invalid.")
        results = [e for e in config_evaluations(backend) if e["rule"] == name]
        non_compliant = sum(e["compliance"] == "NON_COMPLIANT" for e in results)
        compliance = "NON_COMPLIANT" if non_compliant else "COMPLIANT" if results else "INSUFFICIENT_DATA"
        if compliance in wanted:
            row = {"ConfigRuleName": name, "Compliance": {"ComplianceType": compliance}}
            if non_compliant:
                row["Compliance"]["ComplianceContributorCount"] = {"CappedCount": min(non_compliant, 100), "CapExceeded": non_compliant > 100}
            rows.append(row)
    page, token = _page(rows, self._get_param("NextToken"), 25)
    return json.dumps({"ComplianceByConfigRules": page, **({"NextToken": token} if token else {})})


def _get_compliance_details_by_config_rule(self) -> str:
    backend = self.config_backend
    name = self._get_param("ConfigRuleName")
    if name not in backend.config_rules:
        raise _config_error("NoSuchConfigRuleException", f"The ConfigRule '{name}' provided in the request is invalid.")
    limit = int(self._get_param("Limit") or MAX_CONFIG_LIMIT)
    if not 0 < limit <= MAX_CONFIG_LIMIT:
        raise _config_error("InvalidLimitException", f"Limit must be between 1 and {MAX_CONFIG_LIMIT}")
    wanted = set(self._get_param("ComplianceTypes") or ["COMPLIANT", "NON_COMPLIANT"])
    results = [
        {
            "EvaluationResultIdentifier": {
                "EvaluationResultQualifier": {"ConfigRuleName": name, "ResourceType": e["resource_type"], "ResourceId": e["resource_id"]},
                "OrderingTimestamp": e["recorded"],
            },
            "ComplianceType": e["compliance"],
            "ResultRecordedTime": e["recorded"],
            "ConfigRuleInvokedTime": e["recorded"],
        }
        for e in config_evaluations(backend)
        if e["rule"] == name and e["compliance"] in wanted
    ]
    page, token = _page(results, self._get_param("NextToken"), limit)
    return json.dumps({"EvaluationResults": page, **({"NextToken": token} if token else {})})


# --- Security Hub ------------------------------------------------------------------------------------


def _field(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _kept(finding: dict[str, Any], filters: dict[str, list[dict[str, str]]]) -> bool:
    for name, conditions in filters.items():
        value = _field(finding, SECURITY_HUB_FILTERS[name])
        equals = [c["Value"] for c in conditions if c.get("Comparison", "EQUALS") == "EQUALS"]
        prefixes = [c["Value"] for c in conditions if c.get("Comparison") == "PREFIX"]
        excluded = [c["Value"] for c in conditions if c.get("Comparison") == "NOT_EQUALS"]
        if (equals or prefixes) and value not in equals and not any(str(value or "").startswith(p) for p in prefixes):
            return False
        if value in excluded:
            return False
    return True


def _security_hub_get_findings(self) -> str:
    from moto.securityhub.exceptions import InvalidInputException

    filters = self._get_param("Filters") or {}
    unknown = sorted(set(filters) - set(SECURITY_HUB_FILTERS))
    if unknown:
        raise InvalidInputException(op="GetFindings", msg=f"the twin does not model the filters {unknown} (local/moto_findings.py)")
    crowded = sorted(name for name, conditions in filters.items() if len(conditions) > 20)
    if len(filters) > 10 or crowded:  # Security Hub's own limits: 10 attributes, 20 values each
        raise InvalidInputException(op="GetFindings", msg=f"at most 10 filter attributes and 20 values each ({crowded or len(filters)})")
    size = int(self._get_param("MaxResults") or MAX_SECURITY_HUB_PAGE)
    findings = [f.as_dict() for f in self.securityhub_backend.findings if _kept(f.as_dict(), filters)]
    page, token = _page(findings, self._get_param("NextToken"), size)
    return json.dumps({"Findings": page, **({"NextToken": token} if token else {})})


def patched() -> ExitStack:
    """Apply the gap fillers for as long as the returned stack is open (before mock_aws starts)."""
    from moto.config.responses import ConfigResponse
    from moto.securityhub.responses import SecurityHubResponse

    stack = ExitStack()
    stack.enter_context(mock.patch.object(ConfigResponse, "describe_compliance_by_config_rule", _describe_compliance_by_config_rule, create=True))
    stack.enter_context(mock.patch.object(ConfigResponse, "get_compliance_details_by_config_rule", _get_compliance_details_by_config_rule, create=True))
    stack.enter_context(mock.patch.object(SecurityHubResponse, "get_findings", _security_hub_get_findings))
    return stack
