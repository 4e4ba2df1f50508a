"""Notify: one SNS message per workflow outcome, and for Warden's own CloudWatch alarms."""

from warden.observability import logger, metrics, tracer
from warden.steps import notify


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return notify(event)
