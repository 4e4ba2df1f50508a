"""Verify: re-read the resource and fail loudly if it is still exposed."""

from warden.observability import logger, metrics, tracer
from warden.steps import verify


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return verify(event)
