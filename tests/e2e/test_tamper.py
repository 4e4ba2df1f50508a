"""Tampering with Warden pages on-call through a path that runs none of Warden's code.

The attacker holds PowerUserAccess (everything but IAM and Organizations). Each attack is made with
boto3 on the twin; moto has no CloudTrail, so the CloudTrail record AWS would write for that call
comes from events/tamper/cloudtrail-tamper-*.json and goes through the template's own rules: a tamper rule
publishes its input transformer's text straight to the topic (no Lambda, no workflow).

One twin for the module (built with a DeployerPrincipalArn, so the rules' deployer exclusion is the
one deployed); the tests undo what they break.
"""

from __future__ import annotations

import json
import re

import pytest

from local.twin import Twin
from tests.conftest import EVENTS, event

ATTACKER = "arn:aws:sts::123456789012:assumed-role/DeveloperPowerUser/mallory"
DEPLOYER = "arn:aws:sts::123456789012:assumed-role/PlatformDeployer/ci-run-4711"
# events/tamper/: CloudTrail records of Warden's own parts changed; they go to the topic, never to the workflow
TAMPER_FILES = sorted(f"tamper/{p.name}" for p in EVENTS.glob("tamper/cloudtrail-tamper-*.json"))

# file -> the tamper rules that report it ([] = not Warden's, or Warden's own deployment)
REPORTED_BY = {
    "tamper/cloudtrail-tamper-ssm-putparameter-settings.json": ["warden-tamper-settings"],
    "tamper/cloudtrail-tamper-lambda-putfunctionconcurrency-zero.json": ["warden-tamper-code"],
    "tamper/cloudtrail-tamper-lambda-updatefunctionconfiguration-arn.json": ["warden-tamper-code"],
    "tamper/cloudtrail-tamper-lambda-updatefunctionconfiguration-by-cloudformation.json": [],
    "tamper/cloudtrail-tamper-lambda-putfunctionconcurrency-another-function.json": [],
    "tamper/cloudtrail-tamper-events-disablerule-workflow.json": ["warden-tamper-rules"],
    "tamper/cloudtrail-tamper-events-removetargets-workflow.json": ["warden-tamper-targets"],
    "tamper/cloudtrail-tamper-events-disablerule-tamper-rules.json": ["warden-tamper-rules", "warden-tamper-watch"],
    "tamper/cloudtrail-tamper-states-updatestatemachine.json": ["warden-tamper-workflow"],
    "tamper/cloudtrail-tamper-sns-unsubscribe.json": ["warden-tamper-settings"],
    "tamper/cloudtrail-tamper-dynamodb-deletetable-audit.json": ["warden-tamper-workflow"],
    "tamper/cloudtrail-tamper-kms-schedulekeydeletion-topic-key.json": ["warden-tamper-settings"],
    "tamper/cloudtrail-tamper-monitoring-disablealarmactions-executions-failed.json": ["warden-tamper-alarms"],
    "tamper/cloudtrail-tamper-monitoring-setalarmstate-executions-failed.json": ["warden-tamper-alarms"],
    "tamper/cloudtrail-tamper-monitoring-deletealarms-another-teams-alarm.json": [],
}


@pytest.fixture(scope="module")
def twin():
    with Twin(parameters={"Mode": "enforce", "DeployerPrincipalArn": DEPLOYER}) as deployed:
        yield deployed


def tamper_rules(names: list[str]) -> list[str]:
    return [n for n in names if "-tamper-" in n]


def assert_readable_alert(message: dict, record: dict) -> None:
    """What on-call needs: severity, who, what, when, on which resource; no placeholder left."""
    detail = record["detail"]
    body = message["body"]
    assert body.startswith("HIGH - Warden was tampered with: ")
    assert detail["userIdentity"]["arn"] in body
    assert detail["eventName"] in body
    assert detail["eventTime"] in body
    assert json.dumps(detail["requestParameters"]) in body, "the request names the resource"
    assert not re.search(r"<[a-z.\-]+>", body), body


def test_every_tamper_event_file_has_an_expectation():
    assert TAMPER_FILES == sorted(REPORTED_BY)


@pytest.mark.parametrize("name", TAMPER_FILES)
def test_tamper_event_file_reaches_on_call_directly_or_is_left_alone(twin, name):
    record = event(name)
    result = twin.send(record)

    assert tamper_rules(result.matched_rules) == REPORTED_BY[name]
    alerts = [m for m in result.notifications if m["body"].startswith("HIGH - Warden was tampered with")]
    assert len(alerts) == len(REPORTED_BY[name])
    for alert in alerts:
        assert_readable_alert(alert, record)
        assert alert["attributes"] == {}, "EventBridge sets no message attributes (docs/threat-model.md)"


def test_settings_set_to_mode_off_pages_on_call_naming_who_and_what(twin):
    ssm = twin.client("ssm")
    parameter = twin.physical["SettingsParameter"]
    ssm.put_parameter(Name=parameter, Value=json.dumps({"mode": "off"}), Type="String", Overwrite=True)
    try:
        result = twin.send(event("tamper/cloudtrail-tamper-ssm-putparameter-settings.json"))
    finally:
        ssm.put_parameter(Name=parameter, Value="{}", Type="String", Overwrite=True)

    (alert,) = result.notifications
    assert f"{ATTACKER} called PutParameter" in alert["body"]
    assert parameter in alert["body"]
    assert result.executions == [], "no Warden function ran: the alert does not depend on them"


