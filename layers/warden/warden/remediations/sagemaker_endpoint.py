"""An abused SageMaker inference endpoint: tell on-call, change nothing.

A SageMaker endpoint has no rate limit to lower: it is throttled only by whatever sits in front
of it (an API Gateway stage, which the throttle remediation handles, a WAF rule, or the IAM
principals allowed to call InvokeEndpoint). Shrinking or deleting the endpoint would take the
model down for everyone. So Warden reads the endpoint, names what is serving, and hands on-call a
decision with the concrete options (outcome `needs-decision`, nothing changed).
"""

from __future__ import annotations

from typing import Any

from warden.finding import Finding
from warden.remediations.base import AsksAPerson, Change, NeedsDecision, Triggers, aws_errors, register

# DescribeEndpoint on a missing endpoint: ValidationException "Could not find endpoint ..."
ENDPOINT_GONE = (("ValidationException", "Could not find endpoint"),)
# ListTags on a deleted SageMaker resource: ValidationException (see sagemaker.py)
TAGS_GONE = ("ValidationException",)


@register
class ReportAbusedEndpoint(AsksAPerson):
    name = "sagemaker-report-abused-endpoint"
    summary = "tell on-call what to decide (an endpoint has no throttle)"
    verified_statement = "nothing was changed: the endpoint has no throttle Warden can set"
    family = "throttle"
    resource_type = "AWS::SageMaker::Endpoint"
    triggers = Triggers(alarm_metrics=("AWS/SageMaker/Invocations", "AWS/SageMaker/InvocationsPerInstance"))
    permissions = ("sagemaker:DescribeEndpoint",)
    verify_permissions = ()
    tag_permissions = ("sagemaker:ListTags",)
    rollback_permissions = ()
    notify_only = True

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        with aws_errors(TAGS_GONE, f"SageMaker endpoint {finding.details['endpoint_name']}"):
            pages = aws.client("sagemaker").get_paginator("list_tags").paginate(ResourceArn=finding.resource_arn)
            return {tag["Key"]: tag["Value"] for page in pages for tag in page.get("Tags", [])}

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        with aws_errors(ENDPOINT_GONE, f"SageMaker endpoint {finding.details['endpoint_name']}"):
            endpoint = aws.client("sagemaker").describe_endpoint(EndpointName=finding.details["endpoint_name"])
        return {
            "status": endpoint["EndpointStatus"],
            "variants": [
                # DescribeEndpoint gives the running count (the instance type is in the endpoint config).
                {"name": v["VariantName"], "serving": "serverless" if v.get("CurrentServerlessConfig")
                 else f"{v.get('CurrentInstanceCount', '?')} instance(s)"}
                for v in endpoint.get("ProductionVariants", [])
            ],  # fmt: skip
        }

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        name, alarm = finding.details["endpoint_name"], finding.details["alarm_name"]
        serving = ", ".join(f"variant {v['name']} on {v['serving']}" for v in before["variants"]) or "no variants"
        variant = finding.details.get("variant_name") or next((v["name"] for v in before["variants"]), "<variant>")
        raise NeedsDecision(
            f"SageMaker endpoint {name} ({before['status']}; {serving}) is abused per alarm {alarm}, and an endpoint has "
            "no rate limit Warden could lower; shrinking it would take the model down for everyone, so nothing was "
            "changed. Decide: (1) throttle where callers come in: the API Gateway stage in front of it (name its alarm "
            "with the abuse prefix and Warden throttles it, and lifts the throttle), a WAF rate-based rule, or a usage "
            "plan; (2) find who calls it (CloudTrail data events for sagemaker:InvokeEndpoint) and remove that principal's "
            "access; (3) cap its autoscaling so the abuse cannot scale the bill: aws application-autoscaling "
            f"describe-scalable-targets --service-namespace sagemaker --resource-ids endpoint/{name}/variant/{variant}."
        )

