"""CloudTrail ("AWS API Call via CloudTrail"): the API call that changed a resource, and who made it.

Which resource a call is about is read from its request parameters, per eventSource (CLOUDTRAIL_RESOURCES).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from pydantic import StringConstraints
from typing_extensions import Annotated

from warden.finding import ACCOUNT_RESOURCE_TYPE, Finding, account_resource, partition_of
from warden.findings.base import AccountId, BaseModel, Caller, EventBridgeModel, Region, RejectedEvent, ShortText, describe
from warden.findings.locators import (
    BucketRef,
    IamName,
    KeyRef,
    PolicyArn,
    PolicyRef,
    SageMakerRef,
    TrailRef,
    bucket_resource,
    iam_principal,
    kms_key_resource,
    notebook_resource,
    sagemaker_arn,
    trail_resource,
)

# The CloudTrail request parameters a remediation reads (each one's ignore_reason, in triage):
# s3_public, encryption (SQS, SNS), iam, sagemaker. The rest of the event stays in CloudTrail
# (raw_ref names it); remediations read the resource itself from AWS.
REQUEST_PARAMETERS_USED = frozenset({
    "PublicAccessBlockConfiguration", "bucketPolicy",
    "attributes", "attributeName", "attributeValue",
    "policyDocument", "setAsDefault", "policyArn",
    "directInternetAccess", "rootAccess", "instanceMetadataServiceConfiguration", "kmsKeyId", "enableNetworkIsolation",
    "loggingConfig", "endpointConfigName", "modelName",
})  # fmt: skip

QueueUrl = Annotated[str, StringConstraints(pattern=r"^https://[a-z0-9.-]+/[0-9]{12}/[A-Za-z0-9_-]{1,75}(\.fifo)?$")]
TopicArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,251}(\.fifo)?$")]
ACCOUNT_LEVEL_CLOUDTRAIL_EVENTS = frozenset({"DisableEbsEncryptionByDefault", "EnableEbsEncryptionByDefault"})


class _QueueRef(BaseModel):
    queueUrl: QueueUrl


class _TopicRef(BaseModel):
    topicArn: TopicArn


class _CreatedPolicy(BaseModel):
    arn: PolicyArn


class _CreatePolicyResponse(BaseModel):
    policy: _CreatedPolicy


# Which request parameter names the IAM principal, per principal kind.
IAM_PRINCIPAL_PARAMETERS = {"userName": ("AWS::IAM::User", "user"), "roleName": ("AWS::IAM::Role", "role"), "groupName": ("AWS::IAM::Group", "group")}


class _PrincipalRef(BaseModel):
    userName: IamName | None = None
    roleName: IamName | None = None
    groupName: IamName | None = None


# CloudTrail eventName -> (request parameter naming the resource, resource type, ARN resource kind)
SAGEMAKER_RESOURCES = {
    "CreateEndpointConfig": ("endpointConfigName", "AWS::SageMaker::EndpointConfig", "endpoint-config"),
    "CreateModel": ("modelName", "AWS::SageMaker::Model", "model"),
}


def _sagemaker(params: dict, region: str, account: str, event_name: str, response: dict | None = None) -> tuple[str, str]:
    parameter, resource_type, kind = SAGEMAKER_RESOURCES.get(event_name, ("notebookInstanceName", "", ""))
    name = getattr(SageMakerRef.model_validate(params), parameter)
    if name is None:
        raise RejectedEvent(f"SageMaker {event_name}: detail.requestParameters.{parameter} is missing")
    if not kind:
        return notebook_resource(name, region, account)
    return resource_type, sagemaker_arn(kind, name, region, account)


BEDROCK_LOGGING_TYPE = "AWS::Bedrock::ModelInvocationLoggingConfiguration"
# Services whose setting is one per account and region: their calls may carry no request parameters
# (DeleteModelInvocationLoggingConfiguration has none), and the region names the resource.
PER_REGION_SOURCES = frozenset({"bedrock.amazonaws.com"})


def bedrock_logging_arn(region: str, account: str) -> str:
    """Bedrock has no ARN for the invocation logging configuration (one per account and region): Warden names it so."""
    return f"arn:{partition_of(region)}:bedrock:{region}:{account}:model-invocation-logging-configuration"


def _queue(url: str, region: str) -> tuple[str, str]:
    account, name = url.rsplit("/", 2)[1:]
    return "AWS::SQS::Queue", f"arn:{partition_of(region)}:sqs:{region}:{account}:{name}"


def _iam(params: dict, region: str, account: str, event_name: str, response: dict | None) -> tuple[str, str]:
    if event_name == "CreatePolicy":
        return "AWS::IAM::Policy", _CreatePolicyResponse.model_validate(response or {}).policy.arn
    if event_name == "CreatePolicyVersion":
        return "AWS::IAM::Policy", PolicyRef.model_validate(params).policyArn
    if event_name.startswith("Attach"):
        PolicyRef.model_validate(params)  # the policy attached is what the fix is about
    principal = _PrincipalRef.model_validate(params)
    for parameter, (resource_type, kind) in IAM_PRINCIPAL_PARAMETERS.items():
        name = getattr(principal, parameter)
        if name:
            return resource_type, iam_principal(kind, name, account, region)
    raise RejectedEvent(f"IAM {event_name}: detail.requestParameters names no user, role or group")


def _ec2(params: dict, region: str, account: str, event_name: str, response: dict | None = None) -> tuple[str, str]:
    if event_name in ACCOUNT_LEVEL_CLOUDTRAIL_EVENTS:
        return ACCOUNT_RESOURCE_TYPE, account_resource(account)
    raise RejectedEvent(f"unsupported CloudTrail event ec2.amazonaws.com {event_name!r}")


# eventSource -> (requestParameters, region, account, eventName, responseElements) -> (resource type, ARN)
CLOUDTRAIL_RESOURCES: dict[str, Callable[[dict, str, str, str, dict | None], tuple[str, str]]] = {
    "s3.amazonaws.com": lambda p, region, account, *_: bucket_resource(BucketRef.model_validate(p).bucketName, region),
    "kms.amazonaws.com": lambda p, region, account, *_: kms_key_resource(KeyRef.model_validate(p).keyId, region, account),
    "ec2.amazonaws.com": _ec2,
    "sqs.amazonaws.com": lambda p, region, account, *_: _queue(_QueueRef.model_validate(p).queueUrl, region),
    "sns.amazonaws.com": lambda p, region, account, *_: ("AWS::SNS::Topic", _TopicRef.model_validate(p).topicArn),
    "cloudtrail.amazonaws.com": lambda p, region, account, *_: trail_resource(TrailRef.model_validate(p).name, region, account),
    "sagemaker.amazonaws.com": _sagemaker,
    "bedrock.amazonaws.com": lambda p, region, account, *_: (BEDROCK_LOGGING_TYPE, bedrock_logging_arn(region, account)),
    "iam.amazonaws.com": _iam,
}


class _SessionContext(BaseModel):
    sessionIssuer: Caller | None = None


class _UserIdentity(BaseModel):
    type: ShortText
    arn: ShortText | None = None
    invokedBy: ShortText | None = None  # e.g. cloudformation.amazonaws.com when a stack made the call
    sessionContext: _SessionContext | None = None


class _CloudTrailDetail(BaseModel):
    eventSource: ShortText
    eventName: ShortText
    eventTime: datetime
    awsRegion: Region
    recipientAccountId: AccountId
    eventID: ShortText
    userIdentity: _UserIdentity
    requestParameters: dict[str, Any] | None = None
    responseElements: dict[str, Any] | None = None
    errorCode: ShortText | None = None


class _CloudTrailEvent(EventBridgeModel):
    detail: _CloudTrailDetail


def _from_cloudtrail(event: dict) -> Finding:
    detail = parse(event=event, model=_CloudTrailEvent).detail
    if detail.errorCode:
        raise RejectedEvent(
            f"CloudTrail {detail.eventName} failed with {detail.errorCode}: nothing changed"
        )
    locate = CLOUDTRAIL_RESOURCES.get(detail.eventSource)
    if locate is None:
        raise RejectedEvent(f"unsupported CloudTrail eventSource {detail.eventSource!r}")
    if detail.requestParameters is None and detail.eventSource not in PER_REGION_SOURCES:
        raise RejectedEvent("detail.requestParameters: missing; cannot tell which resource")
    request = detail.requestParameters or {}
    try:
        resource_type, resource_arn = locate(
            request, detail.awsRegion, detail.recipientAccountId, detail.eventName, detail.responseElements
        )
    except ValidationError as error:
        raise RejectedEvent(
            f"AWS API Call via CloudTrail event is malformed: {describe(error, 'detail.requestParameters.')}"
        ) from None
    return Finding(
        id=f"cloudtrail:{detail.eventID}",
        source="cloudtrail",
        type=detail.eventName,
        account=detail.recipientAccountId,
        region=detail.awsRegion,
        resource_type=resource_type,
        resource_arn=resource_arn,
        actor=detail.userIdentity.arn,
        time=detail.eventTime.isoformat(),
        severity="HIGH",
        raw_ref=detail.eventID,
        details={
            "requestParameters": {k: v for k, v in request.items() if k in REQUEST_PARAMETERS_USED},
            # Who really made the call, for telling an IaC deploy from a person (warden.reverts).
            **({"invoked_by": detail.userIdentity.invokedBy} if detail.userIdentity.invokedBy else {}),
            **({"session_issuer": issuer.arn} if (issuer := (detail.userIdentity.sessionContext or _SessionContext()).sessionIssuer) and issuer.arn else {}),
        },
    )


PARSERS = {"AWS API Call via CloudTrail": _from_cloudtrail}
