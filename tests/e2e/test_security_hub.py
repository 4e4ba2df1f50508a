"""Security Hub on the twin: every outcome is reflected there, on the finding it came from or as
Warden's own ASFF finding; Config evaluations Security Hub reports itself are not acted on twice;
a Security Hub failure never hides the notification; disabled means no Security Hub at all."""

from __future__ import annotations

import copy
import json

import pytest

from local import scenarios
from local.twin import Twin
from tests.conftest import event, security_hub_holds_control_findings
from warden.findings import parse_finding
from warden.remediations.s3_public import split_policy

S = scenarios
CONTROL_EVENT = "securityhub-s3-8-bucket-public-access.json"
CLOUDTRAIL_EVENT = "cloudtrail-s3-putbucketpolicy-public.json"
GUARDDUTY_EVENT = "guardduty-s3-bucketpublicaccessgranted.json"


def deploy(mode: str = "enforce", security_hub: str = "enabled", hub_on: bool = True) -> Twin:
    twin = Twin(parameters={"Mode": mode, "SecurityHub": security_hub}).__enter__()
    S.public_training_bucket(twin.client("s3"))
    if hub_on:
        security_hub_holds_control_findings(twin.client("securityhub"))
    return twin


@pytest.fixture
def twin():
    deployed = deploy()
    yield deployed
    deployed.__exit__(None, None, None)


def findings(twin) -> dict[str, dict]:
    return {f["Id"]: f for f in twin.client("securityhub").get_findings()["Findings"]}


def control_finding_id(name: str = CONTROL_EVENT) -> str:
    return event(name)["detail"]["findings"][0]["Id"]


def test_a_control_finding_that_warden_fixes_is_resolved_with_a_note_saying_how_to_undo(twin):
    result = twin.send(event(CONTROL_EVENT))

    assert [n["attributes"]["outcome"] for n in result.notifications] == ["remediated"]
    held = findings(twin)[control_finding_id()]
    assert held["Workflow"] == {"Status": "RESOLVED"}
    finding_id = parse_finding(event(CONTROL_EVENT)).id
    assert held["Note"]["UpdatedBy"] == "warden"
    assert held["Note"]["Text"].startswith("Warden remediated: Fixed: S3 bucket Block Public Access off ml-training-data-prod")
    assert f"python -m warden_ops rollback {finding_id}" in held["Note"]["Text"]
    assert len(held["Note"]["Text"]) <= 512
    # on-call reads what Security Hub now shows, and so does the audit record
    body = result.notifications[0]["body"]
    assert f"SECURITY HUB\n  finding {control_finding_id()} set to RESOLVED, with a note" in body
    assert "set to RESOLVED" in result.audit_records[0]["security_hub"]
    assert not [f for f in findings(twin) if f.startswith("warden/")], "no second finding for the same exposure"


def test_dry_run_leaves_the_control_finding_notified_with_what_warden_would_do():
    twin = deploy(mode="dry-run")
    try:
        result = twin.send(event(CONTROL_EVENT))
        held = findings(twin)[control_finding_id()]
    finally:
        twin.__exit__(None, None, None)
    assert [n["attributes"]["outcome"] for n in result.notifications] == ["would-remediate"]
    assert held["Workflow"] == {"Status": "NOTIFIED"}
    assert held["Note"]["Text"].startswith("Warden would-remediate: DRY RUN, would fix")
    assert "rollback" not in held["Note"]["Text"]


def test_an_outcome_security_hub_holds_no_finding_for_is_imported_as_wardens_own(twin):
    result = twin.send(event(CLOUDTRAIL_EVENT))

    finding_id = parse_finding(event(CLOUDTRAIL_EVENT)).id
    own = findings(twin)[f"warden/{finding_id}"]
    assert own["ProductArn"] == f"arn:aws:securityhub:us-east-1:{S.ACCOUNT}:product/{S.ACCOUNT}/default"
    assert own["AwsAccountId"] == S.ACCOUNT
    assert own["GeneratorId"] == "warden/s3-quarantine-public-bucket"
    assert own["Resources"] == [{"Type": "AwsS3Bucket", "Id": f"arn:aws:s3:::{S.TRAINING_BUCKET}", "Partition": "aws", "Region": "us-east-1"}]
    assert own["Compliance"] == {"Status": "PASSED"} and own["Workflow"] == {"Status": "RESOLVED"}
    assert own["Types"] == ["Effects/Data Exposure"]
    assert own["ProductFields"]["warden/outcome"] == "remediated"
    assert own["Title"] == result.notifications[0]["subject"]
    assert "WHAT WARDEN DID" in own["Description"] and len(own["Description"]) <= 1024
    assert f"Warden finding warden/{finding_id} imported, compliance PASSED" in result.notifications[0]["body"]


def test_a_guardduty_finding_updates_its_security_hub_copy_or_else_is_imported(twin):
    gd = event(GUARDDUTY_EVENT)["detail"]
    copy_in_hub = {
        "SchemaVersion": "2018-10-08", "Id": gd["arn"], "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty",
        "GeneratorId": gd["arn"].rsplit("/finding/", 1)[0], "AwsAccountId": S.ACCOUNT, "Types": ["Effects/Data Exposure"],
        "CreatedAt": gd["createdAt"] if "createdAt" in gd else gd["updatedAt"], "UpdatedAt": gd["updatedAt"],
        "Severity": {"Label": "HIGH"}, "Title": gd["type"], "Description": gd["type"],
        "Resources": [{"Type": "AwsS3Bucket", "Id": f"arn:aws:s3:::{S.TRAINING_BUCKET}"}], "Workflow": {"Status": "NEW"},
    }
    twin.client("securityhub").batch_import_findings(Findings=[copy_in_hub])
    S.guardduty_reported(twin.client, [gd])  # Triage confirms the finding with GuardDuty before acting

    twin.send(event(GUARDDUTY_EVENT))

    held = findings(twin)[gd["arn"]]
    assert held["Workflow"] == {"Status": "RESOLVED"} and held["Note"]["Text"].startswith("Warden remediated")
    assert not [f for f in findings(twin) if f.startswith("warden/")]


