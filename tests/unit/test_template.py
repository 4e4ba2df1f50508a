"""template.yaml and the workflow: lint-clean, least privilege, and in step with the registry."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import decode

from warden import confirm, macie, registry
from warden.findings.securityhub import LEGACY_CONTROLS, legacy_control, legacy_generator_id
from warden.notify import OUTCOMES
from warden.remediations import base

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TEMPLATE, _ = decode(str(ROOT / "template.yaml"))
RESOURCES = TEMPLATE["Resources"]
ASL = json.loads((ROOT / "statemachines" / "remediation.asl.json").read_text())
# Actions that AWS does not allow to be scoped to a resource, so "*" is the narrowest possible.
UNSCOPABLE = {
    "organizations:ListAccounts",
    "iam:ListPolicies",
    "s3:GetAccountPublicAccessBlock",
    "s3:PutAccountPublicAccessBlock",
    "ec2:GetEbsEncryptionByDefault",
    "ec2:EnableEbsEncryptionByDefault",
    "ec2:DisableEbsEncryptionByDefault",
    "config:GetResourceConfigHistory",
    "macie2:ListFindings",  # Macie findings are no IAM resource type
    "macie2:GetFindings",
    "bedrock:GetModelInvocationLoggingConfiguration",
    "bedrock:PutModelInvocationLoggingConfiguration",
    "bedrock:DeleteModelInvocationLoggingConfiguration",
}


def _run(*command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)


def test_cfn_lint_reports_no_errors():
    result = _run(str(BIN / "cfn-lint"), "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_passes():
    result = _run(str(BIN / "sam"), "validate", "--lint", "--template-file", "template.yaml", "--region", "us-east-1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def statements(function: str, effect: str = "Allow") -> list[dict]:
    """Every statement of a function's inline policies with that effect, taking both branches of an Fn::If.
    Organization mode's AssumeRole into the function's own spoke role (the only sts:AssumeRole any role
    has) is checked in test_organization_templates.py, with the spoke role's own policy."""
    found = []
    for policy in RESOURCES[function]["Properties"]["Policies"]:
        for statement in policy["Statement"]:
            if "Fn::If" in statement:
                found += [branch for branch in statement["Fn::If"][1:] if isinstance(branch, dict) and "Effect" in branch]
            else:
                found.append(statement)
    return [s for s in found if s["Effect"] == effect and s.get("Sid") != "ActInMemberAccountsThroughTheirSpokeRole"]


def actions(function: str) -> set[str]:
    return {action for s in statements(function) for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}


def union(attribute: str, remediations) -> set[str]:
    return {p for r in remediations for p in getattr(r, attribute)}


def fixes(family: str) -> set[str]:
    return union("permissions", registry.family(family)) | union("verify_permissions", registry.family(family))


AUDIT_UPDATE = {"dynamodb:UpdateItem"}
# A family whose fix is verified tells on-call itself, as Notify does: the topic, its key, and Security
# Hub (only when the SecurityHub parameter is enabled, Fn::If).
TELLS = {"sns:Publish", "kms:GenerateDataKey", "kms:Decrypt", "securityhub:BatchUpdateFindings", "securityhub:BatchImportFindings"}
EXPECTED_ACTIONS = {
    "TriageFunction": union("tag_permissions", registry.all_remediations())
    | union("verify_permissions", registry.all_remediations())  # a duplicate re-reads the resource
    | {"dynamodb:PutItem", "dynamodb:GetItem"}  # the audit record, the dedupe claim
    | {"dynamodb:UpdateItem"}  # a redelivered finding's attempt, appended to its audit record
    | {"dynamodb:Query", "dynamodb:BatchGetItem"}  # warden.reverts: the resource's earlier fixes, when its deployer re-exposed it
    | {"ssm:GetParameter"}  # the run-time settings document
    | set(macie.PERMISSIONS)  # Macie=enabled: what Macie found in a bucket before it is fixed (Fn::If)
    | {"organizations:DescribeAccount", "organizations:ListParents"}  # organization mode: is the account a member
    | {p for permissions in confirm.PERMISSIONS.values() for p in permissions},  # findings confirmed with their source
    # each family verifies its own fix: the re-read after apply (verify_permissions beyond permissions)
    "S3PublicAccessFunction": fixes("s3_public") | AUDIT_UPDATE | TELLS,
    "EncryptionFunction": fixes("encryption") | AUDIT_UPDATE | TELLS,
    "IamFunction": fixes("iam") | AUDIT_UPDATE | TELLS,
    # the throttle lifts itself: its function also restores (rollback) and reads the alarm
    "ThrottleFunction": fixes("throttle")
    | union("rollback_permissions", registry.family("throttle"))
    | {"cloudwatch:DescribeAlarms"}
    | AUDIT_UPDATE,
    # securityhub: only when the SecurityHub parameter is enabled (Fn::If), see test_security_hub_permissions_*
    # DescribeAlarms: an alarm action pages only for Warden's own alarm in ALARM; the history: when
    # Triage failed there is no authorization, so Notify checks the workflow scheduled its input
    "NotifyFunction": {"sns:Publish", "kms:GenerateDataKey", "kms:Decrypt", "securityhub:BatchUpdateFindings",
                       "securityhub:BatchImportFindings", "cloudwatch:DescribeAlarms", "states:GetExecutionHistory"} | AUDIT_UPDATE,
}


