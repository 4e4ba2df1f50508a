"""Organization mode's two templates, read as text: moto enforces neither trust policies, nor
aws:PrincipalOrgID, nor event bus policies, so what AWS would enforce is proved here."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import decode

from warden_ops import spoke

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HUB, _ = decode(str(ROOT / "template.yaml"))
SPOKE, _ = decode(str(ROOT / "spoke.yaml"))
SPOKE_ROLES = {name: r for name, r in SPOKE["Resources"].items() if r["Type"] == "AWS::IAM::Role" and name != "ForwarderRole"}


def _flat(statements: list[dict]) -> list[dict]:
    """Statements with both branches of an Fn::If taken."""
    found = []
    for statement in statements:
        found += [b for b in statement["Fn::If"][1:] if "Effect" in b] if "Fn::If" in statement else [statement]
    return found


def _allows(statements: list[dict]) -> set[str]:
    return {a for s in _flat(statements) if s["Effect"] == "Allow" for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def _hub_statements(function: str) -> list[dict]:
    return _flat([s for policy in HUB["Resources"][function]["Properties"]["Policies"] for s in policy["Statement"]])


def test_spoke_yaml_is_generated_from_the_current_template():
    assert (ROOT / "spoke.yaml").read_text() == spoke.render(), (
        "template.yaml changed: regenerate spoke.yaml with `make spoke` (.venv/bin/python -m warden_ops.spoke > spoke.yaml)"
    )


def test_spoke_is_plain_cloudformation_that_lints_clean():
    assert "Transform" not in SPOKE  # service-managed StackSets reject every transform
    result = subprocess.run([str(BIN / "cfn-lint"), "spoke.yaml"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_spoke_costs_nothing_a_month_and_holds_nothing_to_switch_off():
    kinds = {r["Type"] for r in SPOKE["Resources"].values()}
    assert kinds == {"AWS::IAM::Role", "AWS::Events::Rule"}  # no Lambda, KMS key, table, queue or topic


@pytest.mark.parametrize("role", sorted(SPOKE_ROLES))
def test_each_spoke_role_trusts_only_its_hub_function_and_only_inside_the_organization(role):
    (statement,) = SPOKE_ROLES[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    family = SPOKE_ROLES[role]["Properties"]["RoleName"].removeprefix(spoke.SPOKE_ROLE_PREFIX)
    function = next(f for f, fam in spoke.SPOKE_ROLES.items() if fam == family)
    parameter = statement["Principal"]["AWS"]["Ref"]
    assert SPOKE["Parameters"][parameter]["Description"].startswith(f"The exact ARN of the hub's {function} role")
    allowed = re.compile(SPOKE["Parameters"][parameter]["AllowedPattern"])
    assert allowed.match("arn:aws:iam::111111111111:role/warden-TriageFunctionRole-AbC123")
    assert not allowed.match("arn:aws:iam::111111111111:role/*") and not allowed.match("*")
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}}
    # The hub's SpokeParameters output fills that parameter with exactly this function's role.
    output = json.dumps(HUB["Outputs"]["SpokeParameters"]["Value"])
    assert f"{parameter}=${{{function}Role.Arn}}" in output


@pytest.mark.parametrize("role", sorted(SPOKE_ROLES))
def test_each_spoke_role_allows_no_more_than_its_hub_function_does(role):
    family = SPOKE_ROLES[role]["Properties"]["RoleName"].removeprefix(spoke.SPOKE_ROLE_PREFIX)
    function = next(f for f, fam in spoke.SPOKE_ROLES.items() if fam == family)
    (policy,) = SPOKE_ROLES[role]["Properties"]["Policies"]
    granted = _allows(policy["PolicyDocument"]["Statement"])
    assert granted and granted <= _allows(_hub_statements(function)) - {"sts:AssumeRole"}
    # On-call and Security Hub are told from the hub, with its own role, even by a family function.
    assert not any(a.startswith(("dynamodb:", "ssm:", "sns:Publish", "kms:GenerateMac", "kms:GenerateDataKey", "securityhub:")) for a in granted)
    denied = [s for s in _flat(policy["PolicyDocument"]["Statement"]) if s["Sid"] == "NeverChangeWardenItself"]
    assert denied and "role/warden-spoke-*" in json.dumps(denied[0]["Resource"])


def test_hub_functions_assume_only_their_own_spoke_role_inside_the_organization():
    for function, family in spoke.SPOKE_ROLES.items():
        assumes = [s for s in _hub_statements(function) if s.get("Action") == "sts:AssumeRole"]
        assert len(assumes) == 1, function
        assert assumes[0]["Resource"] == {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::*:role/warden-spoke-{family}"}
        assert assumes[0]["Condition"] == {"StringEquals": {"aws:ResourceOrgID": {"Ref": "OrganizationId"}}}
    for function in ("NotifyFunction",):
        assert not [s for s in _hub_statements(function) if s.get("Action") == "sts:AssumeRole"]


def test_hub_bus_admits_the_organization_only_with_a_policy_of_constant_size():
    policy = HUB["Resources"]["HubEventBusPolicy"]
    assert policy["Condition"] == "OrgMode"
    statement = policy["Properties"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}}
    assert "Account" not in json.dumps(statement)  # no per-account entries: 10 KB limit never binds


def _hub_rules() -> dict[str, dict]:
    machine = HUB["Resources"]["RemediationStateMachine"]["Properties"]["Events"]
    return {name: e["Properties"] for name, e in machine.items() if e["Type"] == "EventBridgeRule"}


def test_in_organization_mode_the_hub_listens_on_its_bus_except_for_security_hub():
    for name, rule in _hub_rules().items():
        if name == "SecurityHubControls":  # aggregated findings arrive on the hub's default bus
            assert "EventBusName" not in rule
        else:
            assert rule["EventBusName"] == {"Fn::If": ["OrgMode", {"Ref": "HubEventBus"}, {"Ref": "AWS::NoValue"}]}, name


def test_spoke_forwards_exactly_what_each_hub_rule_handles_except_its_own_roles_calls():
    rules = {name: r for name, r in SPOKE["Resources"].items() if r["Type"] == "AWS::Events::Rule" and "EventPattern" in r["Properties"]}
    hub = {name: r for name, r in _hub_rules().items() if name not in spoke.NOT_FORWARDED}
    assert set(rules) == {f"Forward{name}" for name in hub}
    for name, hub_rule in hub.items():
        forwarded = json.loads(json.dumps(rules[f"Forward{name}"]["Properties"]["EventPattern"]))
        excluded = forwarded["detail"].pop("userIdentity", None)
        # the hub takes its own account's events, or (OrgMode) the members'; a spoke forwards its own
        assert forwarded.pop("account") == [{"Ref": "AWS::AccountId"}], name
        hub_pattern = json.loads(json.dumps(hub_rule["Pattern"]))
        assert hub_pattern.pop("account") == {"Fn::If": ["OrgMode", {"Ref": "AWS::NoValue"}, [{"Ref": "AWS::AccountId"}]]}, name
        assert forwarded == hub_pattern, name
        if spoke.CLOUDTRAIL in hub_rule["Pattern"]["detail-type"]:
            assert "assumed-role/warden-spoke-" in json.dumps(excluded)
        (target,) = rules[f"Forward{name}"]["Properties"]["Targets"]
        assert "event-bus/${HubEventBusName}" in json.dumps(target["Arn"])
        assert target["RoleArn"]  # cross-account bus targets granted through the organization need a role
    assert rules["ForwardIamCloudTrail"]["Condition"] == "InUsEast1"  # IAM events exist only in us-east-1


def test_the_self_exclusion_is_eventbridge_pattern_syntax_that_drops_only_the_spoke_roles():
    from moto.events.models import EventPattern

    from local.twin import _arrays_flattened

    pattern = json.dumps(SPOKE["Resources"]["ForwardS3PublicCloudTrail"]["Properties"]["EventPattern"]).replace(
        '{"Fn::Sub": "arn:${AWS::Partition}:sts::${AWS::AccountId}:assumed-role/warden-spoke-"}',
        '"arn:aws:sts::222222222222:assumed-role/warden-spoke-"',
    )
    event = json.loads((ROOT / "events" / "cloudtrail-s3-putbucketpolicy-public.json").read_text())
    event["account"] = event["detail"]["recipientAccountId"] = "222222222222"
    # Matched as the twin matches: moto's implementation of EventBridge patterns.
    assert EventPattern.load(pattern).matches_event(_arrays_flattened(event))
    event["detail"]["userIdentity"]["arn"] = "arn:aws:sts::222222222222:assumed-role/warden-spoke-s3-public/warden-x"
    assert not EventPattern.load(pattern).matches_event(_arrays_flattened(event))


def test_the_hubs_spoke_parameters_output_becomes_the_stacksets_parameters():
    output = "OrganizationId=o-a1b2c3d4e5 HubAccountId=111122223333 HubRegion=eu-west-1 HubEventBusName=warden-hub"
    assert spoke.stackset_parameters(output)[1] == {"ParameterKey": "HubAccountId", "ParameterValue": "111122223333"}
    with pytest.raises(ValueError, match="not a SpokeParameters output"):
        spoke.stackset_parameters("OrganizationId= HubAccountId")
    # every parameter the spoke requires (no default) is in the hub's output
    required = {name for name, spec in SPOKE["Parameters"].items() if "Default" not in spec}
    output = json.dumps(HUB["Outputs"]["SpokeParameters"]["Value"])
    assert all(f"{name}=" in output for name in required), required
    # and the hub's settings that decide which calls its functions make, so the spoke's roles grant those
    for name in ("Macie", "QuarantineTag"):
        assert name in SPOKE["Parameters"] and f"{name}=${{{name}}}" in output, name
