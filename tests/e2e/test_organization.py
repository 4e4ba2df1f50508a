"""Organization mode end to end: the real hub template and handlers, the real spoke roles and rules
in two member accounts, on one moto (local.organization). Trust policies are enforced by the twin
as IAM would for spoke.yaml's form (see local/organization.py); the bus policy by text (unit tests)."""

from __future__ import annotations

import json
import time

import pytest

from local import scenarios
from local.organization import OUTSIDER, Organization, as_account
from tests.conftest import event
from warden.aws import SPOKE_SESSIONS


def block_public_access(org: Organization, member: str) -> dict:
    try:
        return org.client("s3", member).get_public_access_block(Bucket=scenarios.TRAINING_BUCKET)["PublicAccessBlockConfiguration"]
    except org.client("s3", member).exceptions.ClientError:
        return {}


@pytest.fixture
def org():
    with Organization(parameters={"Mode": "enforce"}) as deployed:
        yield deployed


def test_a_public_bucket_in_a_member_account_is_fixed_from_the_hub_through_the_spoke_role(org):
    member = org.members["ml-research"]
    scenarios.public_training_bucket(org.client("s3", "ml-research"))

    result = org.send(as_account(event("cloudtrail-s3-putbucketpolicy-public.json"), member), "ml-research")

    assert result.decision == "enforce" and result.status == "SUCCEEDED"
    assert all(block_public_access(org, "ml-research").values())  # fixed in the member account
    assert SPOKE_SESSIONS.assumed >= 1  # by the hub's functions, through warden-spoke-* roles
    (record,) = result.audit_records
    assert record["account"] == member and record["outcome"] == "remediated"
    (message,) = result.notifications
    ou = org.organizational_units["ml-research"]
    assert f"Account {member} (ml-research, OU {ou}), region us-east-1" in message["body"]
    assert f"https://signin.aws.amazon.com/switchrole?account={member}&roleName=OrganizationAccountAccessRole" in message["body"]


def test_an_event_from_an_account_outside_the_organization_is_rejected_before_anything_is_read(org):
    """A PowerUser in the hub can start the workflow with any event; one naming an outsider is refused."""
    forged = as_account(event("cloudtrail-s3-putbucketpolicy-public.json"), OUTSIDER)
    before = SPOKE_SESSIONS.assumed

    result = org.send(forged)  # straight to the hub: the bus policy would have refused it at the door

    assert result.decision == "rejected"
    assert "not an active member of organization" in result.executions[0].triage["reason"]
    assert SPOKE_SESSIONS.assumed == before  # nothing was read in any account
    assert "REJECTED" in result.notifications[0]["subject"].upper()


def test_organization_scope_narrows_the_guarded_accounts(org):
    # OU ids exist once moto runs, so the scope (a stack parameter) is set in Triage's environment here.
    triage = next(spec for spec in org.functions.values() if spec["logical"] == "TriageFunction")
    triage["env"]["WARDEN_ORGANIZATION_SCOPE"] = org.organizational_units["ml-research"]
    for name in ("ml-research", "ml-prod"):
        org.client("ec2", name).disable_ebs_encryption_by_default()

    inside = org.send(as_account(event("cloudtrail-ec2-disableebsencryptionbydefault.json"), org.members["ml-research"]), "ml-research")
    outside = org.send(as_account(event("cloudtrail-ec2-disableebsencryptionbydefault.json"), org.members["ml-prod"]), "ml-prod")

    assert inside.decision == "enforce"
    assert outside.decision == "rejected" and "outside OrganizationScope" in outside.executions[0].triage["reason"]
    assert org.client("ec2", "ml-prod").get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is False


def test_the_spoke_does_not_forward_its_own_roles_changes(org):
    """Loop prevention across accounts: Warden's own fix in a member never reaches the hub."""
    member = org.members["ml-research"]
    own = as_account(event("cloudtrail-s3-putbucketacl-by-warden.json"), member)
    own["detail"]["userIdentity"]["arn"] = f"arn:aws:sts::{member}:assumed-role/warden-spoke-s3-public/warden-cloudtrail-x"

    assert org.forwarded_by(member, own) == []
    assert org.send(own, "ml-research").executions == []
    # Anyone else's same call is forwarded.
    own["detail"]["userIdentity"]["arn"] = f"arn:aws:sts::{member}:assumed-role/DataScientist/alice"
    assert org.forwarded_by(member, own) == ["warden-spoke-s3-public-cloud-trail"]


