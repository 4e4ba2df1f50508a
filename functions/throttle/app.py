"""Throttle: lower an abused API stage's limits; later check its alarm and restore the limits."""

from warden.cooldown import check_alarm, restore
from warden.observability import logger, metrics, tracer
from warden.steps import remediate

COOLDOWN_ACTIONS = {"check-alarm": check_alarm, "restore": restore}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    action = event.get("action")
    if action in COOLDOWN_ACTIONS:
        return COOLDOWN_ACTIONS[action](event)
    return remediate(event, family="throttle")
