"""Shared fixtures: the local twin with the demo's scenario, and the parsed sample events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local import scenarios
from local.twin import Twin

EVENTS = Path(__file__).resolve().parent.parent / "events"


def event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def guardduty_holds_the_findings_of_the_event_files(twin) -> None:
    """GuardDuty holds the findings that events/guardduty-*.json report (Warden confirms each with GetFindings)."""
    scenarios.guardduty_reported(twin.client, [event(path.name)["detail"] for path in sorted(EVENTS.glob("guardduty-*.json"))])


def security_hub_holds_control_findings(securityhub) -> None:
    """Security Hub enabled, holding the control findings of events/securityhub-*.json."""
    findings = {f["Id"]: f for path in sorted(EVENTS.glob("securityhub-*.json")) for f in event(path.name)["detail"]["findings"]}
    scenarios.security_hub_holds(securityhub, list(findings.values()))


# Every family enforcing, with the scenarios' default KMS key and protected break-glass role, and one
# quick cool-down round (the scenario's alarms stay in ALARM, so the throttle escalates).
ENFORCING = {
    "Mode": "enforce",
    "IamMode": "enforce",
    "DefaultKmsKeyArn": scenarios.key_arn("default-key"),
    "ProtectedPrincipalArns": f"arn:aws:iam::{scenarios.ACCOUNT}:role/{scenarios.BREAK_GLASS_ROLE}",
    "CooldownSeconds": "1",
    "MaxCooldowns": "1",
}


@pytest.fixture
def twin(request):
    """Warden deployed on moto in enforce mode, with the public training bucket, the exempt
    website bucket, the account's public access block off, and the encryption family's resources
    broken as local.scenarios.encryption_turned_off describes, and the IAM exposures of
    local.scenarios.iam_over_broad (IamMode enforce; BreakGlassAdmin protected)."""
    parameters = {
        **ENFORCING,
        "ThrottleAlarmNames": scenarios.DESIGNATED_ALARMS,  # the scenario's abuse alarms, pinned to their threshold
    }
    # Only IAM scenarios need AWS-managed policies (AdministratorAccess); loading them costs ~2 s a test.
    iam = "iam" in request.node.name
    security_hub = "securityhub" in request.node.name
    if security_hub:
        parameters["SecurityHub"] = "enabled"
    macie = "macie" in request.node.name
    if macie:
        parameters["Macie"] = "enabled"
    with Twin(parameters=parameters, aws_managed_policies=iam) as deployed:
        if security_hub:
            security_hub_holds_control_findings(deployed.client("securityhub"))
        scenarios.public_training_bucket(deployed.client("s3"))
        scenarios.exempt_website_bucket(deployed.client("s3"))
        scenarios.account_block_off(deployed.client("s3control"))
        guardduty_holds_the_findings_of_the_event_files(deployed)
        scenarios.encryption_turned_off(deployed.client)
        if iam:
            scenarios.iam_over_broad(deployed.client)
        if "cloudwatch" in request.node.name:
            scenarios.abused_apis(deployed.client)
        if macie:
            scenarios.partner_shared_bucket(deployed.client("s3"))
            # Macie found personal and financial data in the training bucket two days ago.
            scenarios.macie_found_sensitive_data(event("macie-sensitivedata-s3object-multiple.json")["detail"])
        if "bedrock" in request.node.name or "all-families" in request.node.name:
            bedrock_logging_deleted_after_warden_saw_it(deployed)
        yield deployed


def bedrock_logging_deleted_after_warden_saw_it(twin) -> None:
    """Bedrock invocation logging was set (Warden saw the event and kept the configuration), then deleted."""
    put = event("cloudtrail-bedrock-putmodelinvocationloggingconfiguration.json")
    bedrock = twin.client("bedrock")
    bedrock.put_model_invocation_logging_configuration(loggingConfig=put["detail"]["requestParameters"]["loggingConfig"])
    assert twin.send(put).decision == "ignored"
    bedrock.delete_model_invocation_logging_configuration()
