"""Security Hub in organization mode: the hub is Security Hub's administrator. A member's control
finding, aggregated by Security Hub itself, reaches the hub's default bus with AwsAccountId = the
member: Triage accepts it only for a guarded member, the fix runs through the member's spoke, and
Notify updates the finding from the hub (BatchUpdateFindings). Warden's own finding about a member is
imported in the hub's product with the hub's AwsAccountId (the only one AWS accepts; the twin's
gap filler refuses any other, local/moto_securityhub.py) and names the member as a resource.

One Organization for the module (it costs seconds); each test uses its own member or resource."""

from __future__ import annotations

import copy

import pytest

from local import scenarios
from local.organization import HUB, OUTSIDER, Organization, as_account
from tests.conftest import event
from warden.aws import SPOKE_SESSIONS
from warden.findings import parse_finding

CONTROL_EVENT = "securityhub-s3-8-bucket-public-access.json"


@pytest.fixture(scope="module")
def org():
    with Organization(parameters={"Mode": "enforce", "SecurityHub": "enabled"}) as deployed:
        deployed.client("securityhub").enable_security_hub()
        yield deployed


def aggregated(account: str) -> dict:
    """The control finding of `account` as the administrator's default bus receives it: the
    envelope is the hub's, the finding's AwsAccountId (and Id) the member's."""
    found = as_account(event(CONTROL_EVENT), account)
    found["account"] = HUB
    return found


def held_in_hub(org: Organization) -> dict[str, dict]:
    return {f["Id"]: f for f in org.client("securityhub").get_findings()["Findings"]}


def test_security_hub_findings_reach_the_hub_on_its_default_bus_and_the_rest_on_the_hub_bus(org):
    on_default = {r["Name"] for r in org.client("events").list_rules()["Rules"]}
    on_hub_bus = {r["Name"] for r in org.client("events").list_rules(EventBusName=org.physical["HubEventBus"])["Rules"]}
    controls = org.physical["RemediationStateMachineSecurityHubControls"]
    assert controls in on_default and controls not in on_hub_bus  # aggregated: nothing forwards them
    assert org.physical["RemediationStateMachineS3PublicCloudTrail"] in on_hub_bus - on_default


def test_a_members_aggregated_control_finding_is_fixed_through_its_spoke_and_updated_from_the_hub(org):
    member = org.members["ml-research"]
    scenarios.public_training_bucket(org.client("s3", "ml-research"))
    control = aggregated(member)
    asff = control["detail"]["findings"][0]
    scenarios.security_hub_holds(org.client("securityhub"), [asff])  # aggregated by Security Hub itself
    assumed = SPOKE_SESSIONS.assumed

    result = org.send(control)  # the administrator's default bus: no spoke forwards it

    assert result.decision == "enforce" and result.status == "SUCCEEDED"
    block = org.client("s3", "ml-research").get_public_access_block(Bucket=scenarios.TRAINING_BUCKET)
    assert all(block["PublicAccessBlockConfiguration"].values())  # fixed in the member account
    assert SPOKE_SESSIONS.assumed + SPOKE_SESSIONS.reused > assumed  # through its spoke roles
    held = held_in_hub(org)[asff["Id"]]
    assert held["AwsAccountId"] == member
    assert held["Workflow"] == {"Status": "RESOLVED"} and held["Note"]["UpdatedBy"] == "warden"
    assert f"python -m warden_ops rollback securityhub:{control['id']}" in held["Note"]["Text"]
    (message,) = result.notifications
    assert f"finding {asff['Id']} set to RESOLVED, with a note" in message["body"]
    assert f"Account {member} (ml-research" in message["body"]


def test_a_control_finding_of_an_account_outside_the_organization_is_rejected_and_left_as_it_is(org):
    control = aggregated(OUTSIDER)
    asff = control["detail"]["findings"][0]
    scenarios.security_hub_holds(org.client("securityhub"), [asff])
    assumed = SPOKE_SESSIONS.assumed

    result = org.send(control)

    assert result.decision == "rejected"
    assert "not an active member of organization" in result.executions[0].triage["reason"]
    assert SPOKE_SESSIONS.assumed == assumed
    assert held_in_hub(org)[asff["Id"]]["Workflow"] == {"Status": "NEW"}  # Warden did not touch it


def test_wardens_own_finding_about_a_member_is_imported_in_the_hubs_product_naming_the_member(org):
    member = org.members["ml-prod"]
    org.client("ec2", "ml-prod").disable_ebs_encryption_by_default()
    raw = as_account(event("cloudtrail-ec2-disableebsencryptionbydefault.json"), member)

    result = org.send(raw, "ml-prod")

    assert result.decision == "enforce" and result.status == "SUCCEEDED"
    own = held_in_hub(org)[f"warden/{parse_finding(raw).id}"]
    assert own["ProductArn"] == f"arn:aws:securityhub:us-east-1:{HUB}:product/{HUB}/default"
    assert own["AwsAccountId"] == HUB  # AWS imports a default-product finding only as the importing account
    assert {"Type": "AwsAccount", "Id": f"AWS::::Account:{member}", "Partition": "aws", "Region": "us-east-1"} in own["Resources"]
    assert own["ProductFields"]["warden/account"] == member
    assert own["Compliance"] == {"Status": "PASSED"}
    body = result.notifications[0]["body"]
    assert f"in the hub account {HUB}'s Security Hub" in body and f"names account {member} as a resource" in body


def test_the_twin_refuses_an_import_as_another_account_as_aws_does(org):
    """The gap filler the previous test relies on can fail: an import naming a member is refused."""
    member = org.members["ml-prod"]
    finding = copy.deepcopy(event(CONTROL_EVENT)["detail"]["findings"][0])
    finding.update(Id="warden/forged", ProductArn=f"arn:aws:securityhub:us-east-1:{HUB}:product/{HUB}/default", AwsAccountId=member)

    answer = org.client("securityhub").batch_import_findings(Findings=[finding])

    assert answer["FailedCount"] == 1 and answer["FailedFindings"][0]["ErrorCode"] == "AccessDeniedException"
    assert "warden/forged" not in held_in_hub(org)
