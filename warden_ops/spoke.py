"""spoke.yaml, derived from template.yaml: the member-account half of organization mode.

    python -m warden_ops spoke-template > spoke.yaml      (`make spoke`; a test checks it is current)

A spoke is plain CloudFormation (service-managed StackSets reject every Transform) holding only
roles and rules: no Lambda, no table, no KMS key, nothing billed, nothing for a member team to
switch off but the stack itself. It is generated, not hand-written, so that the two halves cannot
drift: each spoke role carries exactly the statements of the hub function it serves that act on the
guarded account (statements on the hub's own table, topic, key or parameter stay in the hub), and
each forwarding rule has exactly the pattern of the hub rule it feeds.

- Roles `warden-spoke-<family>`, one per hub function that reads or changes a member's resources,
  each trusted by that function's role only (its exact ARN, a StackSet parameter filled from the
  hub's `SpokeParameters` output) and only from inside the organization (aws:PrincipalOrgID).
  IAM is global, so the roles are created once, in `PrimaryRegion`.
- Rules in every region forward the events the hub listens for to the hub's bus, except those
  caused by the spoke's own roles (loop prevention before anything crosses an account). IAM's
  CloudTrail events exist only in us-east-1, so its rule is created there.
- A heartbeat (a scheduled rule in `PrimaryRegion`) tells the hub the spoke still forwards.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent
SPOKE_ROLE_PREFIX = "warden-spoke-"
FORWARDER_ROLE = f"{SPOKE_ROLE_PREFIX}forwarder"
HEARTBEAT_RULE = f"{SPOKE_ROLE_PREFIX}heartbeat"

# Hub function -> the spoke role it assumes in a member account. Notify (publishes in the hub) and
# the operator's rollback (runs as the operator) assume nothing.
SPOKE_ROLES = {
    "TriageFunction": "triage",
    "S3PublicAccessFunction": "s3-public",
    "EncryptionFunction": "encryption",
    "IamFunction": "iam",
    "ThrottleFunction": "throttle",
}
# Events that reach the hub without forwarding (Security Hub aggregates member findings itself).
NOT_FORWARDED = {"SecurityHubControls"}
CLOUDTRAIL = "AWS API Call via CloudTrail"
# Statements under these stay in the hub: its AssumeRole into spokes, and Security Hub, which a family
# function tells with the hub's own credentials (the hub is Security Hub's administrator).
HUB_ONLY_CONDITIONS = ("OrgMode", "UseSecurityHub")
INTRINSICS = {"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::If", "Condition"}


def role_name(family: str) -> str:
    return f"{SPOKE_ROLE_PREFIX}{family}"


def _plain(node: Any) -> Any:
    """cfn-lint's decoded nodes as plain dicts, lists and strings."""
    return json.loads(json.dumps(node))


def _references(node: Any) -> set[str]:
    """Every name a node refers to: Ref, GetAtt, ${Sub} variables and Fn::If conditions."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref":
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".", 1)[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {name.split(".", 1)[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
                if isinstance(value, list):
                    found |= _references(value[1])
            elif key == "Fn::If":
                found.add("Condition:" + value[0])
                found |= _references(value[1:])
            elif key == "Condition" and isinstance(value, str):  # a condition naming another
                found.add("Condition:" + value)
            else:
                found |= _references(value)
    return {name for name in found if not name.startswith("AWS::")}


def _closure(template: dict, names: set[str]) -> tuple[set[str], set[str]]:
    """(parameters, conditions) that `names` need, following conditions to what they name."""
    parameters, conditions = set(), set()
    pending = set(names)
    while pending:
        name = pending.pop()
        if name.startswith("Condition:"):
            condition = name.removeprefix("Condition:")
            if condition not in conditions:
                conditions.add(condition)
                pending |= _references(template["Conditions"][condition])
        elif name in template.get("Parameters", {}):
            parameters.add(name)
    return parameters, conditions


def _member_statements(template: dict, function: str) -> list[dict]:
    """The function's statements that act on the guarded account: none on the hub's own resources
    (its topic, tables, keys) and none under HUB_ONLY_CONDITIONS. The hub runs in one region and acts in every region of
    a member, so a statement scoped to the hub's region is widened to every region."""
    hub_only = set(template["Resources"]) | {"Condition:" + name for name in HUB_ONLY_CONDITIONS}
    statements = []
    for policy in template["Resources"][function]["Properties"].get("Policies", []):
        if not isinstance(policy, dict) or "Statement" not in policy:
            continue
        for statement in policy["Statement"]:
            if not (_references(statement) & hub_only):
                statements.append(_every_region(statement))
    return statements


