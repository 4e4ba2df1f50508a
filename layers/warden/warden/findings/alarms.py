"""CloudWatch alarms ("CloudWatch Alarm State Change"): an abuse alarm on an API Gateway stage or a
SageMaker endpoint went to ALARM. Whether the alarm may act at all is checked later (warden.confirm).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from pydantic import Field, StringConstraints
from typing_extensions import Annotated

from warden.finding import Finding, partition_of
from warden.findings.base import AccountId, BaseModel, EventBridgeModel, RejectedEvent, ShortText, describe
from warden.findings.locators import SageMakerName

ApiName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 ._-]{1,128}$")]
ApiId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{6,32}$")]
StageName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_$-]{1,128}$")]


class _AlarmMetric(BaseModel):
    namespace: ShortText
    name: ShortText
    dimensions: dict[ShortText, ShortText] = Field(default_factory=dict, max_length=30)


class _MetricStat(BaseModel):
    metric: _AlarmMetric


class _AlarmMetricQuery(BaseModel):
    metricStat: _MetricStat | None = None


class _AlarmConfiguration(BaseModel):
    metrics: list[_AlarmMetricQuery] = Field(min_length=1, max_length=20)


class _AlarmState(BaseModel):
    value: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    timestamp: datetime | None = None


class _AlarmDetail(BaseModel):
    alarmName: Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f]{1,255}$")]
    state: _AlarmState
    configuration: _AlarmConfiguration


class _AlarmEvent(EventBridgeModel):
    account: AccountId  # the alarm's account is the finding's (organization mode resolves it): checked as such
    detail: _AlarmDetail


class _RestStage(BaseModel):
    ApiName: ApiName
    Stage: StageName


class _HttpStage(BaseModel):
    ApiId: ApiId
    Stage: StageName


class _SageMakerEndpoint(BaseModel):
    EndpointName: SageMakerName
    VariantName: SageMakerName | None = None


def alarm_resource(namespace: str, dimensions: dict, region: str, account: str) -> tuple[str, str, dict]:
    """(resource type, ARN, details) of what an abuse alarm watches: an API Gateway stage or a SageMaker endpoint."""
    partition = partition_of(region)
    if namespace == "AWS/SageMaker":
        endpoint = _SageMakerEndpoint.model_validate(dimensions)
        arn = f"arn:{partition}:sagemaker:{region}:{account}:endpoint/{endpoint.EndpointName.lower()}"
        return "AWS::SageMaker::Endpoint", arn, {"endpoint_name": endpoint.EndpointName, "variant_name": endpoint.VariantName}
    if "ApiId" in dimensions:
        stage = _HttpStage.model_validate(dimensions)
        arn = f"arn:{partition}:apigateway:{region}::/apis/{stage.ApiId}/stages/{stage.Stage}"
        return "AWS::ApiGatewayV2::Stage", arn, {"api_id": stage.ApiId, "stage": stage.Stage}
    rest = _RestStage.model_validate(dimensions)
    # REST API metrics name the API, not its id: the remediation looks the id up.
    arn = f"arn:{partition}:apigateway:{region}::/restapis/by-name/{rest.ApiName}/stages/{rest.Stage}"
    return "AWS::ApiGateway::Stage", arn, {"api_name": rest.ApiName, "stage": rest.Stage}


def _from_alarm(event: dict) -> Finding:
    parsed = parse(event=event, model=_AlarmEvent)
    detail = parsed.detail
    if detail.state.value != "ALARM":
        raise RejectedEvent(f"alarm {detail.alarmName} is {detail.state.value}: only ALARM is acted on")
    metric = next((q.metricStat.metric for q in detail.configuration.metrics if q.metricStat), None)
    if metric is None or metric.namespace not in ("AWS/ApiGateway", "AWS/SageMaker"):
        raise RejectedEvent(f"alarm {detail.alarmName} does not watch an AWS/ApiGateway or AWS/SageMaker metric")
    region = parsed.region
    try:
        resource_type, resource_arn, details = alarm_resource(metric.namespace, metric.dimensions, region, parsed.account)
    except ValidationError as error:
        raise RejectedEvent(
            f"CloudWatch Alarm State Change event is malformed: detail.configuration.metrics.dimensions: {describe(error)}"
        ) from None
    details["alarm_name"] = detail.alarmName
    return Finding(
        id=f"cloudwatch:{parsed.id}",
        source="cloudwatch",
        type=f"{metric.namespace}/{metric.name}",
        account=parsed.account,
        region=region,
        resource_type=resource_type,
        resource_arn=resource_arn,
        actor=None,  # an alarm does not say who sent the traffic
        time=(detail.state.timestamp or parsed.time).isoformat(),
        severity="HIGH",
        raw_ref=(parsed.resources or [detail.alarmName])[0],
        details=details,
    )


PARSERS = {"CloudWatch Alarm State Change": _from_alarm}
