"""warden.securityhub against botocore's real Security Hub model (Stubber validates every request
against it): which call each outcome makes, with which workflow and compliance status."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber

from warden import securityhub
from warden.notify import compose

ACCOUNT, REGION = "123456789012", "us-east-1"
CONTROL_ID = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:security-control/S3.8/finding/6f1d2c3b"
GD_ARN = f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/12ab/finding/a4c5"


def finding(source: str, raw_ref: str, resource_type="AWS::S3::Bucket", resource_arn="arn:aws:s3:::ml-training-data-prod"):
    return {
        "id": f"{source}:e1", "source": source, "type": "t", "account": ACCOUNT, "region": REGION,
        "resource_type": resource_type, "resource_arn": resource_arn, "actor": None,
        "time": "2026-11-21T09:22:10+00:00", "severity": "HIGH", "raw_ref": raw_ref, "details": {},
    }


def state(source="securityhub", raw_ref=CONTROL_ID, family="s3_public", remediation="s3-quarantine-public-bucket", **kw):
    return {"finding": finding(source, raw_ref, **kw), "family": family, "remediation": remediation, "decision": "enforce",
            "result": {"changes": [{"summary": "Block Public Access on", "undo": "aws s3api ..."}]}}


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.setenv("WARDEN_SECURITY_HUB", "enabled")
    monkeypatch.setenv("WARDEN_ACCOUNT_ID", ACCOUNT)  # the stack's (hub's) account
    real = boto3.client("securityhub", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(securityhub, "client", lambda service: real)
    with Stubber(real) as stub:
        yield stub
        stub.assert_no_pending_responses()


def report(outcome: str, s: dict) -> str | None:
    message = compose(outcome, s)
    return securityhub.report(outcome, s, message.subject, message.body)


def expect_update(hub, identifier: dict, status: str, processed: bool = True):
    response = {"ProcessedFindings": [identifier] if processed else [],
                "UnprocessedFindings": [] if processed else [
                    {"FindingIdentifier": identifier, "ErrorCode": "FindingNotFound", "ErrorMessage": "Finding not found"}]}
    hub.add_response("batch_update_findings", response,
                     {"FindingIdentifiers": [identifier], "Workflow": {"Status": status}, "Note": {"Text": ANY, "UpdatedBy": "warden"}})


SH_IDENTIFIER = {"Id": CONTROL_ID, "ProductArn": f"arn:aws:securityhub:{REGION}::product/aws/securityhub"}


@pytest.mark.parametrize("outcome, status", [
    ("remediated", "RESOLVED"), ("resource-gone", "RESOLVED"), ("would-remediate", "NOTIFIED"), ("exempt", "NOTIFIED"),
    ("needs-decision", "NOTIFIED"), ("failed", "NOTIFIED"), ("awaiting-approval", "NOTIFIED"), ("expired", "NOTIFIED"),
    ("approval-rejected", "NOTIFIED"),
])
def test_a_control_finding_gets_the_workflow_status_of_the_outcome(hub, outcome, status):
    expect_update(hub, SH_IDENTIFIER, status)
    assert report(outcome, state()) == f"finding {CONTROL_ID} set to {status}, with a note"


def test_a_guardduty_finding_is_updated_under_its_own_arn_in_the_guardduty_product(hub):
    expect_update(hub, {"Id": GD_ARN, "ProductArn": f"arn:aws:securityhub:{REGION}::product/aws/guardduty"}, "RESOLVED")
    assert "set to RESOLVED" in report("remediated", state(source="guardduty", raw_ref=GD_ARN))


def test_a_guardduty_finding_security_hub_does_not_hold_is_imported_instead(hub):
    identifier = {"Id": GD_ARN, "ProductArn": f"arn:aws:securityhub:{REGION}::product/aws/guardduty"}
    expect_update(hub, identifier, "RESOLVED", processed=False)
    hub.add_response("batch_import_findings", {"FailedCount": 0, "SuccessCount": 1, "FailedFindings": []})
    line = report("remediated", state(source="guardduty", raw_ref=GD_ARN))
    assert line == f"Warden finding warden/guardduty:e1 imported, compliance PASSED (Security Hub holds no finding {GD_ARN})"


@pytest.mark.parametrize("family, outcome, compliance, workflow", [
    ("s3_public", "remediated", "PASSED", "RESOLVED"),
    ("encryption", "needs-decision", "FAILED", "NOTIFIED"),
    # a throttle contains the abuse; only the restore after the cool-down resolves it
    ("throttle", "remediated", "FAILED", "NOTIFIED"),
    ("throttle", "escalated", "FAILED", "NOTIFIED"),
    ("throttle", "restored", "PASSED", "RESOLVED"),
])
def test_other_outcomes_are_imported_as_a_valid_asff_finding(hub, family, outcome, compliance, workflow):
    s = state(source="cloudtrail", raw_ref="e1", family=family)
    hub.add_response("batch_import_findings", {"FailedCount": 0, "SuccessCount": 1, "FailedFindings": []}, {"Findings": [ANY]})
    line = report(outcome, s)
    assert line == f"Warden finding warden/cloudtrail:e1 imported, compliance {compliance}"
    asff = securityhub.warden_finding(outcome, s, "subject", "body")
    assert (asff["Compliance"]["Status"], asff["Workflow"]["Status"]) == (compliance, workflow)


def test_the_imported_finding_passes_botocores_model_with_every_field_warden_sets(hub):
    s = state(source="cloudwatch", raw_ref="arn:aws:cloudwatch:...", family="throttle", remediation="apigw-throttle-stage",
              resource_type="AWS::ApiGatewayV2::Stage", resource_arn=f"arn:aws:apigateway:{REGION}::/apis/llmgatew/stages/prod")
    asff = securityhub.warden_finding("remediated", s, "x" * 300, "y" * 2000)
    hub.add_response("batch_import_findings", {"FailedCount": 0, "SuccessCount": 1, "FailedFindings": []}, {"Findings": [asff]})
    securityhub.client("securityhub").batch_import_findings(Findings=[asff])  # Stubber raises on any invalid field
    assert asff["Resources"][0]["Type"] == "AwsApiGatewayV2Stage"
    assert len(asff["Title"]) == 256 and len(asff["Description"]) == 1024
    assert asff["Types"] == ["Effects/Denial of Service"]


def test_a_members_finding_is_imported_as_the_hub_naming_the_member_as_a_resource(hub):
    """Organization mode: AWS imports a default-product finding only with the importing account's
    AwsAccountId, so the hub's finding names the member in its resources and says so in the message."""
    member = "111122223333"
    s = state(source="cloudtrail", raw_ref="e1")
    s["finding"]["account"] = member
    hub.add_response("batch_import_findings", {"FailedCount": 0, "SuccessCount": 1, "FailedFindings": []}, {"Findings": [ANY]})

    line = report("remediated", s)  # Stubber checks the AwsAccount resource against botocore's model
    asff = securityhub.warden_finding("remediated", s, "subject", "body")

    assert asff["AwsAccountId"] == ACCOUNT and asff["ProductArn"].endswith(f":{ACCOUNT}:product/{ACCOUNT}/default")
    assert asff["Resources"][1] == {"Type": "AwsAccount", "Id": f"AWS::::Account:{member}", "Partition": "aws", "Region": REGION}
    assert asff["ProductFields"]["warden/account"] == member
    assert f"in the hub account {ACCOUNT}'s Security Hub" in line and f"names account {member} as a resource" in line