# Organization mode: spoke heartbeats in the dedupe table, the organization's accounts, one message.
EXPECTED_ACTIONS["SpokeHealthFunction"] = {"dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:BatchGetItem",
                                           "organizations:ListAccounts", "sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"}


def test_every_function_is_covered_by_the_least_privilege_check():
    functions = {name for name, spec in RESOURCES.items() if spec["Type"] == "AWS::Serverless::Function"}
    assert functions == set(EXPECTED_ACTIONS)


@pytest.mark.parametrize("function", sorted(EXPECTED_ACTIONS))
def test_function_role_grants_exactly_what_its_code_calls(function):
    granted = actions(function)
    missing = EXPECTED_ACTIONS[function] - granted
    extra = granted - EXPECTED_ACTIONS[function]
    assert not missing, f"{function} would fail in production: not granted {sorted(missing)}"
    assert not extra, f"{function} is granted more than it calls: {sorted(extra)}"


@pytest.mark.parametrize("function", sorted(EXPECTED_ACTIONS))
def test_no_wildcard_actions_and_resources_scoped_where_aws_allows(function):
    for statement in statements(function):
        statement_actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in statement_actions), statement
        if statement["Resource"] == "*":
            assert set(statement_actions) <= UNSCOPABLE, f"{statement['Sid']} could be scoped to resources"


NEVER_GRANTED = {
    # reading or destroying data, or undoing protection
    "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteBucket", "s3:DeleteBucketPublicAccessBlock",
    "s3:PutBucketEncryption", "kms:Decrypt", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DisableKeyRotation",
    "cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "sagemaker:DeleteNotebookInstance", "sqs:DeleteQueue",
    "sns:DeleteTopic", "ec2:DisableEbsEncryptionByDefault",
}


@pytest.mark.parametrize("function", ["S3PublicAccessFunction", "EncryptionFunction", "IamFunction", "TriageFunction"])
def test_roles_can_neither_read_nor_destroy_data_nor_undo_protection(function):
    assert not actions(function) & NEVER_GRANTED - {"kms:Decrypt"}
    # kms:Decrypt only on the topic's key, as Notify has it: SNS needs it to publish a family's "Fixed" message.
    topic_key = next(s["Resource"] for s in statements("NotifyFunction") if s.get("Sid") == "EncryptWithTopicKey")
    assert all(s["Resource"] == topic_key for s in statements(function) if "kms:Decrypt" in s["Action"])


def rule_patterns() -> dict[str, dict]:
    machine = RESOURCES["RemediationStateMachine"]  # every event starts it
    return {name: event["Properties"]["Pattern"] for name, event in machine["Properties"]["Events"].items()}