def test_a_guardduty_finding_absent_from_security_hub_is_imported_and_the_message_says_so(twin):
    S.public_training_bucket(twin.client("s3"))
    S.guardduty_reported(twin.client, [event(GUARDDUTY_EVENT)["detail"]])  # Triage confirms it with GuardDuty
    result = twin.send(event(GUARDDUTY_EVENT))

    finding_id = parse_finding(event(GUARDDUTY_EVENT)).id
    assert findings(twin)[f"warden/{finding_id}"]["Compliance"] == {"Status": "PASSED"}
    assert "(Security Hub holds no finding arn:aws:guardduty:" in result.notifications[0]["body"]


def test_a_config_evaluation_security_hub_reports_itself_is_left_to_the_security_hub_event(twin):
    config = event("config-s3-bucket-level-public-access-prohibited.json")
    config["detail"]["configRuleName"] = "securityhub-s3-bucket-level-public-access-prohibited-5e1a2b"
    before = twin.client("s3").get_bucket_policy(Bucket=S.TRAINING_BUCKET)["Policy"]

    result = twin.send(config)

    assert result.decision == "ignored"
    assert "Security Hub reports this evaluation as its own control finding" in result.executions[0].triage["reason"]
    assert result.notifications == []
    assert twin.client("s3").get_bucket_policy(Bucket=S.TRAINING_BUCKET)["Policy"] == before
    assert findings(twin)[control_finding_id()]["Workflow"] == {"Status": "NEW"}


def test_without_the_parameter_security_hub_is_never_called_and_config_rules_act_as_before():
    twin = deploy(security_hub="disabled")
    try:
        shown = twin.send(event(CONTROL_EVENT))
        config = event("config-s3-bucket-level-public-access-prohibited.json")
        config["detail"]["configRuleName"] = "securityhub-s3-bucket-level-public-access-prohibited-5e1a2b"
        result = twin.send(config)
        held = findings(twin)
    finally:
        twin.__exit__(None, None, None)
    assert shown.matched_rules == [], "the Security Hub rule is disabled"
    assert result.decision == "enforce" and [n["attributes"]["outcome"] for n in result.notifications] == ["remediated"]
    assert "SECURITY HUB" not in result.notifications[0]["body"]
    assert held[control_finding_id()]["Workflow"] == {"Status": "NEW"}
    assert not [f for f in held if f.startswith("warden/")]


def test_a_security_hub_failure_is_told_to_on_call_and_never_hides_the_fix():
    twin = deploy(hub_on=False)  # the parameter says enabled, the account has no Security Hub
    try:
        result = twin.send(event(CONTROL_EVENT))
        policy = json.loads(twin.client("s3").get_bucket_policy(Bucket=S.TRAINING_BUCKET)["Policy"])
        status = twin.client("s3").get_bucket_policy_status(Bucket=S.TRAINING_BUCKET)["PolicyStatus"]
    finally:
        twin.__exit__(None, None, None)
    assert result.status == "SUCCEEDED"
    assert [n["attributes"]["outcome"] for n in result.notifications] == ["remediated"]
    assert "SECURITY HUB\n  NOT UPDATED: An error occurred (InvalidAccessException)" in result.notifications[0]["body"]
    assert result.audit_records[0]["security_hub"].startswith("NOT UPDATED")
    assert split_policy(policy)[0] == [] and status == {"IsPublic": False}, "the fix itself stands"


def test_warden_ignores_the_event_its_own_update_produces(twin):
    twin.send(event(CONTROL_EVENT))
    echoed = copy.deepcopy(event(CONTROL_EVENT))
    echoed["id"] = "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c99"
    echoed["detail"]["findings"][0].update(findings(twin)[control_finding_id()])  # what Security Hub now sends

    assert twin.send(echoed).matched_rules == []


def test_every_security_hub_call_is_granted_to_the_function_that_tells_on_call_by_its_deployed_role(twin):
    """Least privilege, observed: the calls the family function makes when it tells on-call its fix is
    verified, control finding and imported finding alike, are allowed (action and resource) by its
    role as the template deploys it with the parameter on."""
    from local.faults import allowed, attribute_calls_to_functions, record_api_calls, role_statements

    S.public_training_bucket(twin.client("s3"), name="second-training-bucket")
    other_bucket = json.loads(json.dumps(event(CLOUDTRAIL_EVENT)).replace(S.TRAINING_BUCKET, "second-training-bucket"))
    with attribute_calls_to_functions(twin), record_api_calls() as calls:
        twin.send(event(CONTROL_EVENT))  # its Security Hub finding is updated
        twin.send(other_bucket)  # Warden's own finding is imported
    hub_calls = [c for c in calls if c.service == "securityhub"]
    assert {(c.function, c.operation) for c in hub_calls} == {
        ("S3PublicAccessFunction", "BatchUpdateFindings"), ("S3PublicAccessFunction", "BatchImportFindings")}
    for call in hub_calls:
        resource = call.resource(twin.account)
        assert resource is not None and allowed(role_statements(twin, call.function), call.action, resource), (call, resource)
