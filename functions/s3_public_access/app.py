"""S3PublicAccess: quarantine a public bucket, or turn the account's public access block on."""

from warden.observability import logger, metrics, tracer
from warden.steps import remediate


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return remediate(event, family="s3_public")