def _every_region(node: Any) -> Any:
    if isinstance(node, list):
        return [_every_region(item) for item in node]
    if isinstance(node, dict):
        return {k: (v.replace("${AWS::Region}", "*") if k == "Fn::Sub" and isinstance(v, str) else _every_region(v)) for k, v in node.items()}
    return node


def _trust_policy(family: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyTheHubFunctionInTheOrganization",
                "Effect": "Allow",
                "Principal": {"AWS": {"Ref": _role_parameter(family)}},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}},
            }
        ],
    }


def _role_parameter(family: str) -> str:
    return "Hub" + "".join(part.capitalize() for part in family.split("-")) + "RoleArn"


def _protect_warden() -> dict:
    """No spoke role may change the spoke itself or the StackSet's execution role."""
    return {
        "Sid": "NeverChangeWardenItself",
        "Effect": "Deny",
        "Action": ["iam:*", "events:*", "cloudformation:*"],
        "Resource": [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/" + SPOKE_ROLE_PREFIX + "*"},
            {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/stacksets-exec-*"},
            {"Fn::Sub": "arn:${AWS::Partition}:events:*:${AWS::AccountId}:rule/" + SPOKE_ROLE_PREFIX + "*"},
            {"Fn::Sub": "arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/StackSet-*"},
        ],
    }


def _hub_bus_arn() -> dict:
    return {"Fn::Sub": "arn:${AWS::Partition}:events:${HubRegion}:${HubAccountId}:event-bus/${HubEventBusName}"}


def _not_by_spoke_roles(pattern: dict) -> dict:
    """A CloudTrail pattern that also drops calls made by the spoke's own roles (loop prevention)."""
    detail = dict(pattern.get("detail", {}))
    detail["userIdentity"] = {
        "arn": [{"anything-but": {"prefix": {"Fn::Sub": "arn:${AWS::Partition}:sts::${AWS::AccountId}:assumed-role/" + SPOKE_ROLE_PREFIX}}}]
    }
    return {**pattern, "detail": detail}


def _forwarding_rules(template: dict) -> dict[str, dict]:
    # The state machine every event starts (the Express one): its rules are the ones to forward.
    machine = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine" and r["Properties"].get("Events"))
    rules = {}
    for name, event in machine["Properties"].get("Events", {}).items():
        if event["Type"] != "EventBridgeRule" or name in NOT_FORWARDED:
            continue
        pattern = event["Properties"]["Pattern"]
        if "account" in pattern:  # the hub's "own account, unless OrgMode": a spoke forwards its own account's events
            pattern = {**pattern, "account": [{"Ref": "AWS::AccountId"}]}
        if CLOUDTRAIL in pattern.get("detail-type", []):
            pattern = _not_by_spoke_roles(pattern)
        rule = {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": f"{SPOKE_ROLE_PREFIX}{_kebab(name)}",
                "Description": f"Warden spoke: forward what the hub's {name} rule handles to the hub bus",
                "EventPattern": pattern,
                "Targets": [
                    {
                        "Id": "WardenHubBus",
                        "Arn": _hub_bus_arn(),
                        "RoleArn": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/" + FORWARDER_ROLE},
                    }
                ],
            },
        }
        if "aws.iam" in pattern.get("source", []):
            rule["Condition"] = "InUsEast1"  # IAM's CloudTrail events reach EventBridge in us-east-1 only
        rules[f"Forward{name}"] = rule
    return rules


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "-", name).lower()


