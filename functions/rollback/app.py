"""Rollback: restore the before-snapshot of one audit record, refusing if the resource drifted.

Invoked by an operator (`python -m warden_ops rollback FINDING_ID`), never by an event:
{"finding_id": "cloudtrail:...", "force": false, "requested_by": "arn:aws:iam::...:user/alice"}
"""

from warden.observability import logger, metrics, tracer
from warden.rollback import rollback


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return rollback(event["finding_id"], force=bool(event.get("force", False)), requested_by=event.get("requested_by"))