def test_a_finding_security_hub_refuses_to_update_is_reported_not_replaced_by_an_import(hub):
    hub.add_response("batch_update_findings", {"ProcessedFindings": [], "UnprocessedFindings": [
        {"FindingIdentifier": SH_IDENTIFIER, "ErrorCode": "InvalidInput", "ErrorMessage": "Note.Text too long"}]})
    assert report("remediated", state()) == "NOT UPDATED: InvalidInput: Note.Text too long"  # Stubber: no import call


def test_a_refusal_is_reported_in_the_message_never_raised(hub):
    hub.add_client_error("batch_update_findings", "AccessDeniedException", "not authorized to perform securityhub:BatchUpdateFindings")
    line = report("remediated", state())
    assert line.startswith("NOT UPDATED: An error occurred (AccessDeniedException)")
    hub.add_response("batch_import_findings", {"FailedCount": 1, "SuccessCount": 0,
                                               "FailedFindings": [{"Id": "warden/cloudtrail:e1", "ErrorCode": "InvalidInput", "ErrorMessage": "bad"}]})
    assert report("remediated", state(source="cloudtrail", raw_ref="e1")) == "NOT UPDATED: InvalidInput: bad"


@pytest.mark.parametrize("source, outcome", [("cloudtrail", "duplicate"), ("securityhub", "rejected"), ("cloudtrail", "rejected")])
def test_rejections_and_duplicates_of_wardens_own_findings_leave_security_hub_alone(hub, source, outcome):
    assert report(outcome, state(source=source, raw_ref=CONTROL_ID if source == "securityhub" else "e1")) is None  # Stubber: no call


def test_a_duplicate_control_finding_is_notified_with_the_finding_being_handled(hub):
    expect_update(hub, SH_IDENTIFIER, "NOTIFIED")
    s = {**state(), "decision": "duplicate", "reason": "s3-quarantine-public-bucket on this resource was already started by cloudtrail:e0"}
    assert report("duplicate", s) == f"finding {CONTROL_ID} set to NOTIFIED, with a note"
    assert "already started by cloudtrail:e0" in securityhub.note("duplicate", "[Warden] Duplicate suppressed: x", s)


def test_disabled_means_no_security_hub_call(hub, monkeypatch):
    monkeypatch.setenv("WARDEN_SECURITY_HUB", "disabled")
    assert report("remediated", state()) is None


def test_a_resource_warden_reads_from_security_hub_is_imported_under_the_same_asff_type():
    from warden.findings.securityhub import SECURITY_HUB_RESOURCES  # the parser's table; Notify keeps its own copy as data

    assert {asff: securityhub.ASFF_TYPE_OF.get(cfn) for asff, (cfn, _) in SECURITY_HUB_RESOURCES.items()} == {
        asff: asff for asff in SECURITY_HUB_RESOURCES
    }
