"""Throttle an abused API Gateway stage (the inference APIs in front of ML models), then let the
throttle lift itself: a circuit breaker that closes on its own, not a permanent outage.

The stage's rate and burst limits are lowered to ThrottleRateLimit/ThrottleBurstLimit, never
raised above what was there; usage plans on a REST stage are lowered too. The stage is tagged
`warden:throttled-by`, so a second alarm for the same stage does not stack a second throttle
whose restore would leave the first one in place. The workflow then waits, checks the alarm, and
restores the before-snapshot exactly (see warden.cooldown).
"""

from __future__ import annotations

import json
import os
from typing import Any

from dataclasses import replace

from warden.finding import Finding
from warden.remediations.base import (
    Change,
    NotRemediable,
    Remediation,
    ResourceGone,
    Triggers,
    apply_in_order,
    aws_errors,
    register,
)

THROTTLED_TAG = "warden:throttled-by"
API_GONE = ("NotFoundException",)
REST, HTTP = "AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage"
ALL_METHODS = "*/*"
# An HTTP API limit, once set, cannot be unset: UpdateStage keeps every field it is not given, and
# there is no call that removes the default route's limits (AWS support: set the account-level
# limits instead, which is the same in effect). These are AWS's default account-level limits per
# Region; an account with a raised quota is told to set its own.
ACCOUNT_RATE_LIMIT, ACCOUNT_BURST_LIMIT = 10000.0, 5000  # AWS's default account-level quota, if GetAccount says none
HTTP_LIMITS = ("ThrottlingRateLimit", "ThrottlingBurstLimit")


def throttle_settings(env: dict | None = None) -> dict[str, float]:
    env = os.environ if env is None else env
    return {
        "rate_limit": float(env.get("WARDEN_THROTTLE_RATE_LIMIT", "10")),
        "burst_limit": int(env.get("WARDEN_THROTTLE_BURST_LIMIT", "20")),
        "cooldown_seconds": int(env.get("WARDEN_COOLDOWN_SECONDS", "900")),
        "max_cooldowns": int(env.get("WARDEN_MAX_COOLDOWNS", "8")),
    }


def lowered(current: float | None, ceiling: float) -> float:
    """Warden only ever lowers a limit: the configured one, or what was there if that is lower."""
    return ceiling if current is None else min(current, ceiling)


def _show(value: Any) -> str:
    return "not set" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _stage_arn(region: str, api_id: str, stage: str, rest: bool) -> str:
    return f"arn:aws:apigateway:{region}::/{'restapis' if rest else 'apis'}/{api_id}/stages/{stage}"


