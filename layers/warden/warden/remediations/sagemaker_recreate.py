"""SageMaker settings that cannot change in place: an endpoint config without a KMS key, a model
with network isolation off. Warden changes nothing and says precisely how to recreate, and what
that costs (outcome needs-decision), instead of a silent no-match.

Both resources are immutable in SageMaker: the fix is a new one, and every endpoint that uses the
old one moved to it with UpdateEndpoint (a blue/green deployment: the endpoint keeps serving while
new instances start, so for a while it runs, and bills, twice the instances).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from warden.finding import Finding
from warden.remediations.base import AsksAPerson, Change, NeedsDecision, Triggers, aws_errors, register

TAGS_GONE = ("ValidationException",)  # ListTags on a deleted SageMaker resource (see sagemaker.py)


@dataclass(frozen=True)
class Immutable:
    """One kind of resource: how to read the setting, and the decision to hand on-call."""

    label: str
    parameter: str  # the Describe call's name parameter
    request_name: str  # the CloudTrail request parameter with the name as written (the ARN has it in lower case)
    describe: str  # boto3 method
    gone: tuple  # how Describe says the resource is gone
    read: Callable[[dict[str, Any]], dict[str, Any]]  # Describe response -> snapshot
    exposed: Callable[[dict[str, Any]], bool]
    decision: Callable[[str, dict[str, Any]], str]  # (name, snapshot) -> the needs-decision text


def _endpoint_config_decision(name: str, before: dict[str, Any]) -> str:
    return (
        f"SageMaker endpoint config {name} has no KMS key: the ML storage volumes of its instances are encrypted with an "
        "AWS managed key only, and an endpoint config cannot be changed. Nothing was changed. Recreate it: "
        f"(1) aws sagemaker create-endpoint-config --endpoint-config-name {name}-kms --kms-key-id <key ARN> "
        f"--production-variants '<the same variants: aws sagemaker describe-endpoint-config --endpoint-config-name {name}>'; "
        f"(2) for every endpoint that uses it (aws sagemaker list-endpoints, then describe-endpoint): aws sagemaker update-endpoint "
        f"--endpoint-name <endpoint> --endpoint-config-name {name}-kms; (3) aws sagemaker delete-endpoint-config "
        f"--endpoint-config-name {name}. Blast radius: each endpoint is redeployed blue/green (it keeps serving, and runs and "
        f"bills twice its {before['instances']} instance(s) until the switch completes); serverless variants take no volume key."
    )


def _model_decision(name: str, before: dict[str, Any]) -> str:
    return (
        f"SageMaker model {name} has network isolation off: its container can reach the network (and exfiltrate what it "
        "reads), and a model cannot be changed. Nothing was changed. Recreate it: (1) aws sagemaker create-model --model-name "
        f"{name}-isolated --enable-network-isolation --execution-role-arn {before['role_arn']} --primary-container "
        f"'<the same container: aws sagemaker describe-model --model-name {name}>'; (2) a new endpoint config naming "
        f"{name}-isolated, then aws sagemaker update-endpoint for every endpoint that serves {name}; (3) delete {name}. "
        "Blast radius: a container that downloads weights, packages or calls an API at run time stops working once isolated "
        "(test it first); every endpoint serving it is redeployed blue/green."
    )


IMMUTABLE: dict[str, Immutable] = {
    "AWS::SageMaker::EndpointConfig": Immutable(
        "endpoint config", "EndpointConfigName", "endpointConfigName", "describe_endpoint_config",
        (("ValidationException", "Could not find endpoint configuration"),),
        lambda r: {"kms_key_id": r.get("KmsKeyId"),
                   "instances": sum(v.get("InitialInstanceCount") or 0 for v in r.get("ProductionVariants", []))},
        lambda s: not s["kms_key_id"], _endpoint_config_decision,
    ),
    "AWS::SageMaker::Model": Immutable(
        "model", "ModelName", "modelName", "describe_model", (("ValidationException", "Could not find model"),),
        lambda r: {"network_isolation": bool(r.get("EnableNetworkIsolation")), "role_arn": r.get("ExecutionRoleArn")},
        lambda s: not s["network_isolation"], _model_decision,
    ),
}  # fmt: skip


@register
class RecreateImmutable(AsksAPerson):
    name = "sagemaker-needs-recreate"
    summary = "tell on-call how to recreate the resource with the setting it lacks (it cannot change in place)"
    verified_statement = "nothing was changed: the resource must be recreated"
    family = "encryption"
    resource_type = "AWS::SageMaker::EndpointConfig"
    resource_types = tuple(IMMUTABLE)
    triggers = Triggers(
        cloudtrail_events=("CreateEndpointConfig", "CreateModel"),
        config_rules=("sagemaker-endpoint-configuration-kms-key-configured", "sagemaker-model-isolation-enabled"),
    )
    permissions = ("sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel")
    verify_permissions = ()
    tag_permissions = ("sagemaker:ListTags",)
    rollback_permissions = ()
    notify_only = True

    def ignore_reason(self, finding: Finding) -> str | None:
        params = finding.details.get("requestParameters")
        if params is None or finding.source != "cloudtrail":
            return None
        if finding.type == "CreateEndpointConfig" and params.get("kmsKeyId"):
            return "the endpoint config was created with a KMS key"
        if finding.type == "CreateModel" and params.get("enableNetworkIsolation") is True:
            return "the model was created with network isolation"
        return None

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        with aws_errors(TAGS_GONE, f"the {IMMUTABLE[finding.resource_type].label}"):
            tags = aws.client("sagemaker").list_tags(ResourceArn=finding.resource_arn).get("Tags", [])
        return {t["Key"]: t["Value"] for t in tags}

    @staticmethod
    def _name(finding: Finding) -> str:
        kind = IMMUTABLE[finding.resource_type]
        return (finding.details.get("requestParameters") or {}).get(kind.request_name) or finding.resource_name

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        kind = IMMUTABLE[finding.resource_type]
        with aws_errors(kind.gone, f"the {kind.label}"):
            response = getattr(aws.client("sagemaker"), kind.describe)(**{kind.parameter: self._name(finding)})
        return kind.read(response)

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        kind = IMMUTABLE[finding.resource_type]
        if not kind.exposed(before):
            return []
        raise NeedsDecision(kind.decision(self._name(finding), before))

