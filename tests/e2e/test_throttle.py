"""The throttle's circuit breaker on the twin: throttle, cool down, restore exactly or escalate."""

from __future__ import annotations

import json
import threading
import time
from unittest import mock

from moto.apigateway.models import APIGatewayBackend

from local import scenarios as S
from local.twin import Twin
from tests.conftest import event

REST_EVENT = "cloudwatch-alarm-apigw-rest-4xx.json"
HTTP_EVENT = "cloudwatch-alarm-apigw-http-count.json"
BEFORE = (500.0, 1000, {"rateLimit": 100.0, "burstLimit": 200})


def limits(twin, api_id):
    rest = twin.client("apigateway")
    stage = rest.get_stage(restApiId=api_id, stageName=S.API_STAGE)
    plan = next(p for p in rest.get_usage_plans()["items"] if p["name"] == "partners")
    settings = stage["methodSettings"]["*/*"]
    return settings["throttlingRateLimit"], settings["throttlingBurstLimit"], plan["throttle"]


def http_stage(twin, api_id):
    """What `aws apigatewayv2 get-stage` shows: default route limits, each route's limits, tags."""
    stage = twin.client("apigatewayv2").get_stage(ApiId=api_id, StageName=S.API_STAGE)
    return stage["DefaultRouteSettings"], stage["RouteSettings"], stage.get("Tags") or {}


def http_routes_with_limits(twin, api_id):
    """The HTTP API gets routes: one with limits above the throttle's, one already below them;
    the stage's default route gets 500/s, burst 1000."""
    http = twin.client("apigatewayv2")
    for key in ("POST /infer", "GET /health"):
        http.create_route(ApiId=api_id, RouteKey=key)
    http.update_stage(
        ApiId=api_id, StageName=S.API_STAGE,
        DefaultRouteSettings={"ThrottlingRateLimit": 500.0, "ThrottlingBurstLimit": 1000},
        RouteSettings={"POST /infer": {"ThrottlingRateLimit": 50.0, "ThrottlingBurstLimit": 100},
                       "GET /health": {"ThrottlingRateLimit": 5.0, "ThrottlingBurstLimit": 8}},
    )  # fmt: skip
    return http_stage(twin, api_id)


def throttle_twin(**parameters):
    parameters = {"Mode": "enforce", "CooldownSeconds": "1", "MaxCooldowns": "5", "ThrottleAlarmNames": S.DESIGNATED_ALARMS, **parameters}
    return Twin(parameters=parameters)


def abuse_stops_once_throttled(twin, *alarms: str) -> None:
    """The throttle works: once the Throttle function has throttled the stage, the callers' traffic
    drops and the alarms go OK (triage re-reads the alarm, so it must be in ALARM until then)."""
    invoke = twin._invoke

    def invoked(function, payload):
        result = invoke(function, payload)
        state = json.loads(payload) if isinstance(payload, str) else payload
        if function.function_name == twin.physical["ThrottleFunction"] and "action" not in (state or {}):
            for alarm in alarms:
                twin.client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="abuse stopped")
        return result

    twin._invoke = invoked


def wait_for_state(twin, name, timeout=30):
    """Block until a running execution has left state `name` (the twin runs executions in a thread).
    A throttle's cool-downs run in the Standard workflow, which Triage hands the alarm to."""
    sfn, deadline = twin.client("stepfunctions"), time.monotonic() + timeout
    while time.monotonic() < deadline:
        for execution in sfn.list_executions(stateMachineArn=twin.long_running_arn)["executions"]:
            history = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
            if any(e.get("stateExitedEventDetails", {}).get("name") == name for e in history):
                return
        time.sleep(0.05)
    raise TimeoutError(name)


def test_abuse_stops_and_the_previous_limits_come_back_exactly():
    with throttle_twin() as twin:
        ids = S.abused_apis(twin.client)
        abuse_stops_once_throttled(twin, S.REST_ALARM)  # the abuse is over by the first check
        result = twin.send(event(REST_EVENT))

        assert [n["attributes"]["outcome"] for n in result.notifications] == ["remediated", "restored"]
        assert limits(twin, ids["rest_api_id"]) == BEFORE
        stage = twin.client("apigateway").get_stage(restApiId=ids["rest_api_id"], stageName=S.API_STAGE)
        assert "warden:throttled-by" not in (stage.get("tags") or {})
        throttled, restored = (n["body"] for n in result.notifications)
        assert "rate 500 -> 10/s, burst 1000 -> 20" in throttled
        assert "The throttle lifts by itself" in throttled
        assert "Undone: Stage prod throttled" in restored
        assert result.audit_records[0]["restored_at"]


