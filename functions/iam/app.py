"""Iam: remove over-broad policy statements, detach admin policies, revoke abused credentials."""

from warden.observability import logger, metrics, tracer
from warden.steps import remediate


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return remediate(event, family="iam")
