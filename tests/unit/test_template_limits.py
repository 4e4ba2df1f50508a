"""AWS limits the template must stay under whatever values a person deploys with: every function's
environment under Lambda's 4 KB (all keys and values together, each parameter at its longest
allowed value, each generated name at its longest), the lists that can grow pointing to the
settings document, the workflow's log group where Step Functions needs no log resource policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE, _ = decode(str(ROOT / "template.yaml"))
PARAMETERS = TEMPLATE["Parameters"]
RESOURCES = TEMPLATE["Resources"]
LAMBDA_ENVIRONMENT_LIMIT = 4096  # bytes, all keys and values together

ACCOUNT = "123456789012"
PARTITION = "aws-us-gov"  # the longest partition name with IAM and Lambda
REGION = "ap-southeast-5"  # one of the longest region names
PSEUDO = {"AWS::AccountId": ACCOUNT, "AWS::Partition": PARTITION, "AWS::Region": REGION, "AWS::StackName": "s" * 128}
# What Ref returns, at its longest, for resources that get a generated name.
REF = {
    "AWS::DynamoDB::Table": "t" * 255,  # table names: at most 255 characters
    "AWS::SNS::Topic": f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:" + "t" * 256,
    "AWS::SSM::Parameter": None,  # named in the template (Name), evaluated below
    "AWS::KMS::Key": "k" * 36,  # a key id (a UUID)
}
GET_ATT_ARN = {"AWS::IAM::Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/" + "r" * 64}  # role names: at most 64


def longest_parameter(name: str) -> str:
    spec = PARAMETERS[name]
    if "AllowedValues" in spec:
        return max((str(v) for v in spec["AllowedValues"]), key=len)
    if spec["Type"] == "Number":
        assert "MaxValue" in spec, f"parameter {name} (a Number in a function's environment) needs a MaxValue"
        return str(spec["MaxValue"])
    assert "MaxLength" in spec, f"parameter {name} (in a function's environment) needs a MaxLength"
    return "p" * spec["MaxLength"]


def _role_of(logical_id: str) -> str:
    # SAM's implicit role of a function is a role too
    return "AWS::IAM::Role" if logical_id.endswith("Role") else RESOURCES[logical_id]["Type"]


def longest(value) -> str:
    """The longest string this template value can become."""
    if isinstance(value, (str, int, float)):
        return str(value)
    (function, argument), = value.items()
    if function == "Ref":
        if argument in PSEUDO:
            return PSEUDO[argument]
        if argument in PARAMETERS:
            return longest_parameter(argument)
        resource = RESOURCES[argument]
        if resource["Type"] == "AWS::SSM::Parameter":
            return longest(resource["Properties"]["Name"])
        return REF[resource["Type"]]
    if function == "Fn::GetAtt":
        logical_id, attribute = argument if isinstance(argument, list) else argument.split(".")
        assert attribute == "Arn", f"GetAtt {logical_id}.{attribute}: add its longest value to this test"
        return GET_ATT_ARN[_role_of(logical_id)]
    if function == "Fn::Join":
        separator, parts = argument
        return separator.join(longest(p) for p in parts)
    if function == "Fn::If":
        return max(longest(argument[1]), longest(argument[2]), key=len)
    if function == "Fn::Sub":
        return re.sub(r"\$\{([^}]+)\}", lambda m: longest({"Ref": m.group(1)}), argument)
    raise AssertionError(f"add {function} to this test")


FUNCTIONS = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_environment_fits_lambdas_4_kb_at_its_longest(name):
    variables = {
        **TEMPLATE["Globals"]["Function"]["Environment"]["Variables"],
        **FUNCTIONS[name]["Properties"].get("Environment", {}).get("Variables", {}),
    }
    size = sum(len(key) + len(longest(value)) for key, value in variables.items())
    assert size <= LAMBDA_ENVIRONMENT_LIMIT, f"{name}: {size} bytes at worst"


@pytest.mark.parametrize("name", ["ExemptResourceArns", "ProtectedPrincipalArns"])
def test_the_lists_say_where_longer_ones_go(name):
    spec = PARAMETERS[name]
    assert spec["MaxLength"] >= 600, "room for several ARNs"
    assert "settings document" in spec["ConstraintDescription"]
    key = {"ExemptResourceArns": "exempt_resources", "ProtectedPrincipalArns": "protected_principals"}[name]
    assert key in spec["ConstraintDescription"]


def test_the_settings_parameter_is_as_first_deployed():
    """CloudFormation writes Value again whenever this resource changes, which would reset the
    operator's run-time settings to {} on a deploy; the 8 KB tier comes from `settings set` instead."""
    assert RESOURCES["SettingsParameter"]["Properties"] == {
        "Name": {"Fn::Sub": "/${AWS::StackName}/settings"},
        "Type": "String",
        "Value": "{}",
        "Description": RESOURCES["SettingsParameter"]["Properties"]["Description"],
    }


def test_the_workflow_logs_to_a_vended_log_group():
    """Step Functions adds a statement to the account's CloudWatch Logs resource policy (5,120
    characters for all of them) for a log group outside /aws/vendedlogs/; when that policy is full,
    creating the state machine fails."""
    logging = RESOURCES["RemediationStateMachine"]["Properties"]["Logging"]["Destinations"][0]
    group = logging["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"]
    logical_id = group[0] if isinstance(group, list) else group.split(".")[0]
    name = longest(RESOURCES[logical_id]["Properties"]["LogGroupName"])
    assert name.startswith("/aws/vendedlogs/states/") and len(name) <= 512