def test_throttle_holds_while_the_alarm_fires_and_lifts_when_it_clears():
    with throttle_twin() as twin:
        ids = S.abused_apis(twin.client)  # ALARM
        outcome = {}
        worker = threading.Thread(target=lambda: outcome.update(result=twin.send(event(REST_EVENT))))
        worker.start()
        wait_for_state(twin, "CheckAlarm")  # first check: still ALARM, so it waits again
        assert limits(twin, ids["rest_api_id"])[:2] == (10.0, 20), "throttled while the alarm fires"
        twin.client("cloudwatch").set_alarm_state(AlarmName=S.REST_ALARM, StateValue="OK", StateReason="abuse stopped")
        worker.join(60)

        result = outcome["result"]
        states = result.executions[0].states
        # The Express workflow hands the alarm to the Standard one, whose Wait states span the cool-downs.
        assert states[:3] == ["Triage", "Route", "HandOver"]
        assert states[3:9] == ["Triage", "Route", "Throttle", "WhatWasPlanned", "NotifyThrottled", "CooldownWait"]
        assert states.count("CheckAlarm") >= 2 and states[-2:] == ["RestoreLimits", "NotifyRestored"]
        assert [n["attributes"]["outcome"] for n in result.notifications] == ["remediated", "restored"]
        assert limits(twin, ids["rest_api_id"]) == BEFORE


def test_still_abused_after_the_last_check_escalates_and_keeps_the_throttle():
    with throttle_twin(MaxCooldowns="2") as twin:
        ids = S.abused_apis(twin.client)
        result = twin.send(event(REST_EVENT))
        assert [n["attributes"]["outcome"] for n in result.notifications] == ["remediated", "escalated"]
        escalation = result.notifications[1]
        assert escalation["attributes"]["severity"] == "HIGH"
        assert "LEFT THE THROTTLE ON" in escalation["body"]
        assert "aws apigateway update-stage" in escalation["body"], "it says how to restore by hand"
        assert limits(twin, ids["rest_api_id"])[:2] == (10.0, 20)


def test_two_alarms_in_a_burst_throttle_once_and_the_restore_leaves_no_throttle():
    with throttle_twin(DedupeWindowSeconds="1") as twin:
        ids = S.abused_apis(twin.client)
        results = {}
        first = threading.Thread(target=lambda: results.update(first=twin.send(event(REST_EVENT))))
        first.start()
        wait_for_state(twin, "NotifyThrottled")
        time.sleep(1.1)  # past the dedupe window: only the stage's throttle tag stops a nested throttle
        second = twin._run(event("cloudwatch-alarm-apigw-rest-latency-second-alarm.json"), None)
        assert second.states[-1] == "AlreadyCompliant", second.states
        for alarm in (S.REST_ALARM, S.REST_LATENCY_ALARM):
            twin.client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="over")
        first.join(60)

        assert limits(twin, ids["rest_api_id"]) == BEFORE, "no nested throttle left the stage throttled"


def test_stage_deleted_meanwhile_ends_as_resource_gone():
    with throttle_twin() as twin:
        ids = S.abused_apis(twin.client)
        twin.client("apigateway").delete_stage(restApiId=ids["rest_api_id"], stageName=S.API_STAGE)
        result = twin.send(event(REST_EVENT))
        assert result.decision == "resource-gone"
        assert [n["attributes"]["outcome"] for n in result.notifications] == ["resource-gone"]


def test_a_failed_restore_is_never_silent():
    with throttle_twin() as twin:
        S.abused_apis(twin.client)
        abuse_stops_once_throttled(twin, S.REST_ALARM)
        original = APIGatewayBackend.update_usage_plan
        calls = {"n": 0}

        def fail_on_restore(self, *args, **kwargs):
            calls["n"] += 1
            if calls["n"] > 1:  # the first call throttles; the second is the restore
                from moto.apigateway.exceptions import BadRequestException

                raise BadRequestException("Usage plan is being updated")
            return original(self, *args, **kwargs)

        with mock.patch.object(APIGatewayBackend, "update_usage_plan", fail_on_restore):
            result = twin.send(event(REST_EVENT))

        assert result.status == "FAILED"
        assert [n["attributes"]["outcome"] for n in result.notifications] == ["remediated", "failed"]
        assert "Usage plan is being updated" in result.notifications[1]["body"]


# --- HTTP APIs (apigatewayv2) ---------------------------------------------------------------------


