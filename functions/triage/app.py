"""Triage: raw EventBridge event -> Finding, remediation and decision."""

from warden.observability import logger, metrics, tracer
from warden.steps import triage


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    # throttle_alarms and fast_path: fixed by the workflow's definition (not the execution's input)
    return triage(
        event["event"], context, execution=event.get("execution"),
        throttle_alarms=event.get("throttle_alarms", ""), fast_path=event.get("fast_path") is True,
    )  # fmt: skip
