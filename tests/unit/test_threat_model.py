"""The SCP of docs/threat-model.md parses, fits AWS's size limit, and denies what the page says it
denies, request by request, as IAM evaluates it (local.iam_policy): to the attacker, not to the
named principals or Warden's own roles."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from local.iam_policy import EXPLICITLY_DENIED, decide

PAGE = Path(__file__).resolve().parents[2] / "docs" / "threat-model.md"
SCP_LIMIT = 5120  # characters, AWS Organizations' quota for one SCP
ACCOUNT = "123456789012"
ATTACKER = f"arn:aws:iam::{ACCOUNT}:role/DeveloperPowerUser"
SECURITY_TEAM = f"arn:aws:iam::{ACCOUNT}:role/SecurityTeamAdmin"
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:role/PlatformDeployer"
WARDEN = f"arn:aws:iam::{ACCOUNT}:role/warden-TriageFunctionRole-1A2B3C4D5E6F"


def scp() -> dict:
    section = PAGE.read_text().split("## The SCP", 1)[1]
    (block,) = re.findall(r"```json\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    return json.loads(block)


def denied(action: str, resource: str, principal: str, **context) -> bool:
    return decide(scp()["Statement"], action, resource, {"aws:PrincipalArn": principal, **context}) == EXPLICITLY_DENIED


def test_the_scp_parses_and_fits_the_limit():
    policy = scp()
    assert policy["Version"] == "2012-10-17"
    assert all(s["Effect"] == "Deny" for s in policy["Statement"]), "an SCP that only limits, never grants"
    assert len(json.dumps(policy, separators=(",", ":"))) <= SCP_LIMIT


KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1a2b3c4d-0000-4000-8000-00000000a001"
# (action, resource, extra context) each attack of issue 11 needs, all denied to the attacker
ATTACKS = {
    "exemption tag on a key": ("kms:TagResource", KEY, {"aws:TagKeys": ["warden:exempt"]}),
    "exemption tag on a queue": ("sqs:TagQueue", f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs", {"aws:TagKeys": ["team", "warden:exempt"]}),
    "exemption tag removed from a role": ("iam:UntagRole", f"arn:aws:iam::{ACCOUNT}:role/BreakGlassAdmin", {"aws:TagKeys": ["warden:exempt"]}),
    "settings set to mode off": ("ssm:PutParameter", f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/warden/settings", {}),
    "Notify's concurrency set to 0": ("lambda:PutFunctionConcurrency", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:warden-NotifyFunction-AbC123dEf456", {}),
    "a family function invoked directly": ("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:warden-IamFunction-AbC123dEf456", {}),
    "a workflow rule disabled": ("events:DisableRule", f"arn:aws:events:us-east-1:{ACCOUNT}:rule/warden-RemediationStateMachineS3PublicCl-1X2Y3Z", {}),
    "a tamper rule's targets removed": ("events:RemoveTargets", f"arn:aws:events:us-east-1:{ACCOUNT}:rule/warden-tamper-watch", {}),
    "Warden's failed-executions alarm silenced": ("cloudwatch:DisableAlarmActions", f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:warden-ExecutionsFailedAlarm", {}),
    "Warden's alarm set to ALARM by hand": ("cloudwatch:SetAlarmState", f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:warden-ExecutionsFailedAlarm", {}),
    "a forged finding started": ("states:StartExecution", f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:warden-RemediationStateMachine-AbC123", {}),
    "on-call unsubscribed": ("sns:Unsubscribe", f"arn:aws:sns:us-east-1:{ACCOUNT}:warden-NotificationTopic-AbC123", {}),
    "a forged audit record": ("dynamodb:PutItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/warden-AuditTable-AbC123", {}),
    "a forged dedupe claim": ("dynamodb:PutItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/warden-DedupeTable-AbC123", {}),
    "the audit table deleted": ("dynamodb:DeleteTable", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/warden-AuditTable-AbC123", {}),
    "the topic's key disabled": ("kms:DisableKey", KEY, {"aws:ResourceTag/aws:cloudformation:stack-name": "warden"}),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_scp_denies_the_attacker(attack):
    action, resource, context = ATTACKS[attack]
    assert denied(action, resource, ATTACKER, **context)


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_scp_leaves_the_security_team_alone(attack):
    action, resource, context = ATTACKS[attack]
    assert not denied(action, resource, SECURITY_TEAM, **context)


def test_warden_writes_its_own_records_and_the_deployer_deploys():
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/warden-AuditTable-AbC123"
    assert not denied("dynamodb:PutItem", table, WARDEN)
    assert not denied("lambda:UpdateFunctionCode", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:warden-TriageFunction-AbC", DEPLOYER)


def test_ordinary_work_of_member_teams_is_not_denied():
    assert not denied("kms:TagResource", KEY, ATTACKER, **{"aws:TagKeys": ["cost-center"]})
    assert not denied("cloudwatch:DisableAlarmActions", f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:team-latency-alarm", ATTACKER)
    assert not denied("kms:DisableKey", KEY, ATTACKER, **{"aws:ResourceTag/aws:cloudformation:stack-name": "ml-data-platform"})
    assert not denied("lambda:PutFunctionConcurrency", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:recommendations-api", ATTACKER)
    assert not denied("ssm:PutParameter", f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/ml/feature-flags", ATTACKER)