def test_http_api_is_throttled_routes_only_lowered_and_every_limit_comes_back_exactly():
    with throttle_twin() as twin:
        ids = S.abused_apis(twin.client)  # ALARM
        before = http_routes_with_limits(twin, ids["http_api_id"])
        outcome = {}
        worker = threading.Thread(target=lambda: outcome.update(result=twin.send(event(HTTP_EVENT))))
        worker.start()
        wait_for_state(twin, "CheckAlarm")  # still ALARM: the throttle holds
        default, routes, tags = http_stage(twin, ids["http_api_id"])
        assert (default["ThrottlingRateLimit"], default["ThrottlingBurstLimit"]) == (10.0, 20)
        assert routes["POST /infer"] == {"ThrottlingRateLimit": 10.0, "ThrottlingBurstLimit": 20}, "lowered"
        assert routes["GET /health"] == {"ThrottlingRateLimit": 5.0, "ThrottlingBurstLimit": 8}, "never raised"
        assert tags["warden:throttled-by"]
        twin.client("cloudwatch").set_alarm_state(AlarmName=S.HTTP_ALARM, StateValue="OK", StateReason="abuse stopped")
        worker.join(60)

        result = outcome["result"]
        assert [n["attributes"]["outcome"] for n in result.notifications] == ["remediated", "restored"]
        assert http_stage(twin, ids["http_api_id"]) == before, "limits, route limits and tags exactly as before"
        throttled, restored = (n["body"] for n in result.notifications)
        assert "rate 500 -> 10/s, burst 1000 -> 20; 1 route(s) with their own limits lowered too" in throttled
        assert "Undone: Stage prod throttled" in restored and "Not restored exactly" not in restored
        assert result.audit_records[0]["restored_exactly"] is True


def test_http_stage_with_no_limit_set_gets_the_account_level_limits_back_and_on_call_is_told():
    """AWS cannot unset an HTTP API limit (UpdateStage keeps what it is not given): the restore
    sets the account-level defaults, the same in effect, and says so instead of claiming "exact"."""
    with throttle_twin() as twin:
        ids = S.abused_apis(twin.client)
        abuse_stops_once_throttled(twin, S.HTTP_ALARM)
        default_before, _, _ = http_stage(twin, ids["http_api_id"])
        assert "ThrottlingRateLimit" not in default_before and "ThrottlingBurstLimit" not in default_before
        result = twin.send(event(HTTP_EVENT))

        assert [n["attributes"]["outcome"] for n in result.notifications] == ["remediated", "restored"]
        default, routes, tags = http_stage(twin, ids["http_api_id"])
        assert default == {**default_before, "ThrottlingRateLimit": 10000.0, "ThrottlingBurstLimit": 5000}
        assert routes == {} and "warden:throttled-by" not in tags
        throttled, restored = (n["body"] for n in result.notifications)
        assert "rate not set -> 10/s, burst not set -> 20" in throttled
        assert "AWS cannot unset an HTTP API limit" in restored
        assert "Not restored exactly: default_route_settings.ThrottlingRateLimit" in restored
        assert result.audit_records[0]["restored_exactly"] is False


def test_two_alarms_on_one_http_stage_in_a_burst_throttle_once_and_the_restore_leaves_no_throttle():
    with throttle_twin(DedupeWindowSeconds="1") as twin:
        ids = S.abused_apis(twin.client)
        before = http_routes_with_limits(twin, ids["http_api_id"])
        second_alarm = S.HTTP_5XX_ALARM
        cloudwatch = twin.client("cloudwatch")
        S.abuse_alarm(cloudwatch, second_alarm, "AWS/ApiGateway", "5xx", {"ApiId": ids["http_api_id"], "Stage": S.API_STAGE}, threshold=10)
        second_event = event(HTTP_EVENT)
        second_event["id"] = "a1b2c3d4-0000-4000-8000-00000000c003"
        second_event["detail"]["alarmName"] = second_alarm
        second_event["resources"] = [f"arn:aws:cloudwatch:us-east-1:{S.ACCOUNT}:alarm:{second_alarm}"]
        second_event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["name"] = "5xx"

        results = {}
        first = threading.Thread(target=lambda: results.update(first=twin.send(event(HTTP_EVENT))))
        first.start()
        wait_for_state(twin, "NotifyThrottled")
        time.sleep(1.1)  # past the dedupe window: only the stage's throttle tag stops a nested throttle
        second = twin._run(second_event, None)
        assert second.states[-1] == "AlreadyCompliant", second.states
        for alarm in (S.HTTP_ALARM, second_alarm):
            cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="over")
        first.join(60)

        assert [n["attributes"]["outcome"] for n in results["first"].notifications] == ["remediated", "restored"]
        assert http_stage(twin, ids["http_api_id"]) == before, "no nested throttle left the stage throttled"