def test_notify_throttled_to_zero_does_not_silence_the_alert_about_it(twin):
    awslambda = twin.client("lambda")
    notify = twin.physical["NotifyFunction"]
    awslambda.put_function_concurrency(FunctionName=notify, ReservedConcurrentExecutions=0)
    try:
        result = twin.send(event("tamper/cloudtrail-tamper-lambda-putfunctionconcurrency-zero.json"))
    finally:
        awslambda.delete_function_concurrency(FunctionName=notify)

    (alert,) = result.notifications
    assert "PutFunctionConcurrency" in alert["body"] and notify in alert["body"]
    assert result.executions == []


def test_a_disabled_workflow_rule_is_reported_and_really_stops_the_workflow(twin):
    events = twin.client("events")
    rule = twin.physical["RemediationStateMachineS3PublicCloudTrail"]
    events.disable_rule(Name=rule)
    try:
        result = twin.send(event("tamper/cloudtrail-tamper-events-disablerule-workflow.json"))
        silenced = twin.matching_rules(event("cloudtrail-s3-putbucketpolicy-public.json"))
    finally:
        events.enable_rule(Name=rule)

    (alert,) = result.notifications
    assert "called DisableRule" in alert["body"] and rule in alert["body"]
    assert rule not in silenced, "the attack works: the public-bucket CloudTrail rule starts nothing"


def test_disabling_a_tamper_rule_is_reported_by_the_other_watcher(twin):
    events = twin.client("events")
    events.disable_rule(Name="warden-tamper-rules")
    try:
        result = twin.send(event("tamper/cloudtrail-tamper-events-disablerule-tamper-rules.json"))
    finally:
        events.enable_rule(Name="warden-tamper-rules")

    assert tamper_rules(result.matched_rules) == ["warden-tamper-watch"]
    (alert,) = result.notifications
    assert "warden-tamper-rules" in alert["body"]


def test_disabling_both_watchers_goes_unreported_which_is_why_the_scp_reserves_them(twin):
    """The documented limit (docs/threat-model.md): whoever disables every watcher before CloudTrail
    delivers the first record silences them; only the SCP stops that, and CloudTrail keeps the record."""
    events = twin.client("events")
    for name in ("warden-tamper-rules", "warden-tamper-watch"):
        events.disable_rule(Name=name)
    try:
        result = twin.send(event("tamper/cloudtrail-tamper-events-disablerule-tamper-rules.json"))
    finally:
        for name in ("warden-tamper-rules", "warden-tamper-watch"):
            events.enable_rule(Name=name)
    assert result.notifications == []


def test_the_deployers_own_session_is_not_reported_but_its_role_is_matched_exactly(twin):
    by_deployer = event("tamper/cloudtrail-tamper-lambda-putfunctionconcurrency-zero.json")
    identity = by_deployer["detail"]["userIdentity"]
    identity["arn"] = "arn:aws:sts::123456789012:assumed-role/PlatformDeployer/sam-sync"
    identity["sessionContext"]["sessionIssuer"].update(arn="arn:aws:iam::123456789012:role/PlatformDeployer", userName="PlatformDeployer")
    assert tamper_rules(twin.matching_rules(by_deployer)) == []

    lookalike = json.loads(json.dumps(by_deployer))
    lookalike["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"] = "PlatformDeployerTest"
    assert tamper_rules(twin.matching_rules(lookalike)) == ["warden-tamper-code"]


def test_scheduling_the_topic_keys_deletion_is_reported_and_warden_cancels_it(twin):
    kms = twin.client("kms")
    key = twin.physical["NotificationKey"]
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)

    result = twin.send(event("tamper/cloudtrail-tamper-kms-schedulekeydeletion-topic-key.json"))

    alerts = [m for m in result.notifications if m["body"].startswith("HIGH - Warden was tampered with")]
    assert len(alerts) == 1 and "ScheduleKeyDeletion" in alerts[0]["body"]
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] != "PendingDeletion", "the encryption family cancelled it"


def test_the_topic_key_is_matched_whatever_the_caller_called_it(twin):
    """CloudTrail names the key's ARN in detail.resources even when the caller passed an alias."""
    by_alias = event("tamper/cloudtrail-tamper-kms-schedulekeydeletion-topic-key.json")
    by_alias["detail"]["requestParameters"]["keyId"] = "alias/anything-the-attacker-created"
    assert "warden-tamper-settings" in twin.matching_rules(by_alias)
    other_key = json.loads(json.dumps(by_alias).replace(twin.physical["NotificationKey"], "0b0e0000-0000-4000-8000-000000000001"))
    assert tamper_rules(twin.matching_rules(other_key)) == []




def test_switching_off_the_failed_executions_alarm_is_reported_and_really_silences_it(twin):
    """DisableAlarmActions on Warden's own alarm: from then on a failed execution pages nobody, so the
    call itself pages (tamper-alarms), naming who."""
    cloudwatch = twin.client("cloudwatch")
    name = "warden-ExecutionsFailedAlarm"
    cloudwatch.disable_alarm_actions(AlarmNames=[name])  # as the attacker, with PowerUserAccess
    try:
        assert cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["ActionsEnabled"] is False
        record = event("tamper/cloudtrail-tamper-monitoring-disablealarmactions-executions-failed.json")
        (alert,) = [m for m in twin.send(record).notifications if m["body"].startswith("HIGH - Warden was tampered with")]
        assert f"{ATTACKER} called DisableAlarmActions on Warden's own alarms" in alert["body"]
        assert name in alert["body"]
    finally:
        cloudwatch.enable_alarm_actions(AlarmNames=[name])
