"""The operator commands against a hub: `history` lists every account's records (and filters by
account). One Organization for the module: each test reads what the fixture did, or acts on its own
resource."""

from __future__ import annotations

import io
import json

import pytest

from local.organization import Organization, as_account
from tests.conftest import event
from warden_ops.cli import main
from warden_ops.target import TwinTarget

EBS_EVENT = "cloudtrail-ec2-disableebsencryptionbydefault.json"


def run(org: Organization, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), target=TwinTarget(org), out=out)
    return status, out.getvalue()


@pytest.fixture(scope="module")
def worked():
    """EBS encryption by default turned off, and fixed by Warden, in both members and in the hub."""
    with Organization(parameters={"Mode": "enforce"}) as org:
        finding_ids = {}
        for name in ("ml-research", "ml-prod", "hub"):
            account = org.members.get(name, org.account)
            org.client("ec2", name).disable_ebs_encryption_by_default()
            raw = as_account(event(EBS_EVENT), account)
            raw["detail"]["eventID"] = f"{account}-ebs"  # each account's own CloudTrail event, its own finding
            result = org.send(raw, None if name == "hub" else name)
            assert result.decision == "enforce", result.executions[0].triage
            finding_ids[name] = result.audit_records[0]["finding_id"]
        yield org, finding_ids


def test_history_lists_the_records_of_every_account_of_the_hub(worked):
    org, finding_ids = worked
    status, printed = run(org, "--json", "history")
    assert status == 0
    rows = {row["finding_id"]: row for row in json.loads(printed)}
    assert {rows[fid]["account"] for fid in finding_ids.values()} == {*org.members.values(), org.account}

    status, text = run(org, "history")
    header, *lines = text.splitlines()
    assert header.split()[:5] == ["RECORDED", "(UTC)", "STATUS", "ACCOUNT", "REMEDIATION"]
    research = next(line for line in lines if finding_ids["ml-research"] in line)
    assert research.split()[2:5] == ["remediated", org.members["ml-research"], "ec2-enable-ebs-encryption-by-default"]


def test_history_filters_by_account(worked):
    org, finding_ids = worked
    prod = org.members["ml-prod"]
    status, printed = run(org, "--json", "history", "--account", prod)
    assert status == 0
    assert [(row["account"], row["finding_id"]) for row in json.loads(printed)] == [(prod, finding_ids["ml-prod"])]
    status, printed = run(org, "--json", "history", "--account", prod[:4] + "*")
    assert finding_ids["ml-prod"] in {row["finding_id"] for row in json.loads(printed)}


def test_history_says_what_is_wrong_with_an_account_filter(worked, capsys):
    org, _ = worked
    status, printed = run(org, "history", "--account", "ml-prod")
    (line,) = capsys.readouterr().err.splitlines()
    assert status == 2 and printed == ""
    assert line == "error: --account takes a 12-digit account id or a pattern of digits such as '1111*', not 'ml-prod'"


def test_a_members_fix_is_undone_in_that_account_as_the_operator_and_never_elsewhere(worked, capsys):
    """Without a way into the member, one line and nothing changed; with --member-role, the restore
    runs in the member as the operator (assumed role), and the hub's own setting is untouched."""
    org, finding_ids = worked
    member = org.members["ml-research"]

    status, printed = run(org, "rollback", finding_ids["ml-research"])
    (line,) = capsys.readouterr().err.splitlines()
    assert status == 2 and printed == ""
    assert f"is in account {member} and your credentials are for account {org.account}: pass --member-role" in line
    assert org.client("ec2", "ml-research").get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is True

    status, printed = run(org, "rollback", finding_ids["ml-research"], "--member-role", "OrganizationAccountAccessRole", "--no-exempt")

    assert status == 0, printed
    assert printed.startswith("ROLLED-BACK")
    assert org.client("ec2", "ml-research").get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is False
    assert org.client("ec2", "hub").get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is True