def test_rules_listen_for_exactly_the_registry_triggers():
    patterns = list(rule_patterns().values())
    kind = lambda p: p["detail-type"][0]  # noqa: E731
    cloudtrail = {n for p in patterns if kind(p) == "AWS API Call via CloudTrail" for n in p["detail"]["eventName"]}
    config = {
        w["wildcard"].strip("*")
        for p in patterns
        if kind(p) == "Config Rules Compliance Change"
        for w in p["detail"]["configRuleName"]
    }
    guardduty = {t for p in patterns if kind(p) == "GuardDuty Finding" for t in p["detail"]["type"]}
    remediations = registry.all_remediations()
    assert cloudtrail == {e for r in remediations for e in r.triggers.cloudtrail_events}
    assert config == {c for r in remediations for c in r.triggers.config_rules}
    assert guardduty == {t for r in remediations for t in r.triggers.guardduty_types}
    hub = [p["detail"]["findings"]["$or"] for p in patterns if kind(p) == "Security Hub Findings - Imported"]
    controls = {c for branches in hub for b in branches if "Compliance" in b for c in b["Compliance"]["SecurityControlId"]}
    assert controls == {c for r in remediations for c in r.triggers.securityhub_controls}
    # Pre-consolidation findings: the rule lists exactly the GeneratorIds of the table, each naming a handled control.
    generators = {g for branches in hub for b in branches if "GeneratorId" in b for g in b["GeneratorId"]}
    assert generators == {legacy_generator_id(*key) for key in LEGACY_CONTROLS}
    assert {legacy_control(g) for g in generators} <= controls
    macie = {t for p in patterns if kind(p) == "Macie Finding" for t in p["detail"]["type"]}
    assert macie == {t for r in remediations for t in r.triggers.macie_types}


def test_macie_is_reached_only_when_the_parameter_enables_it():
    machine = RESOURCES["RemediationStateMachine"]  # every event starts it
    macie_rules = {name: event["Properties"] for name, event in machine["Properties"]["Events"].items()
                   if event["Properties"]["Pattern"]["source"] == ["aws.macie"]}
    assert set(macie_rules) == {"S3PublicMacie", "EncryptionMacie"}
    for rule in macie_rules.values():
        assert rule["State"] == {"Fn::If": ["UseMacie", "ENABLED", "DISABLED"]}
    assert TEMPLATE["Parameters"]["Macie"]["Default"] == "disabled"



def test_only_triage_may_read_macie_and_only_when_the_parameter_enables_it():
    granting = {function for function in EXPECTED_ACTIONS if actions(function) & set(macie.PERMISSIONS)}
    assert granting == {"TriageFunction"}, "one role reads Macie: the one that decides the severity"
    (conditional,) = [s["Fn::If"] for s in RESOURCES["TriageFunction"]["Properties"]["Policies"][0]["Statement"]
                      if "Fn::If" in s and s["Fn::If"][0] == "UseMacie"]
    _condition, allowed, otherwise = conditional
    assert otherwise == {"Ref": "AWS::NoValue"}
    assert sorted(allowed["Action"]) == sorted(macie.PERMISSIONS)
    variables = RESOURCES["TriageFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["WARDEN_MACIE"] == {"Ref": "Macie"}


def test_every_rule_takes_only_this_accounts_events():
    # (in organization mode the hub bus takes the members' events, and triage checks membership)
    for name, pattern in rule_patterns().items():
        assert pattern.get("account") == {"Fn::If": ["OrgMode", {"Ref": "AWS::NoValue"}, [{"Ref": "AWS::AccountId"}]]}, name
    # and triage checks again, for executions started without a rule
    assert TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["WARDEN_ACCOUNT_ID"] == {"Ref": "AWS::AccountId"}


def test_security_hub_is_reached_only_when_the_parameter_enables_it():
    machine = RESOURCES["RemediationStateMachine"]  # every event starts it
    rule = machine["Properties"]["Events"]["SecurityHubControls"]["Properties"]
    assert rule["State"] == {"Fn::If": ["UseSecurityHub", "ENABLED", "DISABLED"]}
    # only NEW findings: Warden's own update (NOTIFIED/RESOLVED) must not start the workflow again
    assert rule["Pattern"]["detail"]["findings"]["Workflow"] == {"Status": ["NEW"]}
    for function in ("NotifyFunction", "S3PublicAccessFunction", "EncryptionFunction", "IamFunction"):  # all that tell on-call
        assert_security_hub_only_when_enabled(RESOURCES[function]["Properties"]["Policies"][0]["Statement"])
    throttle = RESOURCES["ThrottleFunction"]["Properties"]["Policies"][0]["Statement"]
    assert not [s for s in throttle if "Fn::If" in s and s["Fn::If"][0] == "UseSecurityHub"], "NotifyThrottled tells of a throttle"


def assert_security_hub_only_when_enabled(policy: list) -> None:
    conditional = {s["Fn::If"][1]["Sid"]: s["Fn::If"] for s in policy if "Fn::If" in s and s["Fn::If"][0] == "UseSecurityHub"}
    assert set(conditional) == {"UpdateSecurityHubFindings", "ImportWardenFindings"}
    for _condition, allowed, otherwise in conditional.values():
        assert otherwise == {"Ref": "AWS::NoValue"}
        assert allowed["Resource"] != "*"
    # Warden may set NOTIFIED or RESOLVED, never SUPPRESSED: it cannot hide a finding
    assert conditional["UpdateSecurityHubFindings"][1]["Condition"] == {
        "ForAnyValue:StringEquals": {"securityhub:ASFFSyntaxPath/Workflow.Status": ["NOTIFIED", "RESOLVED"]}
    }
    # Warden imports only as this account's default product, never as another finding provider
    assert conditional["ImportWardenFindings"][1]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:product/${AWS::AccountId}/default"
    }


