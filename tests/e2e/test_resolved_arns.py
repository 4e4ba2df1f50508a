"""Notifications name the real resource once Warden has resolved it (issue 13): a REST API stage by
its id, an IAM policy by its ARN, so the console link opens it; "resource-gone" reads as a sentence."""

from __future__ import annotations

from local import scenarios as S
from tests.conftest import event


def test_a_rest_api_alarm_is_reported_with_the_stages_real_arn_cloudwatch(twin):
    api_id = next(a["id"] for a in twin.client("apigateway").get_rest_apis()["items"] if a["name"] == S.REST_API)

    result = twin.send(event("cloudwatch-alarm-apigw-rest-4xx.json"))

    real = f"arn:aws:apigateway:us-east-1::/restapis/{api_id}/stages/{S.API_STAGE}"
    fixed = result.notifications[0]
    assert fixed["attributes"]["outcome"] == "remediated"
    assert f"Resource: {real}" in fixed["body"] and "by-name" not in fixed["body"]
    assert f"https://us-east-1.console.aws.amazon.com/apigateway/main/apis/{api_id}/stages?api={api_id}" in fixed["body"]
    assert fixed["subject"] == f"[Warden] Fixed: abused API stage {S.REST_API} stage {S.API_STAGE}"
    assert result.audit_records[0]["finding"]["resource_arn"] == real


def test_a_config_iam_policy_finding_is_reported_with_the_policys_arn_iam(twin):
    result = twin.send(event("config-iam-policy-no-statements-with-full-access.json"))

    arn = f"arn:aws:iam::{S.ACCOUNT}:policy/{S.TEAM_POLICY}"
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "remediated"
    assert f"Resource: {arn}" in message["body"] and "policy-id/" not in message["body"]
    assert "https://console.aws.amazon.com/iam/home#/policies/details/arn%3Aaws%3Aiam%3A%3A" in message["body"]
    assert result.audit_records[0]["finding"]["resource_arn"] == arn


def test_an_alarm_for_a_rest_api_that_is_gone_says_so_in_a_sentence(twin):
    """No API scenario here (the test name has no 'cloudwatch'): the API the alarm names does not exist.
    The designated alarm itself does (Triage re-reads it before acting), still in ALARM on that API."""
    S.abuse_alarm(twin.client("cloudwatch"), S.REST_ALARM, "AWS/ApiGateway", "4XXError", {"ApiName": S.REST_API, "Stage": S.API_STAGE})
    result = twin.send(event("cloudwatch-alarm-apigw-rest-4xx.json"))

    assert result.decision == "resource-gone"
    assert result.executions[0].triage["reason"] == f"no REST API named {S.REST_API!r} exists any more, so nothing is left to fix"