def spoke_template(template_path: Path = ROOT / "template.yaml") -> dict:
    decoded, matches = decode(str(template_path))
    if matches:
        raise ValueError(f"{template_path} does not parse: {matches}")
    hub = _plain(decoded)
    parameters: dict[str, Any] = {
        "OrganizationId": {
            "Type": "String",
            "AllowedPattern": "^o-[a-z0-9]{10,32}$",
            "Description": "The organization (aws organizations describe-organization): only its principals may use the spoke roles.",
        },
        "HubAccountId": {"Type": "String", "AllowedPattern": "^[0-9]{12}$", "Description": "The account Warden's hub stack runs in."},
        "HubRegion": {"Type": "String", "AllowedPattern": "^[a-z]{2}(-gov)?-[a-z]+-\\d$", "Description": "The hub stack's region."},
        "HubEventBusName": {"Type": "String", "Default": "warden-hub", "Description": "The hub's event bus (its HubEventBusName output)."},
        "PrimaryRegion": {
            "Type": "String",
            "Default": "us-east-1",
            "Description": "The one region whose stack instance creates the account's IAM roles and the heartbeat (deploy it first).",
        },
    }
    resources: dict[str, Any] = {}
    carried: set[str] = set()
    families = []
    for function, family in SPOKE_ROLES.items():
        statements = _member_statements(hub, function)
        carried |= _references(statements)
        families.append(family)
        parameters[_role_parameter(family)] = {
            "Type": "String",
            "AllowedPattern": "^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\\w+=,.@/-]+$",  # an exact role: no wildcard
            "Description": f"The exact ARN of the hub's {function} role (the hub stack's SpokeParameters output).",
        }
        resources["".join(p.capitalize() for p in family.split("-")) + "SpokeRole"] = {
            "Type": "AWS::IAM::Role",
            "Condition": "InPrimaryRegion",
            "Properties": {
                "RoleName": role_name(family),
                "Description": f"Warden: what the hub's {function} does in this account, and nothing else.",
                "MaxSessionDuration": 3600,
                "AssumeRolePolicyDocument": _trust_policy(family),
                "Policies": [
                    {
                        "PolicyName": "warden",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": [*statements, _protect_warden()]},
                    }
                ],
            },
        }
    resources["ForwarderRole"] = {
        "Type": "AWS::IAM::Role",
        "Condition": "InPrimaryRegion",
        "Properties": {
            "RoleName": FORWARDER_ROLE,
            "Description": "Warden: lets this account's spoke rules put events on the hub bus, nothing else.",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": "put-events-on-the-hub-bus",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": _hub_bus_arn()}],
                    },
                }
            ],
        },
    }
    resources.update(_forwarding_rules(hub))
    resources["Heartbeat"] = {
        "Type": "AWS::Events::Rule",
        "Condition": "InPrimaryRegion",
        "Properties": {
            "Name": HEARTBEAT_RULE,
            "Description": "Warden spoke: tells the hub every hour that this account still forwards",
            "ScheduleExpression": "rate(1 hour)",
            "Targets": [
                {
                    "Id": "WardenHubBus",
                    "Arn": _hub_bus_arn(),
                    "RoleArn": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/" + FORWARDER_ROLE},
                }
            ],
        },
    }
    carried_parameters, carried_conditions = _closure(hub, carried)
    for name in sorted(carried_parameters):
        parameters[name] = hub["Parameters"][name]
    conditions: dict[str, Any] = {
        "InPrimaryRegion": {"Fn::Equals": [{"Ref": "AWS::Region"}, {"Ref": "PrimaryRegion"}]},
        "InUsEast1": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
    }
    for name in sorted(carried_conditions):
        conditions[name] = hub["Conditions"][name]
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            "Warden spoke (organization mode): roles and forwarding rules only. Generated from template.yaml by "
            "`python -m warden_ops spoke-template`; do not edit. Deploy with a service-managed StackSet (docs/organization.md)."
        ),
        "Parameters": parameters,
        "Conditions": conditions,
        "Resources": resources,
        "Outputs": {
            "SpokeRoles": {
                "Condition": "InPrimaryRegion",
                "Description": "The roles the hub assumes in this account.",
                "Value": ",".join(role_name(f) for f in families),
            }
        },
    }


def render(template_path: Path = ROOT / "template.yaml") -> str:
    import yaml

    header = "# Generated from template.yaml by `python -m warden_ops spoke-template` (make spoke). Do not edit.\n"
    return header + yaml.safe_dump(spoke_template(template_path), sort_keys=False, width=120)


def stackset_parameters(spoke_parameters_output: str) -> list[dict[str, str]]:
    """The hub stack's SpokeParameters output ("Key=value Key=value ...") as CloudFormation's
    --parameters JSON for create-stack-set."""
    pairs = [item.split("=", 1) for item in spoke_parameters_output.split()]
    bad = [item for item in pairs if len(item) != 2 or not item[1]]
    if bad:
        raise ValueError(f"not a SpokeParameters output (Key=value ...): {spoke_parameters_output!r}")
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in pairs]


def parser():
    import argparse

    parser = argparse.ArgumentParser(prog="python -m warden_ops.spoke", description="Organization mode's member template.")
    parser.add_argument("--parameters", metavar="HUB_STACK", help="print the StackSet's --parameters JSON from the hub stack's SpokeParameters output")
    parser.add_argument("--region", help="the hub stack's region (default: your AWS configuration's)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.parameters:
        print(render(), end="")
        return 0
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        stack = boto3.client("cloudformation", region_name=args.region).describe_stacks(StackName=args.parameters)["Stacks"][0]
        (output,) = [o["OutputValue"] for o in stack.get("Outputs", []) if o["OutputKey"] == "SpokeParameters"] or [None]
        if output is None:
            raise ValueError(f"stack {args.parameters} has no SpokeParameters output: deploy it with OrganizationId set")
        print(json.dumps(stackset_parameters(output), indent=2))
        return 0
    except (ClientError, BotoCoreError, ValueError) as error:
        print(f"python -m warden_ops.spoke: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
