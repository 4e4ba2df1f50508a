"""The throttle's circuit breaker on the twin: throttle, cool down, restore exactly or escalate."""

from __future__ import annotations

import threading
import time
from unittest import mock

from moto.apigateway.models import APIGatewayBackend

from local import scenarios as S
from local.twin import Twin
from tests.conftest import event

REST_EVENT = "cloudwatch-alarm-apigw-rest-4xx.json"
BEFORE = (500.0, 1000, {"rateLimit": 100.0, "burstLimit": 200})


def limits(twin, api_id):
    rest = twin.client("apigateway")
    stage = rest.get_stage(restApiId=api_id, stageName=S.API_STAGE)
    plan = next(p for p in rest.get_usage_plans()["items"] if p["name"] == "partners")
    settings = stage["methodSettings"]["*/*"]
    return settings["throttlingRateLimit"], settings["throttlingBurstLimit"], plan["throttle"]


def throttle_twin(**parameters):
    return Twin(parameters={"Mode": "enforce", "CooldownSeconds": "1", "MaxCooldowns": "5", **parameters})


def wait_for_state(twin, name, timeout=30):
    """Block until a running execution has left state `name` (the twin runs executions in a thread)."""
    sfn, deadline = twin.client("stepfunctions"), time.monotonic() + timeout
    while time.monotonic() < deadline:
        for execution in sfn.list_executions(stateMachineArn=twin.state_machine_arn)["executions"]:
            history = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
            if any(e.get("stateExitedEventDetails", {}).get("name") == name for e in history):
                return
        time.sleep(0.05)
    raise TimeoutError(name)


def test_abuse_stops_and_the_previous_limits_come_back_exactly():
    with throttle_twin() as twin:
        ids = S.abused_apis(twin.client, alarm_state="OK")  # the abuse is over by the first check
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
        assert result.executions[0].states.count("CheckAlarm") >= 2
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
        wait_for_state(twin, "NotifyRemediated")
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
        S.abused_apis(twin.client, alarm_state="OK")
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
