"""SpokeHealth (organization mode): record each spoke's heartbeat; hourly, report spokes gone silent."""

from warden.observability import logger, metrics, tracer
from warden.spokes import check, record


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    if event.get("action") == "check":
        return check()
    return record(event)
