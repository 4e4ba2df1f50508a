"""AWS Config ("Config Rules Compliance Change"): a rule found a resource NON_COMPLIANT.

Config names the resource by type and id (CONFIG_RESOURCES); it does not say who changed it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Literal

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from pydantic import StringConstraints
from typing_extensions import Annotated

from warden.finding import ACCOUNT_RESOURCE_TYPE, Finding, account_resource, partition_of
from warden.findings.base import AccountId, BaseModel, EventBridgeModel, Region, RejectedEvent, ShortText
from warden.findings.locators import (
    BucketRef,
    KeyRef,
    NotebookRef,
    SageMakerRef,
    bucket_resource,
    kms_key_resource,
    notebook_resource,
    sagemaker_arn,
)

PolicyId = Annotated[str, StringConstraints(pattern=r"^ANPA[A-Z0-9]{12,124}$")]


class _PolicyIdRef(BaseModel):
    policyId: PolicyId


# Config resourceType -> (resourceId, region, account) -> (resource type, ARN)
CONFIG_RESOURCES: dict[str, Callable[[str, str, str], tuple[str, str]]] = {
    "AWS::S3::Bucket": lambda rid, region, account: bucket_resource(BucketRef(bucketName=rid).bucketName, region),
    "AWS::KMS::Key": lambda rid, region, account: kms_key_resource(KeyRef(keyId=rid).keyId, region, account),
    "AWS::SageMaker::NotebookInstance": lambda rid, region, account: notebook_resource(
        NotebookRef(notebookInstanceName=rid).notebookInstanceName, region, account
    ),
    "AWS::SageMaker::Model": lambda rid, region, account: (
        "AWS::SageMaker::Model", sagemaker_arn("model", SageMakerRef(modelName=rid).modelName, region, account)
    ),
    "AWS::SageMaker::EndpointConfig": lambda rid, region, account: (
        "AWS::SageMaker::EndpointConfig",
        sagemaker_arn("endpoint-config", SageMakerRef(endpointConfigName=rid).endpointConfigName, region, account),
    ),
    ACCOUNT_RESOURCE_TYPE: lambda rid, region, account: (ACCOUNT_RESOURCE_TYPE, account_resource(account)),
    # Config names IAM policies by policy id; the remediation looks the ARN up.
    "AWS::IAM::Policy": lambda rid, region, account: (
        "AWS::IAM::Policy",
        f"arn:{partition_of(region)}:iam::{account}:policy-id/{_PolicyIdRef(policyId=rid).policyId}",
    ),
}


class _Evaluation(BaseModel):
    complianceType: Literal["COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE", "INSUFFICIENT_DATA"]


class _ConfigDetail(BaseModel):
    resourceId: ShortText
    resourceType: ShortText
    awsAccountId: AccountId
    awsRegion: Region
    configRuleName: ShortText
    configRuleARN: ShortText | None = None
    newEvaluationResult: _Evaluation
    resultRecordedTime: datetime | None = None
    notificationCreationTime: datetime | None = None


class _ConfigEvent(EventBridgeModel):
    detail: _ConfigDetail


def _from_config(event: dict) -> Finding:
    parsed = parse(event=event, model=_ConfigEvent)
    detail = parsed.detail
    if detail.newEvaluationResult.complianceType != "NON_COMPLIANT":
        raise RejectedEvent(
            f"Config rule {detail.configRuleName} reports {detail.newEvaluationResult.complianceType}: "
            "only NON_COMPLIANT is acted on"
        )
    locate = CONFIG_RESOURCES.get(detail.resourceType)
    if locate is None:
        raise RejectedEvent(f"unsupported Config resourceType {detail.resourceType!r}")
    try:
        resource_type, resource_arn = locate(detail.resourceId, detail.awsRegion, detail.awsAccountId)
    except ValidationError:
        raise RejectedEvent(
            f"Config Rules Compliance Change event is malformed: detail.resourceId: "
            f"{repr(detail.resourceId)[:60]} is not a valid {detail.resourceType} identifier"
        ) from None
    when = detail.resultRecordedTime or detail.notificationCreationTime or parsed.time
    return Finding(
        id=f"config:{parsed.id}",
        source="config",
        type=detail.configRuleName,
        account=detail.awsAccountId,
        region=detail.awsRegion,
        resource_type=resource_type,
        resource_arn=resource_arn,
        actor=None,  # Config evaluations do not say who changed the resource
        time=when.isoformat(),
        severity="HIGH",
        raw_ref=detail.configRuleARN or detail.configRuleName,
    )


PARSERS = {"Config Rules Compliance Change": _from_config}
