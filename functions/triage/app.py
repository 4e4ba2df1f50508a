"""Triage: raw EventBridge event -> Finding, remediation and decision."""

from warden.observability import logger, metrics, tracer
from warden.steps import triage


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return triage(event["event"], context, execution=event.get("execution"))