@register
class ThrottleStage(Remediation):
    name = "apigw-throttle-stage"
    summary = "throttle the stage to the configured rate and burst, until the alarm is over"
    verified_statement = "stage limited to {rate} rps / {burst} burst"
    family = "throttle"
    resource_type = REST
    resource_types = (REST, HTTP)
    triggers = Triggers(
        alarm_metrics=tuple(f"AWS/ApiGateway/{m}" for m in ("Count", "4XXError", "5XXError", "4xx", "5xx", "Latency"))
    )
    # API Gateway's IAM actions are HTTP verbs on resource paths.
    permissions = ("apigateway:GET", "apigateway:PATCH", "apigateway:PUT", "apigateway:POST")
    verify_permissions = ("apigateway:GET",)
    tag_permissions = ("apigateway:GET",)
    rollback_permissions = ("apigateway:GET", "apigateway:PATCH", "apigateway:DELETE")  # DELETE: untag when it lifts
    volatile_snapshot_keys = ("account_limits",)  # the account's quota, not the stage's state

    # --- reads ---------------------------------------------------------------------------------

    def _rest_api_id(self, finding: Finding, aws) -> str:
        if "api_id" in finding.details:
            return finding.details["api_id"]
        name = finding.details["api_name"]
        ids = [
            api["id"]
            for page in aws.client("apigateway").get_paginator("get_rest_apis").paginate()
            for api in page["items"]
            if api["name"] == name
        ]
        if not ids:
            raise ResourceGone(f"no REST API named {name!r} exists any more")
        if len(ids) > 1:
            raise NotRemediable(f"{len(ids)} REST APIs are named {name!r}; the alarm cannot say which one is abused")
        return ids[0]

    def _stage(self, finding: Finding, aws) -> dict[str, Any]:
        stage = finding.details["stage"]
        if finding.resource_type == HTTP:
            with aws_errors(API_GONE, "the HTTP API stage"):
                raw = aws.client("apigatewayv2").get_stage(ApiId=finding.details["api_id"], StageName=stage)
            return {
                "kind": "http",
                "api_id": finding.details["api_id"],
                "default_route_settings": raw.get("DefaultRouteSettings") or {},
                "route_settings": raw.get("RouteSettings") or {},
                "tags": raw.get("Tags") or {},
            }
        api_id = self._rest_api_id(finding, aws)
        client = aws.client("apigateway")
        with aws_errors(API_GONE, "the REST API stage"):
            raw = client.get_stage(restApiId=api_id, stageName=stage)
            plans = [
                {"id": plan["id"], "throttle": plan.get("throttle") or {}}
                for page in client.get_paginator("get_usage_plans").paginate()
                for plan in page["items"]
                if any(s.get("apiId") == api_id and s.get("stage") == stage for s in plan.get("apiStages", []))
            ]
        throttling = {
            key: {k: v for k, v in settings.items() if k in ("throttlingRateLimit", "throttlingBurstLimit")}
            for key, settings in (raw.get("methodSettings") or {}).items()
        }
        return {"kind": "rest", "api_id": api_id, "method_throttling": throttling, "usage_plans": plans, "tags": raw.get("tags") or {}}

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        return self._stage(finding, aws)["tags"]

    def resolve(self, finding: Finding, aws) -> Finding:
        """A REST API alarm names the API; the stage's ARN needs its id."""
        if finding.resource_type != REST or "api_id" in finding.details:
            return finding
        api_id = self._rest_api_id(finding, aws)
        arn = _stage_arn(finding.region, api_id, finding.details["stage"], True)
        return replace(finding, resource_arn=arn, details={**finding.details, "api_id": api_id})

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        stage = self._stage(finding, aws)
        if stage["kind"] == "http":  # what "no limit set" means in this account, for the restore
            stage["account_limits"] = _account_limits(aws)
        return {**stage, "settings": throttle_settings()}

    # --- plan ----------------------------------------------------------------------------------

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        if before["tags"].get(THROTTLED_TAG):
            return []  # already throttled by Warden: one throttle, never two nested ones
        settings, stage, api_id = before["settings"], finding.details["stage"], before["api_id"]
        rate, burst = settings["rate_limit"], settings["burst_limit"]
        arn = _stage_arn(finding.region, api_id, stage, before["kind"] == "rest")
        changes = self._plan_rest(api_id, stage, before, rate, burst) if before["kind"] == "rest" else self._plan_http(api_id, stage, before, rate, burst)
        if not changes:
            return []
        changes.append(
            Change(
                "apigateway:PUT",
                f"Tagged the stage {THROTTLED_TAG}={finding.id}",
                f"aws resourcegroupstaggingapi untag-resources --resource-arn-list {arn} --tag-keys {THROTTLED_TAG}",
                {"tag_resource": {"arn": arn, "tags": {THROTTLED_TAG: finding.id}}},
            )
        )
        return changes

    def _plan_rest(self, api_id: str, stage: str, before: dict, rate: float, burst: int) -> list[Change]:
        changes = []
        methods = dict(before["method_throttling"])
        methods.setdefault(ALL_METHODS, {})
        operations, lines = [], []
        undo = _rest_restore_ops(before["method_throttling"], [k for k in methods if k == ALL_METHODS or methods[k]])
        for key, limits in methods.items():
            if key != ALL_METHODS and not limits:
                continue  # a method without its own throttle inherits the stage default
            old_rate, old_burst = limits.get("throttlingRateLimit"), limits.get("throttlingBurstLimit")
            new_rate, new_burst = lowered(old_rate, rate), lowered(old_burst, burst)
            if (new_rate, new_burst) == (old_rate, old_burst):
                continue
            operations += [
                {"op": "replace", "path": f"/{key}/throttling/rateLimit", "value": f"{new_rate:g}"},
                {"op": "replace", "path": f"/{key}/throttling/burstLimit", "value": str(int(new_burst))},
            ]
            lines.append(f"{key}: rate {_show(old_rate)} -> {new_rate:g}/s, burst {_show(old_burst)} -> {int(new_burst)}")
        if operations:
            changes.append(
                Change(
                    "apigateway:PATCH",
                    f"Stage {stage} throttled: {'; '.join(lines)}",
                    f"aws apigateway update-stage --rest-api-id {api_id} --stage-name {stage} --patch-operations '{_json(undo)}'",
                    {"update_stage": {"restApiId": api_id, "stageName": stage, "patchOperations": operations}},
                )
            )
        for plan in before["usage_plans"]:
            old_rate, old_burst = plan["throttle"].get("rateLimit"), plan["throttle"].get("burstLimit")
            new_rate, new_burst = lowered(old_rate, rate), lowered(old_burst, burst)
            if (new_rate, new_burst) == (old_rate, old_burst):
                continue
            undo = [_restore_op("throttle", "rateLimit", old_rate, prefix=""), _restore_op("throttle", "burstLimit", old_burst, prefix="")]
            changes.append(
                Change(
                    "apigateway:PATCH",
                    f"Usage plan {plan['id']} throttled: rate {_show(old_rate)} -> {new_rate:g}/s, burst {_show(old_burst)} -> {int(new_burst)}",
                    f"aws apigateway update-usage-plan --usage-plan-id {plan['id']} --patch-operations '{_json(undo)}'",
                    {
                        "update_usage_plan": {
                            "usagePlanId": plan["id"],
                            "patchOperations": [
                                {"op": "replace", "path": "/throttle/rateLimit", "value": f"{new_rate:g}"},
                                {"op": "replace", "path": "/throttle/burstLimit", "value": str(int(new_burst))},
                            ],
                        }
                    },
                )
            )
        return changes

    def _plan_http(self, api_id: str, stage: str, before: dict, rate: float, burst: int) -> list[Change]:
        default = before["default_route_settings"]
        old_rate, old_burst = default.get("ThrottlingRateLimit"), default.get("ThrottlingBurstLimit")
        new_default = {**default, "ThrottlingRateLimit": lowered(old_rate, rate), "ThrottlingBurstLimit": int(lowered(old_burst, burst))}
        routes = {
            key: {**route, "ThrottlingRateLimit": lowered(route.get("ThrottlingRateLimit"), rate),
                  "ThrottlingBurstLimit": int(lowered(route.get("ThrottlingBurstLimit"), burst))}
            for key, route in before["route_settings"].items()
            if "ThrottlingRateLimit" in route or "ThrottlingBurstLimit" in route
        }  # fmt: skip
        routes = {key: route for key, route in routes.items() if route != before["route_settings"][key]}  # lowered ones
        if new_default == default and not routes:
            return []
        params = {"ApiId": api_id, "StageName": stage, "DefaultRouteSettings": new_default}
        if routes:
            params["RouteSettings"] = routes  # UpdateStage merges: routes not named keep their settings
        restore, _ = _http_restore(api_id, stage, before)
        undo = f"--default-route-settings '{_json(restore['DefaultRouteSettings'])}'"
        if "RouteSettings" in restore:
            undo += f" --route-settings '{_json(restore['RouteSettings'])}'"
        return [
            Change(
                "apigateway:PATCH",
                f"Stage {stage} throttled: rate {_show(old_rate)} -> {new_default['ThrottlingRateLimit']:g}/s, "
                f"burst {_show(old_burst)} -> {new_default['ThrottlingBurstLimit']}"
                + (f"; {len(routes)} route(s) with their own limits lowered too" if routes else ""),
                f"aws apigatewayv2 update-stage --api-id {api_id} --stage-name {stage} {undo}",
                {"update_http_stage": params},
            )
        ]

    def advice(self, finding: Finding, before: dict[str, Any]) -> list[str]:
        settings = before["settings"]
        return [
            f"The throttle lifts by itself: Warden checks alarm {finding.details['alarm_name']} every "
            f"{settings['cooldown_seconds']} s and restores the previous limits once it is no longer in ALARM "
            f"(at most {settings['max_cooldowns']} checks, then it escalates and leaves the throttle on).",
            "Meanwhile, find the abusive callers in the access logs and block them (WAF, API keys, authorizer).",
        ]

    # --- apply, verify, restore ----------------------------------------------------------------

    def _call(self, aws, change: Change) -> None:
        (operation, params), = change.params.items()
        if operation == "update_stage":
            aws.client("apigateway").update_stage(**params)
        elif operation == "update_usage_plan":
            aws.client("apigateway").update_usage_plan(**params)
        elif operation == "update_http_stage":
            aws.client("apigatewayv2").update_stage(**params)
        elif operation == "tag_resource":
            if "/restapis/" in params["arn"]:
                aws.client("apigateway").tag_resource(resourceArn=params["arn"], tags=params["tags"])
            else:
                aws.client("apigatewayv2").tag_resource(ResourceArn=params["arn"], Tags=params["tags"])

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        return {"applied": apply_in_order(changes, lambda c: self._call(aws, c), API_GONE)}

    def read_exposure(self, finding: Finding, aws) -> dict[str, Any]:
        return self._stage(finding, aws)

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        stage = fresh
        if result is None and stage["tags"].get(THROTTLED_TAG):
            return []  # triage's re-check of a duplicate: Warden's throttle is on (its limits are the Throttle function's)
        settings = ((result or {}).get("before") or {}).get("settings") or throttle_settings()
        if stage["kind"] == "http":
            limits = stage["default_route_settings"]
            rate, burst = limits.get("ThrottlingRateLimit"), limits.get("ThrottlingBurstLimit")
        else:
            limits = stage["method_throttling"].get(ALL_METHODS, {})
            rate, burst = limits.get("throttlingRateLimit"), limits.get("throttlingBurstLimit")
        if rate is None or burst is None or rate > settings["rate_limit"] or burst > settings["burst_limit"]:
            return [f"the stage allows rate {_show(rate)}, burst {_show(burst)}"]
        return []

    def verified(self, finding: Finding, result: dict[str, Any] | None = None) -> str:
        settings = ((result or {}).get("before") or {}).get("settings") or throttle_settings()
        return self.verified_statement.format(rate=_show(settings["rate_limit"]), burst=_show(settings["burst_limit"]))

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> list[str]:
        """Put back the limits of the before-snapshot, including 'not set', and untag. Returns notes
        on what AWS cannot put back exactly (an HTTP API limit that was not set)."""
        stage, api_id = finding.details["stage"], before["api_id"]
        with aws_errors(API_GONE, "the stage"):
            if before["kind"] == "http":
                client = aws.client("apigatewayv2")
                params, notes = _http_restore(api_id, stage, before)
                client.update_stage(**params)
                client.untag_resource(ResourceArn=_stage_arn(finding.region, api_id, stage, False), TagKeys=[THROTTLED_TAG])
                return notes
            client = aws.client("apigateway")
            operations = _rest_restore_ops(before["method_throttling"], [ALL_METHODS, *before["method_throttling"]])
            client.update_stage(restApiId=api_id, stageName=stage, patchOperations=operations)
            for plan in before["usage_plans"]:
                client.update_usage_plan(
                    usagePlanId=plan["id"],
                    patchOperations=[
                        _restore_op("throttle", "rateLimit", plan["throttle"].get("rateLimit"), prefix=""),
                        _restore_op("throttle", "burstLimit", plan["throttle"].get("burstLimit"), prefix=""),
                    ],
                )
            client.untag_resource(resourceArn=_stage_arn(finding.region, api_id, stage, True), tagKeys=[THROTTLED_TAG])
            return []