def test_dedupe_is_per_account(org):
    """The same account-level exposure in two members within the window: both are fixed."""
    results = {}
    for name in ("ml-research", "ml-prod"):
        account = org.members[name]
        org.client("ec2", name).disable_ebs_encryption_by_default()
        raw = as_account(event("cloudtrail-ec2-disableebsencryptionbydefault.json"), account)
        raw["detail"]["eventID"] = f"{account}-ebs"  # each account's CloudTrail has its own event ids
        results[name] = org.send(raw, name)
    assert [r.decision for r in results.values()] == ["enforce", "enforce"]
    for name in results:
        assert org.client("ec2", name).get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is True


def test_a_member_without_the_spoke_cannot_be_changed_and_on_call_is_told(org):
    """The trust policy is the only door: with the spoke stack deleted, the hub's AssumeRole is refused."""
    member = org.members["ml-prod"]
    scenarios.public_training_bucket(org.client("s3", "ml-prod"))
    org.remove_spoke("ml-prod")

    result = org.start_execution(as_account(event("cloudtrail-s3-putbucketpolicy-public.json"), member))

    assert result.status == "FAILED"
    assert not block_public_access(org, "ml-prod")  # nothing changed
    assert "AccessDenied" in result.notifications[-1]["body"] or "not authorized" in result.notifications[-1]["body"]


def test_a_spoke_that_stops_forwarding_is_reported_once_and_its_return_too(org):
    org.heartbeat("ml-research")
    org.heartbeat("ml-prod")
    assert org.check_spokes() == []  # both heard from

    org.remove_spoke("ml-prod")  # a member team deletes the stack
    assert org.heartbeat("ml-prod") is None  # nothing is sent any more
    # Three hours pass (the silence threshold): ml-prod's last heartbeat is that old; ml-research keeps beating.
    three_hours_ago = str(int(time.time()) - 3 * 3600 - 60)
    org.client("dynamodb").update_item(
        TableName=org.physical["DedupeTable"], Key={"id": {"S": f"spoke-heartbeat#{org.members['ml-prod']}"}},
        UpdateExpression="SET last_seen = :t", ExpressionAttributeValues={":t": {"N": three_hours_ago}},
    )
    org.heartbeat("ml-research")

    (message,) = org.check_spokes()
    assert message["attributes"]["severity"] == "HIGH"
    assert org.members["ml-prod"] in message["body"] and org.members["ml-research"] not in message["body"]
    assert org.check_spokes() == []  # said once, not every hour

    org.deploy_spoke(org.members["ml-prod"])  # the StackSet puts it back
    org.heartbeat("ml-prod")
    (back,) = org._drain_inbox()
    assert "forwarding events to the hub again" in back["body"]


def test_modes_and_exemptions_per_account_and_per_ou(org):
    """The settings document's `accounts`: ml-prod's OU is dry-run, ml-research exempts one bucket."""
    research, prod = org.members["ml-research"], org.members["ml-prod"]
    document = {
        "accounts": {
            org.organizational_units["ml-prod"]: {"mode": "dry-run"},
            research: {"exempt_resources": [{"resource": "arn:aws:s3:::ml-training-data-prod", "reason": "research demo"}]},
        }
    }
    org.client("ssm").put_parameter(Name=org.physical["SettingsParameter"], Value=json.dumps(document), Overwrite=True)
    for name in ("ml-research", "ml-prod"):
        org.client("ec2", name).disable_ebs_encryption_by_default()

    prod_ebs = org.send(as_account(event("cloudtrail-ec2-disableebsencryptionbydefault.json"), prod), "ml-prod")
    research_ebs = org.send(as_account(event("cloudtrail-ec2-disableebsencryptionbydefault.json"), research), "ml-research")

    assert prod_ebs.decision == "dry-run"  # its OU's mode
    assert research_ebs.decision == "enforce"  # the organization-wide mode
    assert org.client("ec2", "ml-prod").get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is False
    scenarios.public_training_bucket(org.client("s3", "ml-research"))
    exempt = org.send(as_account(event("cloudtrail-s3-putbucketpolicy-public.json"), research), "ml-research")
    assert exempt.decision == "exempt" and "research demo" in exempt.executions[0].triage["reason"]


def test_the_organization_demo_shows_its_three_scenes(capsys):
    from local.organization import demo

    assert demo() == 0
    shown = capsys.readouterr().out
    assert "decision   enforce" in shown and "Block Public Access in" in shown and "4/4 on" in shown
    assert "is not an active member of organization" in shown
    assert "Warden: 1 spoke(s) stopped forwarding" in shown
