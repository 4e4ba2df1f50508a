"""The first-day sweep: the exposures that exist now, which no event will ever report again.

Config reports a compliance change once, GuardDuty and Security Hub once per finding, so anything
exposed before Warden was deployed is never fixed by events. The sweep reads what the sources hold
now, for exactly the triggers Warden subscribes to (the registry's):

- Config: rules whose name contains one of Warden's managed rule identifiers and that are
  NON_COMPLIANT (DescribeComplianceByConfigRule), then their NON_COMPLIANT evaluations
  (GetComplianceDetailsByConfigRule, 100 a page);
- GuardDuty: active (not archived) findings of Warden's types on every detector (ListFindings with
  criteria, 50 a page; GetFindings in batches of 50);
- Security Hub, when the stack's SecurityHub parameter is enabled: FAILED, ACTIVE, NEW control
  findings of Warden's controls (GetFindings with filters, 100 a page).

Each becomes the EventBridge event its source would have sent, with source `warden.sweep`, so
`--apply` starts the deployed workflow with it (StartExecution, execution name sweep-...) and
triage applies dedupe, exemptions and modes as for any finding; the audit record and the message
say the sweep found it. Every call goes through one token bucket (`--rate` calls a second) and
botocore's adaptive retry mode, so a sweep of an account with thousands of resources stays under
the services' rate limits.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from botocore.config import Config

from warden import registry
from warden import settings as runtime_settings
from warden.finding import SWEEP_SOURCE
from warden.findings import RejectedEvent, parse_finding
from warden.findings.securityhub import LEGACY_CONTROLS, legacy_generator_id
from warden.policy import Settings
from warden.samples import sample_of

DEFAULT_RATE = 5.0  # calls a second: well under Config's, GuardDuty's and Security Hub's read limits
RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 10})
CONFIG_PAGE, GUARDDUTY_PAGE, SECURITY_HUB_PAGE = 100, 50, 100


class Pacer:
    """A token bucket: at most `rate` calls a second on average, `burst` at once. Thread-safe."""

    def __init__(self, rate: float = DEFAULT_RATE, burst: int = 5, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):  # fmt: skip
        if rate <= 0:
            raise ValueError(f"--rate must be above 0 calls a second, not {rate:g}")
        self.rate, self.burst, self.clock, self.sleep = rate, burst, clock, sleep
        self.tokens, self.last = float(burst), clock()
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, operation: str) -> None:
        with self._lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens < 1:
                wait = (1 - self.tokens) / self.rate
                self.sleep(wait)
                self.last, self.tokens = self.clock(), 1.0
            self.tokens -= 1
            self.calls[operation] = self.calls.get(operation, 0) + 1

    def paced(self, client):
        """`client`, with every call (paginators' pages too) waiting for a token first."""
        service = client.meta.service_model.service_name
        client.meta.events.register("before-call", lambda model, **_: self.take(f"{service}:{model.name}"))
        return client


@dataclass
class Exposure:
    account: str
    region: str
    resource: str
    finding: str  # the source and what it reports
    remediation: str
    would_do: str
    mode: str
    event: dict[str, Any] = field(repr=False)

    def row(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in ("account", "region", "resource", "finding", "remediation", "would_do", "mode")}


def _event(detail_type: str, account: str, region: str, detail: dict[str, Any]) -> dict[str, Any]:
    """What the source would have put on the bus, marked as the sweep's."""
    return {
        "version": "0", "id": f"sweep-{uuid.uuid4()}", "detail-type": detail_type, "source": SWEEP_SOURCE,
        "account": account, "region": region, "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": [], "detail": detail,
    }  # fmt: skip


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


# --- Config -------------------------------------------------------------------------------------------


def config_events(config, account: str, region: str) -> Iterator[dict[str, Any]]:
    identifiers = {rule for r in registry.all_remediations() for rule in r.triggers.config_rules}
    rules = [
        row["ConfigRuleName"]
        for page in config.get_paginator("describe_compliance_by_config_rule").paginate(ComplianceTypes=["NON_COMPLIANT"])
        for row in page["ComplianceByConfigRules"]
        if any(identifier in row["ConfigRuleName"] for identifier in identifiers)  # conformance-pack prefixes and suffixes
    ]
    for rule in rules:
        token = None
        while True:
            page = config.get_compliance_details_by_config_rule(
                ConfigRuleName=rule, ComplianceTypes=["NON_COMPLIANT"], Limit=CONFIG_PAGE, **({"NextToken": token} if token else {})
            )
            for result in page["EvaluationResults"]:
                qualifier = result["EvaluationResultIdentifier"]["EvaluationResultQualifier"]
                yield _event("Config Rules Compliance Change", account, region, {
                    "resourceId": qualifier["ResourceId"], "resourceType": qualifier["ResourceType"],
                    "awsAccountId": account, "awsRegion": region, "configRuleName": rule,
                    "newEvaluationResult": {"complianceType": result["ComplianceType"]},
                    "resultRecordedTime": _iso(result.get("ResultRecordedTime")),
                })  # fmt: skip
            token = page.get("NextToken")
            if not token:
                break


# --- GuardDuty ----------------------------------------------------------------------------------------

MAP_FIELDS = ("AffectedResources",)  # maps whose keys are data ("AWS::CloudTrail::Trail"), not field names


def event_detail(finding: Any) -> Any:
    """A GetFindings finding (boto3's PascalCase) in the shape EventBridge carries it (camelCase)."""
    if isinstance(finding, list):
        return [event_detail(item) for item in finding]
    if not isinstance(finding, dict):
        return _iso(finding)
    detail = {}
    for key, value in finding.items():
        name = key[:1].lower() + key[1:]
        if key in MAP_FIELDS and isinstance(value, dict):
            detail[name] = {k: _iso(v) for k, v in value.items()}
        elif key == "AdditionalInfo" and isinstance(value, dict):
            # The API carries it as {Value: JSON text, Type}; the event as the object itself (e.g. "sample": true).
            try:
                extra = json.loads(value.get("Value") or "{}")
            except ValueError:
                extra = {}
            detail[name] = {**(extra if isinstance(extra, dict) else {}), **event_detail(value)}
        else:
            detail[name] = event_detail(value)
    return detail


def guardduty_events(guardduty) -> Iterator[dict[str, Any]]:
    types = sorted({t for r in registry.all_remediations() for t in r.triggers.guardduty_types})
    criteria = {"Criterion": {"type": {"Eq": types}, "service.archived": {"Eq": ["false"]}}}
    for page in guardduty.get_paginator("list_detectors").paginate():
        for detector in page["DetectorIds"]:
            for ids in guardduty.get_paginator("list_findings").paginate(
                DetectorId=detector, FindingCriteria=criteria, PaginationConfig={"PageSize": GUARDDUTY_PAGE}
            ):
                if not ids["FindingIds"]:
                    continue
                for finding in guardduty.get_findings(DetectorId=detector, FindingIds=ids["FindingIds"])["Findings"]:
                    detail = event_detail(finding)
                    yield _event("GuardDuty Finding", detail.get("accountId", ""), detail.get("region", ""), detail)


# --- Security Hub --------------------------------------------------------------------------------------


# GetFindings takes at most 10 filter fields, and 20 values for each.
SECURITY_HUB_VALUES = 20


def security_hub_events(securityhub) -> Iterator[dict[str, Any]]:
    """Failed controls Warden fixes: consolidated findings by control id, then findings from before
    consolidated controls by their per-standard GeneratorId (docs/security-hub.md)."""
    controls = sorted({c for r in registry.all_remediations() for c in r.triggers.securityhub_controls})
    legacy = sorted(legacy_generator_id(*key) for key, control in LEGACY_CONTROLS.items() if control in controls)
    equals = lambda *values: [{"Value": v, "Comparison": "EQUALS"} for v in values]  # noqa: E731
    active = {
        "ProductName": equals("Security Hub"), "RecordState": equals("ACTIVE"), "WorkflowStatus": equals("NEW"),
        "ComplianceStatus": equals("FAILED"),
    }  # fmt: skip
    queries = [("ComplianceSecurityControlId", controls[i:i + SECURITY_HUB_VALUES]) for i in range(0, len(controls), SECURITY_HUB_VALUES)]
    queries += [("GeneratorId", legacy[i:i + SECURITY_HUB_VALUES]) for i in range(0, len(legacy), SECURITY_HUB_VALUES)]
    for field_name, values in queries:
        filters = {**active, field_name: equals(*values)}
        for page in securityhub.get_paginator("get_findings").paginate(Filters=filters, PaginationConfig={"PageSize": SECURITY_HUB_PAGE}):
            for finding in page["Findings"]:
                region = finding.get("Region") or securityhub.meta.region_name
                yield _event("Security Hub Findings - Imported", finding["AwsAccountId"], region, {"findings": [finding]})


# --- the sweep -----------------------------------------------------------------------------------------


@dataclass
class Sweep:
    exposures: list[Exposure]
    skipped: list[str]  # what was read but is not something Warden would act on, and why
    calls: dict[str, int]
    seconds: float
    elsewhere: int = 0  # exposures in accounts --account left out


def accounts_from(values: list[str] | None) -> frozenset[str] | None:
    """--account, given once or more (or comma-separated): 12-digit account ids; None for every account."""
    if not values:
        return None
    accounts = frozenset(a.strip() for value in values for a in value.split(",") if a.strip())
    bad = sorted(a for a in accounts if not (a.isdigit() and len(a) == 12))
    if bad or not accounts:
        raise ValueError(f"--account takes 12-digit AWS account ids, not {', '.join(bad) or repr(values)}")
    return accounts


def deployed_settings(target, client) -> tuple[Settings, dict[str, str]]:
    """The settings triage uses: its function's environment (the stack's parameters) and the settings document."""
    env = client("lambda").get_function_configuration(FunctionName=target.physical("TriageFunction"))["Environment"]["Variables"]
    base = Settings.from_env(env)
    name = env.get("WARDEN_SETTINGS_PARAMETER")
    if not name:
        return base, env
    try:
        document = json.loads(client("ssm").get_parameter(Name=name)["Parameter"]["Value"])
    except ValueError:
        return base, env  # triage keeps the template parameters too (warden.settings)
    return (base if runtime_settings.validate(document) else runtime_settings.apply(base, document)), env


def _exposure(event: dict[str, Any], settings: Settings, skipped: list[str]) -> Exposure | None:
    if sample_of(event) is not None:
        skipped.append(f"GuardDuty {event['detail'].get('type')} sample finding: a wiring test, never acted on")
        return None
    try:
        finding = parse_finding(event)
    except RejectedEvent as rejected:
        skipped.append(str(rejected))
        return None
    remediation = registry.remediation_for(finding)
    if remediation is None:
        skipped.append(f"no remediation handles {finding.source} {finding.type!r} on {finding.resource_type}")
        return None
    mode, _ = settings.mode_of(remediation.name, remediation.family)
    return Exposure(
        account=finding.account, region=finding.region, resource=finding.resource_arn, finding=f"{finding.source} {finding.type}",
        remediation=remediation.name, would_do=remediation.describe(), mode=mode, event=event,
    )  # fmt: skip


def run(target, pacer: Pacer, accounts: frozenset[str] | None = None) -> Sweep:
    """Read every source (paced) and turn what they hold into exposures; nothing is changed.
    `accounts` (--account): only their exposures; Config, which reports this account alone, is not
    read when this account is not one of them. GuardDuty and Security Hub (an organization's
    administrator account holds its members' findings) are read whole and their findings filtered."""
    started = time.monotonic()
    client = lambda service: pacer.paced(target.client(service, config=RETRIES))  # noqa: E731
    settings, env = deployed_settings(target, client)
    account = client("sts").get_caller_identity()["Account"]
    events: list[dict[str, Any]] = []
    if accounts is None or account in accounts:
        config = client("config")
        events += config_events(config, account, config.meta.region_name)
    events += guardduty_events(client("guardduty"))
    if env.get("WARDEN_SECURITY_HUB") == "enabled":
        events += security_hub_events(client("securityhub"))
    skipped: list[str] = []
    exposures = [e for e in (_exposure(event, settings, skipped) for event in events) if e is not None]
    listed = [e for e in exposures if accounts is None or e.account in accounts]
    return Sweep(listed, skipped, dict(pacer.calls), time.monotonic() - started, elsewhere=len(exposures) - len(listed))


def apply(target, exposures: list[Exposure], pacer: Pacer) -> list[str]:
    """Start the deployed workflow once per exposure; returns the execution ARNs."""
    stepfunctions = pacer.paced(target.client("stepfunctions", config=RETRIES))
    machine = target.physical("RemediationStateMachine")
    return [
        stepfunctions.start_execution(stateMachineArn=machine, name=exposure.event["id"], input=json.dumps(exposure.event))["executionArn"]
        for exposure in exposures
    ]
