"""The throttle planner, and the HTTP API calls checked against botocore's real API model (the twin
runs this path end to end too: tests/e2e/test_throttle.py)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from warden.findings import Finding
from warden.remediations.throttle import ThrottleStage, lowered

SETTINGS = {"rate_limit": 10.0, "burst_limit": 20, "cooldown_seconds": 1, "max_cooldowns": 2}
HTTP_ARN = "arn:aws:apigateway:us-east-1::/apis/a1b2c3d4e5/stages/prod"


def http_finding() -> Finding:
    return Finding("cloudwatch:1", "cloudwatch", "AWS/ApiGateway/Count", "123456789012", "us-east-1", "AWS::ApiGatewayV2::Stage",
                   HTTP_ARN, None, "2026-11-21T12:00:00+00:00", "HIGH", "alarm",
                   {"api_id": "a1b2c3d4e5", "stage": "prod", "alarm_name": "warden-abuse-x"})  # fmt: skip


@pytest.mark.parametrize("current, ceiling, expected", [(None, 10, 10), (500, 10, 10), (5, 10, 5), (10, 10, 10), (0, 10, 0)])
def test_warden_never_raises_a_limit(current, ceiling, expected):
    assert lowered(current, ceiling) == expected


class StubbedAws:
    def __init__(self):
        self.http = boto3.client("apigatewayv2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        self.stub = Stubber(self.http)

    def client(self, service):
        assert service == "apigatewayv2"
        return self.http


def test_http_stage_without_limits_is_throttled_and_restored_to_the_account_level_limits():
    aws, finding, remediation = StubbedAws(), http_finding(), ThrottleStage()
    original = {"DetailedMetricsEnabled": True}  # no throttling keys: "no limit set"
    aws.stub.add_response(
        "get_stage", {"StageName": "prod", "DefaultRouteSettings": original, "RouteSettings": {}, "Tags": {}},
        {"ApiId": "a1b2c3d4e5", "StageName": "prod"},
    )  # fmt: skip
    throttled = {"DetailedMetricsEnabled": True, "ThrottlingRateLimit": 10.0, "ThrottlingBurstLimit": 20}
    aws.stub.add_response("update_stage", {}, {"ApiId": "a1b2c3d4e5", "StageName": "prod", "DefaultRouteSettings": throttled})
    aws.stub.add_response("tag_resource", {}, {"ResourceArn": HTTP_ARN, "Tags": {"warden:throttled-by": "cloudwatch:1"}})
    # UpdateStage keeps fields it is not given, so "not set" cannot be put back: the account-level
    # default limits go in instead (the same in effect), and the restore says so
    account = {"DetailedMetricsEnabled": True, "ThrottlingRateLimit": 10000.0, "ThrottlingBurstLimit": 5000}
    aws.stub.add_response("update_stage", {}, {"ApiId": "a1b2c3d4e5", "StageName": "prod", "DefaultRouteSettings": account})
    aws.stub.add_response("untag_resource", {}, {"ResourceArn": HTTP_ARN, "TagKeys": ["warden:throttled-by"]})

    with aws.stub:
        before = {**remediation._stage(finding, aws), "settings": SETTINGS}
        changes = remediation.plan(finding, before)
        assert "rate not set -> 10/s, burst not set -> 20" in changes[0].summary
        remediation.apply(finding, changes, aws)
        notes = remediation.rollback(finding, before, aws)
    aws.stub.assert_no_pending_responses()
    assert "AWS cannot unset an HTTP API limit" in notes[0] and "rate 10000/s, burst 5000" in notes[0]
    assert "--default-route-settings '{\"ThrottlingRateLimit\":10000.0" in changes[0].undo


def test_http_routes_with_their_own_limits_are_lowered_too_and_higher_limits_never_raised():
    finding, remediation = http_finding(), ThrottleStage()
    before = {
        "kind": "http", "api_id": "a1b2c3d4e5", "tags": {}, "settings": SETTINGS,
        "default_route_settings": {"ThrottlingRateLimit": 5.0, "ThrottlingBurstLimit": 100},
        "route_settings": {"POST /predict": {"ThrottlingRateLimit": 200.0, "ThrottlingBurstLimit": 400}, "GET /health": {}},
    }  # fmt: skip
    (update, _tag) = remediation.plan(finding, before)
    params = update.params["update_http_stage"]
    assert params["DefaultRouteSettings"] == {"ThrottlingRateLimit": 5.0, "ThrottlingBurstLimit": 20}
    # UpdateStage merges route by route: only the routes with their own limits are named
    assert params["RouteSettings"] == {"POST /predict": {"ThrottlingRateLimit": 10.0, "ThrottlingBurstLimit": 20}}


def test_a_stage_already_throttled_by_warden_is_not_throttled_again():
    before = {"kind": "http", "api_id": "a", "tags": {"warden:throttled-by": "cloudwatch:0"}, "settings": SETTINGS,
              "default_route_settings": {}, "route_settings": {}}  # fmt: skip
    assert ThrottleStage().plan(http_finding(), before) == []


def test_rest_stage_with_no_limit_is_restored_by_removing_the_limit_not_by_a_number():
    finding = Finding("cloudwatch:2", "cloudwatch", "AWS/ApiGateway/Count", "123456789012", "us-east-1", "AWS::ApiGateway::Stage",
                      "arn:aws:apigateway:us-east-1::/restapis/by-name/api/stages/prod", None, "2026-11-21T12:00:00+00:00",
                      "HIGH", "alarm", {"api_name": "api", "stage": "prod", "alarm_name": "warden-abuse-x"})  # fmt: skip
    before = {"kind": "rest", "api_id": "abc123", "method_throttling": {}, "usage_plans": [], "tags": {}, "settings": SETTINGS}
    (patch, _tag) = ThrottleStage().plan(finding, before)
    assert patch.params["update_stage"]["patchOperations"] == [
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "10"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "20"},
    ]
    # no "*/*" method setting before: the undo removes it whole, so the methods inherit again
    assert """--patch-operations '[{"op":"remove","path":"/*/*"}]'""" in patch.undo
    before["method_throttling"] = {"*/*": {"throttlingRateLimit": 500.0}}  # a setting with no burst limit
    (patch, _tag) = ThrottleStage().plan(finding, before)
    assert '{"op":"replace","path":"/*/*/throttling/rateLimit","value":"500"}' in patch.undo
    assert '{"op":"remove","path":"/*/*/throttling/burstLimit"}' in patch.undo


def test_a_stage_with_no_limit_gets_this_accounts_own_raised_limits_back_not_aws_defaults():
    """An account whose API Gateway quota was raised: the restore reads it (GetAccount) before the
    throttle, so "no limit set" comes back as that quota, not AWS's 10,000/5,000."""
    aws, finding, remediation = StubbedAws(), http_finding(), ThrottleStage()
    rest = boto3.client("apigateway", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    aws.client = lambda service: {"apigatewayv2": aws.http, "apigateway": rest}[service]
    aws.stub.add_response("get_stage", {"StageName": "prod", "DefaultRouteSettings": {}, "RouteSettings": {}, "Tags": {}},
                          {"ApiId": "a1b2c3d4e5", "StageName": "prod"})  # fmt: skip
    raised = {"ThrottlingRateLimit": 25000.0, "ThrottlingBurstLimit": 12000}
    aws.stub.add_response("update_stage", {}, {"ApiId": "a1b2c3d4e5", "StageName": "prod", "DefaultRouteSettings": raised})
    aws.stub.add_response("untag_resource", {}, {"ResourceArn": HTTP_ARN, "TagKeys": ["warden:throttled-by"]})
    with Stubber(rest) as account, aws.stub:
        account.add_response("get_account", {"throttleSettings": {"burstLimit": 12000, "rateLimit": 25000.0}}, {})
        before = remediation.snapshot(finding, aws)
        notes = remediation.rollback(finding, before, aws)
    aws.stub.assert_no_pending_responses()
    assert before["account_limits"] == raised
    assert "this account's own account-level limits (rate 25000/s, burst 12000)" in notes[0]