def _rest_restore_ops(method_throttling: dict[str, dict], keys: list[str]) -> list[dict[str, str]]:
    """Patch operations that put back the REST stage's limits for these method-setting keys. A
    method setting that did not exist before is removed whole (`remove /*/*`): the methods inherit
    the stage's defaults again, as before."""
    operations = []
    for key in dict.fromkeys(keys):
        if key not in method_throttling:
            operations.append({"op": "remove", "path": f"/{key}"})
            continue
        limits = method_throttling[key]
        operations += [
            _restore_op(key, "rateLimit", limits.get("throttlingRateLimit")),
            _restore_op(key, "burstLimit", limits.get("throttlingBurstLimit")),
        ]
    return operations


def _account_limits(aws) -> dict[str, Any]:
    """The account-level API Gateway limits of this region (GetAccount), shared by REST and HTTP APIs:
    a stage with no limit of its own is held to these."""
    throttle = aws.client("apigateway").get_account().get("throttleSettings") or {}
    return {
        "ThrottlingRateLimit": float(throttle.get("rateLimit", ACCOUNT_RATE_LIMIT)),
        "ThrottlingBurstLimit": int(throttle.get("burstLimit", ACCOUNT_BURST_LIMIT)),
    }


def _http_restore(api_id: str, stage: str, before: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The UpdateStage call that puts back an HTTP API stage's limits, and notes on what it cannot
    put back. UpdateStage keeps the fields it is not given, so a limit that was not set cannot be
    unset: it gets the account-level limits read before the throttle (the same in effect), and
    on-call is told."""
    notes = []
    account = before.get("account_limits") or {"ThrottlingRateLimit": ACCOUNT_RATE_LIMIT, "ThrottlingBurstLimit": ACCOUNT_BURST_LIMIT}

    def restored(settings: dict[str, Any], where: str) -> dict[str, Any]:
        missing = [name for name in HTTP_LIMITS if name not in settings]
        if missing:
            notes.append(
                f"{where} had no {' or '.join(n.removeprefix('Throttling') for n in missing)} set. AWS cannot unset an "
                f"HTTP API limit, so Warden set this account's own account-level limits (rate "
                f"{account['ThrottlingRateLimit']:g}/s, burst {account['ThrottlingBurstLimit']}), which applied "
                "to it anyway: the same in effect."
            )
        return {**account, **settings}

    params = {
        "ApiId": api_id,
        "StageName": stage,
        "DefaultRouteSettings": restored(before["default_route_settings"], f"Stage {stage}'s default route"),
    }
    routes = {
        key: restored(route, f"Route {key}")
        for key, route in before["route_settings"].items()
        if any(name in route for name in HTTP_LIMITS)  # the only routes the throttle changed
    }
    if routes:
        params["RouteSettings"] = routes
    return params, notes


def _restore_op(key: str, field: str, value: Any, prefix: str = "/") -> dict[str, str]:
    path = f"{prefix}{key}/throttling/{field}" if prefix else f"/{key}/{field}"
    if value is None:
        return {"op": "remove", "path": path}  # "no limit set" is restored as no limit, not as a number
    return {"op": "replace", "path": path, "value": f"{value:g}" if isinstance(value, float) else str(value)}


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