def test_cloudtrail_rules_ignore_failed_calls_and_config_rules_only_non_compliant():
    for pattern in rule_patterns().values():
        if pattern["detail-type"] == ["AWS API Call via CloudTrail"]:
            assert pattern["detail"]["errorCode"] == [{"exists": False}]
        if pattern["detail-type"] == ["Config Rules Compliance Change"]:
            assert pattern["detail"]["newEvaluationResult"] == {"complianceType": ["NON_COMPLIANT"]}


def test_every_rule_target_has_a_dead_letter_queue_and_retry_policy():
    machine = RESOURCES["RemediationStateMachine"]  # every event starts it
    for name, rule in machine["Properties"]["Events"].items():
        assert rule["Properties"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}, name
        assert rule["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] > 0, name


def test_an_alarm_message_notify_cannot_publish_is_kept_in_the_dead_letter_queue():
    """Warden's alarms invoke Notify asynchronously: when the topic is broken, the message must
    not vanish with the failed invocation."""
    invoke = RESOURCES["NotifyFunction"]["Properties"]["EventInvokeConfig"]
    assert invoke["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
    assert invoke["MaximumRetryAttempts"] >= 1


@pytest.mark.parametrize("logical", ["RemediationStateMachine", "LongRunningStateMachine"])
def test_workflow_substitutions_are_all_defined(logical):
    machine = RESOURCES[logical]["Properties"]
    used = set(re.findall(r"\$\{(\w+)\}", (ROOT / machine["DefinitionUri"]).read_text()))
    assert used == set(machine["DefinitionSubstitutions"])


def test_workflow_catches_only_errors_that_exist():
    names = {cls.__name__ for cls in base.WardenError.__subclasses__()}
    caught = {
        error
        for state in ASL["States"].values()
        for catch in state.get("Catch", [])
        for error in catch["ErrorEquals"]
        if not error.startswith("States.")
    }
    assert caught <= names


def test_every_remediation_family_has_a_branch_and_every_outcome_a_notify_state():
    branches = {c["StringEquals"] for choice in ASL["States"]["Route"]["Choices"] for c in choice.get("And", []) if c.get("Variable") == "$.family"}
    assert branches == {r.family for r in registry.all_remediations()}
    notified = {s["Parameters"]["outcome"] for s in ASL["States"].values() if s.get("Resource") == "${NotifyFunctionArn}"}
    notified |= {  # approve mode: Notify called with a task token, the workflow waits for the answer
        s["Parameters"]["Payload"]["outcome"]
        for s in ASL["States"].values()
        if s.get("Resource") == "arn:aws:states:::lambda:invoke.waitForTaskToken"
        and s["Parameters"]["FunctionName"] == "${NotifyFunctionArn}"
    }
    assert notified == set(OUTCOMES)


def test_topic_is_encrypted_and_audit_table_is_durable():
    topic = RESOURCES["NotificationTopic"]["Properties"]
    # a key EventBridge may use (the tamper rules publish to the topic), never alias/aws/sns
    assert topic["KmsMasterKeyId"]["Fn::If"][2] == {"Ref": "NotificationKey"}
    table = RESOURCES["AuditTable"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}
    assert table["Properties"]["TimeToLiveSpecification"]["Enabled"] is True


def test_the_audit_index_holds_keys_only_so_an_audit_write_pays_for_its_item_once():
    # Readers fetch whole records with BatchGetItem (warden.audit.by_resource); an index projecting
    # the ~9 KB item would double the write units of every audit write (docs/evidence.md).
    (index,) = RESOURCES["AuditTable"]["Properties"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by-resource"
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_alarms_reach_on_call_through_the_notify_function():
    for alarm in ("ExecutionsFailedAlarm", "DeadLetterQueueAlarm"):
        assert RESOURCES[alarm]["Properties"]["AlarmActions"] == [{"Fn::GetAtt": ["NotifyFunction", "Arn"]}]
        permissions = [
            spec["Properties"]
            for spec in RESOURCES.values()
            if spec["Type"] == "AWS::Lambda::Permission" and spec["Properties"]["SourceArn"] == {"Fn::GetAtt": [alarm, "Arn"]}
        ]
        assert permissions and permissions[0]["Principal"] == "lambda.alarms.cloudwatch.amazonaws.com"


def test_runtime_and_architecture():
    function_globals = TEMPLATE["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    layer = RESOURCES["WardenLayer"]["Metadata"]
    assert layer == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}  # layers/warden/Makefile: python3.13 bytecode


ESCALATION = {
    "iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:CreateRole",
    "iam:PassRole", "iam:AttachUserPolicy", "iam:AttachRolePolicy", "iam:AttachGroupPolicy", "iam:AddUserToGroup",
    "iam:UpdateAssumeRolePolicy", "iam:CreatePolicy", "iam:DeleteAccessKey", "iam:DeleteUser", "iam:DeleteRole",
    "sts:AssumeRole",
}


# What re-grants permissions or switches protection off. No Warden function holds any of it: each can
# be invoked by anyone with lambda:InvokeFunction, and events start them. Rollbacks that need these
# run under the operator's own credentials (python -m warden_ops rollback).
REGRANTS_OR_DISABLES = {
    "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DisableKeyRotation", "cloudtrail:StopLogging",
    "cloudtrail:DeleteTrail", "ec2:DisableEbsEncryptionByDefault",
    "s3:DeleteBucketPublicAccessBlock", "iam:CreateAccessKey",
}  # fmt: skip


def test_no_function_can_regrant_permissions_or_switch_protection_off():
    functions = [name for name, spec in RESOURCES.items() if spec["Type"] == "AWS::Serverless::Function"]
    assert "RollbackFunction" not in RESOURCES, "restores that re-grant run as the operator, not as a function"
    assert not (ROOT / "functions" / "rollback").exists()
    for function in functions:
        granted = actions(function)
        assert not granted & REGRANTS_OR_DISABLES, (function, sorted(granted & REGRANTS_OR_DISABLES))
        assert not any(a.startswith("iam:Attach") or a.startswith("iam:Create") and a != "iam:CreatePolicyVersion" for a in granted), function
        assert not granted & ESCALATION, function


def test_iam_role_denies_itself_the_always_protected_principals():
    denies = statements("IamFunction", effect="Deny")
    resources = json.dumps([s["Resource"] for s in denies])
    for protected in ("role/aws-reserved/*", "role/aws-service-role/*", "role/${AWS::StackName}-*", "ProtectedPrincipalArns", "DeployerPrincipalArn"):
        assert protected in resources


def test_policy_versions_are_only_changed_in_this_account():
    for statement in statements("IamFunction"):
        if set(statement["Action"]) & {"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion"}:
            assert "${AWS::AccountId}:policy/*" in json.dumps(statement["Resource"])


def test_iam_forwarder_forwards_exactly_what_the_iam_rule_listens_for():
    forwarder, matches = decode(str(ROOT / "iam-forwarder.yaml"))
    assert not matches
    forwarded, hub = dict(forwarder["Resources"]["ForwardIamEvents"]["Properties"]["EventPattern"]), dict(rule_patterns()["IamCloudTrail"])
    # both in this one account: the forwarder takes its own account's events, the hub rule too (outside OrgMode)
    assert forwarded.pop("account") == [{"Ref": "AWS::AccountId"}]
    assert hub.pop("account")["Fn::If"][2] == [{"Ref": "AWS::AccountId"}]
    assert forwarded == hub
    assert _run(str(BIN / "cfn-lint"), "iam-forwarder.yaml").returncode == 0


def test_every_function_description_fits_lambdas_256_characters():
    """Lambda refuses a longer Description at deploy time (cfn-lint 1.51's E3033 says so; 1.58 does not)."""
    for name, spec in RESOURCES.items():
        if spec["Type"] == "AWS::Serverless::Function":
            assert len(spec["Properties"].get("Description", "")) <= 256, name