def test_http_api_deleted_meanwhile_ends_as_resource_gone():
    with throttle_twin() as twin:
        ids = S.abused_apis(twin.client)
        twin.client("apigatewayv2").delete_api(ApiId=ids["http_api_id"])
        result = twin.send(event(HTTP_EVENT))
        assert result.decision == "resource-gone"
        assert [n["attributes"]["outcome"] for n in result.notifications] == ["resource-gone"]


# --- REST: "no limit set" ------------------------------------------------------------------------


def test_rest_stage_with_no_limit_set_is_restored_to_no_limit_set():
    with throttle_twin() as twin:
        ids = S.abused_apis(twin.client)
        abuse_stops_once_throttled(twin, S.REST_ALARM)
        rest = twin.client("apigateway")
        deployment = rest.get_stage(restApiId=ids["rest_api_id"], stageName=S.API_STAGE)["deploymentId"]
        rest.delete_stage(restApiId=ids["rest_api_id"], stageName=S.API_STAGE)  # the same stage, never throttled
        rest.create_stage(restApiId=ids["rest_api_id"], stageName=S.API_STAGE, deploymentId=deployment)
        assert rest.get_stage(restApiId=ids["rest_api_id"], stageName=S.API_STAGE)["methodSettings"] == {}

        result = twin.send(event(REST_EVENT))

        assert [n["attributes"]["outcome"] for n in result.notifications] == ["remediated", "restored"]
        throttled, restored = (n["body"] for n in result.notifications)
        assert "*/*: rate not set -> 10/s, burst not set -> 20" in throttled
        assert "remove" in throttled and '"path":"/*/*"' in throttled, "the undo command removes the setting"
        stage = rest.get_stage(restApiId=ids["rest_api_id"], stageName=S.API_STAGE)
        assert stage["methodSettings"] == {}, "no throttling key: the methods inherit the account limits again"
        assert "warden:throttled-by" not in (stage.get("tags") or {})
        plan = rest.get_usage_plan(usagePlanId=ids["usage_plan_id"])
        assert plan["throttle"] == {"rateLimit": 100.0, "burstLimit": 200}
        assert "Not restored exactly" not in restored and result.audit_records[0]["restored_exactly"] is True


# --- SageMaker endpoints: no throttle exists, so on-call decides ---------------------------------

ENDPOINT_EVENT = "cloudwatch-alarm-sagemaker-invocations.json"


def endpoint_state(twin):
    described = twin.client("sagemaker").describe_endpoint(EndpointName=S.ENDPOINT)
    return described["EndpointStatus"], described["EndpointConfigName"], described["ProductionVariants"]


def test_an_abused_sagemaker_endpoint_is_left_serving_and_on_call_gets_the_options():
    with throttle_twin() as twin:
        S.sagemaker_endpoint(twin.client("sagemaker"))
        S.endpoint_alarm(twin.client("cloudwatch"))
        before = endpoint_state(twin)

        result = twin.send(event(ENDPOINT_EVENT))

        assert endpoint_state(twin) == before, "the model keeps serving: nothing about the endpoint changes"
        (message,) = result.notifications
        assert message["attributes"] == {"outcome": "needs-decision", "severity": "HIGH", "remediation": "sagemaker-report-abused-endpoint"}
        assert message["subject"].startswith("[Warden] NEEDS A DECISION: abused SageMaker endpoint")
        body = message["body"]
        for must_say in ("fraud-scoring-prod (InService; variant AllTraffic on 2 instance(s))",
                         "warden-abuse-fraud-model-invocations", "WAF rate-based rule", "sagemaker:InvokeEndpoint",
                         "--resource-ids endpoint/fraud-scoring-prod/variant/AllTraffic",
                         "console.aws.amazon.com/sagemaker/home?region=us-east-1#/endpoints/fraud-scoring-prod"):
            assert must_say in body
        assert result.audit_records[0]["outcome"] == "needs-decision"


def test_an_exempt_or_deleted_endpoint_is_reported_as_such():
    with throttle_twin() as twin:
        sagemaker = twin.client("sagemaker")
        S.sagemaker_endpoint(sagemaker)
        S.endpoint_alarm(twin.client("cloudwatch"))
        arn = sagemaker.describe_endpoint(EndpointName=S.ENDPOINT)["EndpointArn"]
        sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "warden:exempt", "Value": "load test until Friday"}])
        exempt = twin.send(event(ENDPOINT_EVENT))
    with throttle_twin() as twin:
        S.endpoint_alarm(twin.client("cloudwatch"))  # the alarm is still there, its endpoint is not
        gone = twin.send(event(ENDPOINT_EVENT))
    assert [n["attributes"]["outcome"] for n in exempt.notifications] == ["exempt"]
    assert "load test until Friday" in exempt.notifications[0]["body"]
    assert [n["attributes"]["outcome"] for n in gone.notifications] == ["resource-gone"]
