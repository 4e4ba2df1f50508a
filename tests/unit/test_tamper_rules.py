"""The tamper rules in template.yaml: the topic is their direct target, they cover every part of
Warden, stay within EventBridge's pattern size with real (CloudFormation-generated) names, and only
they may publish to the topic. tests/e2e/test_tamper.py runs the attacks through them on the twin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.twin import Twin

TAMPER_RULE_NAMES = ("settings", "workflow", "alarms", "code", "rules", "targets", "watch")
PATTERN_LIMIT = 2048  # EventBridge's default quota on an event pattern, in characters


ONE_ACCOUNT, ORGANIZATION = {}, {"OrganizationId": "o-a1b2c3d4e5"}


def resolved_template(parameters: dict | None = None) -> tuple[Twin, dict]:
    """The template's rules resolved with names as long as CloudFormation generates them (stack
    name, logical id, 12 random characters; Lambda names cut at 64), without deploying anything."""
    deployer = "arn:aws:sts::123456789012:assumed-role/PlatformDeployer/ci"
    twin = Twin(parameters={"DeployerPrincipalArn": deployer, **(parameters or {})}, stack_name="warden-production")
    resources = twin.template["Resources"]
    region, account = twin.region, twin.account

    def generated(logical: str, limit: int = 64) -> str:
        return f"{twin.stack_name}-{logical}-A1B2C3D4E5F6"[-limit:]

    for logical, spec in resources.items():
        name = generated(logical)
        kind = spec["Type"]
        if kind == "AWS::Serverless::Function":
            twin.physical[logical] = name
            twin.attributes[(logical, "Arn")] = f"arn:aws:lambda:{region}:{account}:function:{name}"
            for event in spec["Properties"].get("Events", {}):
                twin.physical[f"{logical}{event}"] = generated(f"{logical}{event}")
        elif kind == "AWS::DynamoDB::Table":
            twin.physical[logical] = name
            twin.attributes[(logical, "Arn")] = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
        elif kind == "AWS::Serverless::StateMachine":
            twin.physical[logical] = f"arn:aws:states:{region}:{account}:stateMachine:{name}"
            twin.attributes[(logical, "Name")] = name
            for event in spec["Properties"].get("Events", {}):
                twin.physical[f"{logical}{event}"] = generated(f"{logical}{event}")
        elif kind == "AWS::SNS::Topic":
            twin.physical[logical] = f"arn:aws:sns:{region}:{account}:{name}"
        elif kind == "AWS::KMS::Key":
            twin.physical[logical] = "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
            twin.attributes[(logical, "Arn")] = f"arn:aws:kms:{region}:{account}:key/{twin.physical[logical]}"
        elif kind == "AWS::SSM::Parameter":
            twin.physical[logical] = twin._resolve(spec["Properties"]["Name"])
        elif kind == "AWS::SQS::Queue":
            twin.attributes[(logical, "Arn")] = f"arn:aws:sqs:{region}:{account}:{name}"
    rules = {logical: spec for logical, spec in resources.items() if spec["Type"] == "AWS::Events::Rule"}
    return twin, rules


def test_every_tamper_rule_publishes_straight_to_the_topic_with_a_readable_message():
    twin, rules = resolved_template()
    assert sorted(twin._resolve(r["Properties"]["Name"]).split("-tamper-")[1] for r in rules.values()) == sorted(TAMPER_RULE_NAMES)
    for logical, rule in rules.items():
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Ref": "NotificationTopic"}, f"{logical}: the topic itself, no Lambda in between"
        assert "RoleArn" not in target, "SNS targets use the topic policy; a role breaks delivery to encrypted topics"
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
        paths = target["InputTransformer"]["InputPathsMap"]
        assert {paths["who"], paths["what"], paths["when"]} == {"$.detail.userIdentity.arn", "$.detail.eventName", "$.detail.eventTime"}
        template = target["InputTransformer"]["InputTemplate"]
        assert template.startswith("HIGH") and "\n" not in template


@pytest.mark.parametrize("parameters", [ONE_ACCOUNT, ORGANIZATION], ids=["one-account", "organization"])
def test_patterns_fit_eventbridges_limit_with_names_cloudformation_generates(parameters):
    twin, rules = resolved_template(parameters)
    sizes = {logical: len(json.dumps(twin._resolve(rule["Properties"]["EventPattern"]))) for logical, rule in rules.items()}
    assert max(sizes.values()) <= PATTERN_LIMIT, sizes


@pytest.mark.parametrize("parameters", [ONE_ACCOUNT, ORGANIZATION], ids=["one-account", "organization"])
def test_every_part_of_warden_is_watched(parameters):
    """A function, rule, table or key added later without a tamper rule watching it fails here."""
    twin, rules = resolved_template(parameters)
    watched = json.dumps([twin._resolve(rule["Properties"]["EventPattern"]) for rule in rules.values()])
    resources = {
        logical: spec for logical, spec in twin.template["Resources"].items() if "Condition" not in spec or twin._condition(spec["Condition"])
    }
    parts = [twin.physical[logical] for logical, spec in resources.items()
             if spec["Type"] in ("AWS::Serverless::Function", "AWS::DynamoDB::Table", "AWS::SNS::Topic", "AWS::SSM::Parameter",
                                 "AWS::Serverless::StateMachine")]
    parts += [twin.physical[f"{logical}{event}"] for logical, spec in resources.items()
              if spec["Type"] in ("AWS::Serverless::StateMachine", "AWS::Serverless::Function")
              for event, rule in spec["Properties"].get("Events", {}).items() if rule["Type"] in ("EventBridgeRule", "Schedule")]
    parts += [twin.attributes[("NotificationKey", "Arn")], twin.attributes[("AuthorizationKey", "Arn")], f"{twin.stack_name}-tamper-"]
    unwatched = [part for part in parts if json.dumps(part).strip('"') not in watched]
    assert unwatched == []


def test_only_this_stacks_tamper_rules_may_publish_to_the_topic():
    twin, rules = resolved_template()
    policy = twin.template["Resources"]["NotificationTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (events,) = [s for s in policy if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert events["Effect"] == "Allow" and events["Action"] == "sns:Publish"
    assert sorted(a["Fn::GetAtt"][0] for a in events["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(rules)


def test_the_stack_key_lets_eventbridge_encrypt_and_alias_aws_sns_is_never_used():
    twin, _ = resolved_template()
    key = twin.template["Resources"]["NotificationKey"]["Properties"]["KeyPolicy"]["Statement"]
    (events,) = [s for s in key if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert set(events["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert "alias/aws/sns" not in json.dumps(twin.template)


def test_a_deployer_role_with_a_path_is_recognised_by_its_arn():
    """make deploy passes the deployer's role ARN with its path (python -m warden_ops.deployer)."""
    from moto.events.models import EventPattern

    role = "arn:aws:iam::123456789012:role/platform/PlatformDeployer"
    twin, rules = resolved_template({"DeployerPrincipalArn": role})
    (code_rule,) = [r for r in rules.values() if twin._resolve(r["Properties"]["Name"]).endswith("-tamper-code")]
    pattern = EventPattern.load(json.dumps(twin._resolve(code_rule["Properties"]["EventPattern"])))
    event = json.loads((Path(__file__).resolve().parents[2] / "events" / "tamper" / "cloudtrail-tamper-lambda-putfunctionconcurrency-zero.json").read_text())
    event["detail"]["requestParameters"]["functionName"] = twin.physical["NotifyFunction"]
    issuer = event["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]
    issuer.update(arn="arn:aws:iam::123456789012:role/platform/SomeoneElse", userName="SomeoneElse")
    assert pattern.matches_event(event)  # anyone else: reported
    issuer.update(arn=role, userName="PlatformDeployer")
    assert not pattern.matches_event(event)  # the deployer's own session: not reported
