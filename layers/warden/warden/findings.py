"""Raw EventBridge events -> one `Finding` shape, one parser per source. No AWS calls here.

Every way an event can be wrong ends in `RejectedEvent` with a reason that names the field,
so on-call is told what was wrong instead of the workflow failing with a stack trace.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable, Literal

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel as PowertoolsEventBridgeModel
from pydantic import BaseModel as PydanticBaseModel
from pydantic import ConfigDict, Field, StringConstraints
from typing_extensions import Annotated

from warden.finding import ACCOUNT_RESOURCE_TYPE, SWEEP_SOURCE, Finding, account_resource, partition_of
from warden.samples import Sample, sample_of


# Every model below is built on its first use, not at import: a Triage cold start then builds only the
# models of the one event it parses (about half of this module's import CPU otherwise).
class BaseModel(PydanticBaseModel):
    model_config = ConfigDict(defer_build=True)


class EventBridgeModel(PowertoolsEventBridgeModel):
    model_config = ConfigDict(defer_build=True)


MAX_EVENT_BYTES = 256 * 1024  # EventBridge's own limit; anything bigger did not come from it
MAX_EVENT_DEPTH = 32  # real events nest less than 10 levels; deeper is hostile

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

AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]  # not \d: that admits any Unicode digit
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$")]
# Bucket names as S3 allows them; anything else is hostile or garbage: it is rejected, and the
# rejection quotes it only escaped (repr) and cut to 60 characters.
BucketName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")]
ShortText = Annotated[str, StringConstraints(max_length=2048)]


class RejectedEvent(ValueError):
    """The event is malformed, truncated, unknown or hostile. The message says why."""


# --- resource locators: how each source names a resource, per service / resource type ---------
# Every identifier is validated before it reaches an ARN, an API call or a message.

KmsKeyId = Annotated[str, StringConstraints(pattern=r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")]
KmsKeyArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{32,40}$")]
QueueUrl = Annotated[str, StringConstraints(pattern=r"^https://[a-z0-9.-]+/[0-9]{12}/[A-Za-z0-9_-]{1,75}(\.fifo)?$")]
TopicArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,251}(\.fifo)?$")]
TrailName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$")]
TrailArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:[0-9]{12}:trail/[A-Za-z0-9._-]{3,128}$")]
NotebookName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")]
IamName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+=,.@-]{1,128}$")]
PolicyArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,128}$")]
AccessKeyId = Annotated[str, StringConstraints(pattern=r"^(AKIA|ASIA)[A-Z0-9]{12,124}$")]
PolicyId = Annotated[str, StringConstraints(pattern=r"^ANPA[A-Z0-9]{12,124}$")]
ACCOUNT_LEVEL_CLOUDTRAIL_EVENTS = frozenset({"DisableEbsEncryptionByDefault", "EnableEbsEncryptionByDefault"})


class _BucketRef(BaseModel):
    bucketName: BucketName


class _KeyRef(BaseModel):
    keyId: KmsKeyArn | KmsKeyId


class _QueueRef(BaseModel):
    queueUrl: QueueUrl


class _TopicRef(BaseModel):
    topicArn: TopicArn


class _TrailRef(BaseModel):
    name: TrailArn | TrailName


class _NotebookRef(BaseModel):
    notebookInstanceName: NotebookName


class _PolicyRef(BaseModel):
    policyArn: PolicyArn


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


def _bucket(name: str, region: str) -> tuple[str, str]:
    return "AWS::S3::Bucket", f"arn:{partition_of(region)}:s3:::{name}"


def _kms_key(key: str, region: str, account: str) -> tuple[str, str]:
    arn = key if key.startswith("arn:") else f"arn:{partition_of(region)}:kms:{region}:{account}:key/{key}"
    return "AWS::KMS::Key", arn


def _trail(name: str, region: str, account: str) -> tuple[str, str]:
    arn = name if name.startswith("arn:") else f"arn:{partition_of(region)}:cloudtrail:{region}:{account}:trail/{name}"
    return "AWS::CloudTrail::Trail", arn


def _notebook(name: str, region: str, account: str) -> tuple[str, str]:
    # SageMaker ARNs carry the name in lower case.
    return "AWS::SageMaker::NotebookInstance", f"arn:{partition_of(region)}:sagemaker:{region}:{account}:notebook-instance/{name.lower()}"


SageMakerName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")]


class _SageMakerRef(BaseModel):
    notebookInstanceName: NotebookName | None = None
    endpointConfigName: SageMakerName | None = None
    modelName: SageMakerName | None = None


# CloudTrail eventName -> (request parameter naming the resource, resource type, ARN resource kind)
SAGEMAKER_RESOURCES = {
    "CreateEndpointConfig": ("endpointConfigName", "AWS::SageMaker::EndpointConfig", "endpoint-config"),
    "CreateModel": ("modelName", "AWS::SageMaker::Model", "model"),
}


def _sagemaker(params: dict, region: str, account: str, event_name: str, response: dict | None = None) -> tuple[str, str]:
    parameter, resource_type, kind = SAGEMAKER_RESOURCES.get(event_name, ("notebookInstanceName", "", ""))
    name = getattr(_SageMakerRef.model_validate(params), parameter)
    if name is None:
        raise RejectedEvent(f"SageMaker {event_name}: detail.requestParameters.{parameter} is missing")
    if not kind:
        return _notebook(name, region, account)
    return resource_type, sagemaker_arn(kind, name, region, account)


def sagemaker_arn(kind: str, name: str, region: str, account: str) -> str:
    # SageMaker ARNs carry the name in lower case.
    return f"arn:{partition_of(region)}:sagemaker:{region}:{account}:{kind}/{name.lower()}"


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


def iam_principal(kind: str, name: str, account: str, region: str = "us-east-1") -> str:
    return f"arn:{partition_of(region)}:iam::{account}:{kind}/{name}"


def _iam(params: dict, region: str, account: str, event_name: str, response: dict | None) -> tuple[str, str]:
    if event_name == "CreatePolicy":
        return "AWS::IAM::Policy", _CreatePolicyResponse.model_validate(response or {}).policy.arn
    if event_name == "CreatePolicyVersion":
        return "AWS::IAM::Policy", _PolicyRef.model_validate(params).policyArn
    if event_name.startswith("Attach"):
        _PolicyRef.model_validate(params)  # the policy attached is what the fix is about
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
    "s3.amazonaws.com": lambda p, region, account, *_: _bucket(_BucketRef.model_validate(p).bucketName, region),
    "kms.amazonaws.com": lambda p, region, account, *_: _kms_key(_KeyRef.model_validate(p).keyId, region, account),
    "ec2.amazonaws.com": _ec2,
    "sqs.amazonaws.com": lambda p, region, account, *_: _queue(_QueueRef.model_validate(p).queueUrl, region),
    "sns.amazonaws.com": lambda p, region, account, *_: ("AWS::SNS::Topic", _TopicRef.model_validate(p).topicArn),
    "cloudtrail.amazonaws.com": lambda p, region, account, *_: _trail(_TrailRef.model_validate(p).name, region, account),
    "sagemaker.amazonaws.com": _sagemaker,
    "bedrock.amazonaws.com": lambda p, region, account, *_: (BEDROCK_LOGGING_TYPE, bedrock_logging_arn(region, account)),
    "iam.amazonaws.com": _iam,
}

# Config resourceType -> (resourceId, region, account) -> (resource type, ARN)
CONFIG_RESOURCES: dict[str, Callable[[str, str, str], tuple[str, str]]] = {
    "AWS::S3::Bucket": lambda rid, region, account: _bucket(_BucketRef(bucketName=rid).bucketName, region),
    "AWS::KMS::Key": lambda rid, region, account: _kms_key(_KeyRef(keyId=rid).keyId, region, account),
    "AWS::SageMaker::NotebookInstance": lambda rid, region, account: _notebook(
        _NotebookRef(notebookInstanceName=rid).notebookInstanceName, region, account
    ),
    "AWS::SageMaker::Model": lambda rid, region, account: (
        "AWS::SageMaker::Model", sagemaker_arn("model", _SageMakerRef(modelName=rid).modelName, region, account)
    ),
    "AWS::SageMaker::EndpointConfig": lambda rid, region, account: (
        "AWS::SageMaker::EndpointConfig",
        sagemaker_arn("endpoint-config", _SageMakerRef(endpointConfigName=rid).endpointConfigName, region, account),
    ),
    ACCOUNT_RESOURCE_TYPE: lambda rid, region, account: (ACCOUNT_RESOURCE_TYPE, account_resource(account)),
    # Config names IAM policies by policy id; the remediation looks the ARN up.
    "AWS::IAM::Policy": lambda rid, region, account: (
        "AWS::IAM::Policy",
        f"arn:{partition_of(region)}:iam::{account}:policy-id/{_PolicyIdRef(policyId=rid).policyId}",
    ),
}


class _PolicyIdRef(BaseModel):
    policyId: PolicyId

# --- CloudTrail ------------------------------------------------------------------------------


class _SessionIssuer(BaseModel):
    arn: ShortText | None = None


class _SessionContext(BaseModel):
    sessionIssuer: _SessionIssuer | None = None


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
            f"AWS API Call via CloudTrail event is malformed: {_describe(error, 'detail.requestParameters.')}"
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


# --- AWS Config ------------------------------------------------------------------------------


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


# --- GuardDuty -------------------------------------------------------------------------------

ACCOUNT_LEVEL_GUARDDUTY_TYPES = frozenset({"Policy:S3/AccountBlockPublicAccessDisabled"})


class _S3BucketDetail(BaseModel):
    name: BucketName


class _AccessKeyDetails(BaseModel):
    accessKeyId: AccessKeyId | None = None
    userName: IamName | None = None
    userType: ShortText | None = None


class _GuardDutyResource(BaseModel):
    resourceType: ShortText
    s3BucketDetails: list[_S3BucketDetail] | None = Field(default=None, max_length=100)
    accessKeyDetails: _AccessKeyDetails | None = None


class _ApiCallAction(BaseModel):
    affectedResources: dict[ShortText, ShortText] | None = None


class _Action(BaseModel):
    awsApiCallAction: _ApiCallAction | None = None


class _Service(BaseModel):
    action: _Action | None = None


class _GuardDutyDetail(BaseModel):
    id: ShortText
    arn: ShortText | None = None
    type: ShortText
    accountId: AccountId
    region: Region
    severity: float = Field(ge=0, le=10)
    updatedAt: datetime
    resource: _GuardDutyResource
    service: _Service | None = None


class _GuardDutyEvent(EventBridgeModel):
    detail: _GuardDutyDetail


def _guardduty_severity(score: float) -> Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]:
    # GuardDuty's documented bands: 1-3.9 low, 4-6.9 medium, 7-8.9 high, 9-10 critical.
    if score >= 9:
        return "CRITICAL"
    if score >= 7:
        return "HIGH"
    if score >= 4:
        return "MEDIUM"
    return "LOW"


def _credentials(key: _AccessKeyDetails, account: str, region: str) -> tuple[str, str, dict]:
    """The credentials a GuardDuty finding names: a role's sessions, or a user's (or root's) access key."""
    if key.userType == "AssumedRole":
        return "AWS::IAM::Role", iam_principal("role", key.userName, account, region), {}
    if key.userType in ("IAMUser", "Root") and key.accessKeyId:
        user = iam_principal("user", key.userName, account, region) if key.userType == "IAMUser" else f"arn:{partition_of(region)}:iam::{account}:root"
        details = {"principal_arn": user, "user_name": key.userName, "access_key_id": key.accessKeyId}
        return "AWS::IAM::AccessKey", f"{user}/accesskey/{key.accessKeyId}", details
    raise RejectedEvent(f"GuardDuty credentials of userType {key.userType!r} are not something Warden can revoke")


def _from_guardduty(event: dict) -> Finding:
    detail = parse(event=event, model=_GuardDutyEvent).detail
    details: dict[str, Any] = {}
    affected = {}
    if detail.service and detail.service.action and detail.service.action.awsApiCallAction:
        affected = detail.service.action.awsApiCallAction.affectedResources or {}
    if detail.type in ACCOUNT_LEVEL_GUARDDUTY_TYPES:
        resource_type, resource_arn = ACCOUNT_RESOURCE_TYPE, account_resource(detail.accountId)
    elif detail.resource.s3BucketDetails:
        resource_type, resource_arn = _bucket(detail.resource.s3BucketDetails[0].name, detail.region)
    elif "AWS::CloudTrail::Trail" in affected:
        try:
            trail = _TrailRef(name=affected["AWS::CloudTrail::Trail"]).name
        except ValidationError:
            raise RejectedEvent(
                "GuardDuty Finding event is malformed: detail.service.action.awsApiCallAction.affectedResources: "
                "not a valid trail"
            ) from None
        resource_type, resource_arn = _trail(trail, detail.region, detail.accountId)
    elif ":IAMUser/" in detail.type and detail.resource.accessKeyDetails and detail.resource.accessKeyDetails.userName:
        # IAMUser findings are about the credentials used: GuardDuty's resource type for them.
        resource_type, resource_arn, details = _credentials(detail.resource.accessKeyDetails, detail.accountId, detail.region)
    else:
        raise RejectedEvent(
            f"GuardDuty {detail.type}: detail.resource names no resource Warden can act on "
            f"(resourceType {detail.resource.resourceType!r})"
        )
    key = detail.resource.accessKeyDetails
    actor = f"{key.userType}:{key.userName}" if key and key.userName else None
    return Finding(
        id=f"guardduty:{detail.id}",
        source="guardduty",
        type=detail.type,
        account=detail.accountId,
        region=detail.region,
        resource_type=resource_type,
        resource_arn=resource_arn,
        actor=actor,
        time=detail.updatedAt.isoformat(),
        severity=_guardduty_severity(detail.severity),
        raw_ref=detail.arn or detail.id,
        details=details,
    )


# --- Security Hub (control findings, ASFF) --------------------------------------------------

SecurityHubProduct = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:securityhub:[a-z0-9-]+::product/aws/securityhub$")]
ControlId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{2,32}\.[0-9]{1,3}$")]


AsffRegion = Region  # ASFF names a field Region: the alias keeps the type reachable in the models


class _AsffResource(BaseModel):
    Type: ShortText
    Id: ShortText
    Region: AsffRegion | None = None


class _AsffCompliance(BaseModel):
    Status: Literal["PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"]
    SecurityControlId: ControlId | None = None  # absent in findings that predate consolidated controls


class _AsffSeverity(BaseModel):
    Label: Literal["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]


class _AsffWorkflow(BaseModel):
    Status: Literal["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"]


class _AsffFinding(BaseModel):
    Id: ShortText
    ProductArn: SecurityHubProduct
    GeneratorId: ShortText | None = None
    AwsAccountId: AccountId
    Region: AsffRegion | None = None
    UpdatedAt: datetime
    Severity: _AsffSeverity
    Compliance: _AsffCompliance
    Workflow: _AsffWorkflow | None = None
    RecordState: Literal["ACTIVE", "ARCHIVED"] = "ACTIVE"
    Resources: list[_AsffResource] = Field(min_length=1, max_length=32)


class _SecurityHubDetail(BaseModel):
    findings: list[_AsffFinding] = Field(min_length=1, max_length=100)


class _SecurityHubEvent(EventBridgeModel):
    detail: _SecurityHubDetail


# Findings from before consolidated control findings name the control per standard, in GeneratorId:
# "aws-foundational-security-best-practices/v/1.0.0/S3.8", "pci-dss/v/3.2.1/PCI.KMS.1",
# "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/2.8",
# "cis-aws-foundations-benchmark/v/1.4.0/3.8". (standard, version, id) -> the consolidated control,
# from AWS's control reference ("Related requirements"). Only the controls Warden acts on are listed.
LEGACY_CONTROLS: dict[tuple[str, str, str], str] = {
    **{("aws-foundational-security-best-practices", "1.0.0", c): c  # FSBP ids became the control ids
       for c in ("S3.1", "S3.2", "S3.3", "S3.8", "S3.17", "EC2.7", "KMS.3", "KMS.4", "SageMaker.1", "SageMaker.3", "IAM.1", "IAM.21")},
    ("pci-dss", "3.2.1", "PCI.S3.1"): "S3.3",
    ("pci-dss", "3.2.1", "PCI.S3.2"): "S3.2",
    ("pci-dss", "3.2.1", "PCI.S3.6"): "S3.1",
    ("pci-dss", "3.2.1", "PCI.KMS.1"): "KMS.4",
    ("pci-dss", "3.2.1", "PCI.IAM.3"): "IAM.1",
    ("pci-dss", "3.2.1", "PCI.SageMaker.1"): "SageMaker.1",
    ("cis-aws-foundations-benchmark", "1.2.0", "1.22"): "IAM.1",
    ("cis-aws-foundations-benchmark", "1.2.0", "2.8"): "KMS.4",
    ("cis-aws-foundations-benchmark", "1.4.0", "1.16"): "IAM.1",
    ("cis-aws-foundations-benchmark", "1.4.0", "2.2.1"): "EC2.7",
    ("cis-aws-foundations-benchmark", "1.4.0", "3.8"): "KMS.4",
}  # fmt: skip
_LEGACY_GENERATOR = re.compile(
    r"^(?:arn:aws[a-z-]*:securityhub:::ruleset/)?(?P<standard>[a-z0-9-]+)/v/(?P<version>[0-9.]+)/(?:rule/)?(?P<id>[A-Za-z0-9.]+)$"
)


def legacy_generator_id(standard: str, version: str, control: str) -> str:
    """The GeneratorId Security Hub gave a control's findings before consolidation."""
    if standard == "cis-aws-foundations-benchmark" and version == "1.2.0":
        return f"arn:aws:securityhub:::ruleset/{standard}/v/{version}/rule/{control}"
    return f"{standard}/v/{version}/{control}"


def legacy_control(generator_id: str | None) -> str | None:
    """The consolidated control a pre-consolidation finding's GeneratorId names, or None."""
    match = _LEGACY_GENERATOR.match(generator_id or "")
    return LEGACY_CONTROLS.get((match["standard"], match["version"], match["id"])) if match else None


def _last_part(arn: str) -> str:
    return re.split(r"[:/]", arn)[-1]


# ASFF resource type -> (the CloudFormation type Warden uses, locator from the ASFF Id).
SECURITY_HUB_RESOURCES: dict[str, tuple[str, Callable[[str, str, str], tuple[str, str]]]] = {
    "AwsS3Bucket": ("AWS::S3::Bucket", lambda rid, region, account: _bucket(_BucketRef(bucketName=rid.split(":::")[-1]).bucketName, region)),
    "AwsKmsKey": ("AWS::KMS::Key", lambda rid, region, account: _kms_key(_KeyRef(keyId=rid).keyId, region, account)),
    "AwsSageMakerNotebookInstance": ("AWS::SageMaker::NotebookInstance", lambda rid, region, account: _notebook(
        _NotebookRef(notebookInstanceName=_last_part(rid)).notebookInstanceName, region, account
    )),
    "AwsIamPolicy": ("AWS::IAM::Policy", lambda rid, region, account: ("AWS::IAM::Policy", _PolicyRef(policyArn=rid).policyArn)),
    "AwsAccount": (ACCOUNT_RESOURCE_TYPE, lambda rid, region, account: (ACCOUNT_RESOURCE_TYPE, account_resource(account))),
}


def _from_security_hub(event: dict) -> Finding:
    """A Security Hub control finding (FAILED, NEW, ACTIVE) -> Finding. Its Id is kept as raw_ref:
    Warden writes the outcome back to that finding (workflow status and a note)."""
    parsed = parse(event=event, model=_SecurityHubEvent)
    if len(parsed.detail.findings) != 1:
        raise RejectedEvent(
            f"Security Hub Findings - Imported event carries {len(parsed.detail.findings)} findings; "
            "Security Hub sends one per event"
        )
    asff = parsed.detail.findings[0]
    control = asff.Compliance.SecurityControlId or legacy_control(asff.GeneratorId)
    if control is None:
        raise RejectedEvent(
            f"Security Hub finding names no control Warden knows: no Compliance.SecurityControlId, and GeneratorId "
            f"{repr(asff.GeneratorId)[:100]} is not in its table of pre-consolidation control ids"
        )
    if asff.Compliance.Status != "FAILED" or asff.RecordState != "ACTIVE":
        raise RejectedEvent(
            f"Security Hub {control} finding is {asff.Compliance.Status}/{asff.RecordState}: only FAILED, ACTIVE is acted on"
        )
    if asff.Workflow and asff.Workflow.Status != "NEW":
        # Warden's own update sets NOTIFIED or RESOLVED; acting on it again would loop.
        raise RejectedEvent(f"Security Hub {control} finding is already {asff.Workflow.Status}: only NEW is acted on")
    resource = asff.Resources[0]
    known = SECURITY_HUB_RESOURCES.get(resource.Type)
    if known is None:
        raise RejectedEvent(f"Security Hub {control}: unsupported resource type {resource.Type!r}")
    region = resource.Region or asff.Region or parsed.region
    try:
        resource_type, resource_arn = known[1](resource.Id, region, asff.AwsAccountId)
    except ValidationError:
        raise RejectedEvent(
            f"Security Hub Findings - Imported event is malformed: detail.findings.Resources.Id: "
            f"{repr(resource.Id)[:60]} is not a valid {resource.Type} identifier"
        ) from None
    return Finding(
        id=f"securityhub:{parsed.id}",
        source="securityhub",
        type=control,
        account=asff.AwsAccountId,
        region=region,
        resource_type=resource_type,
        resource_arn=resource_arn,
        actor=None,  # a control finding does not say who changed the resource
        time=asff.UpdatedAt.isoformat(),
        severity="LOW" if asff.Severity.Label == "INFORMATIONAL" else asff.Severity.Label,
        raw_ref=asff.Id,
        details={} if asff.Compliance.SecurityControlId else {"legacy_generator_id": asff.GeneratorId},
    )


# --- Amazon Macie ----------------------------------------------------------------------------
# EventBridge "Macie Finding": the detail is the finding itself, as macie2 GetFindings returns it
# (https://docs.aws.amazon.com/macie/latest/user/findings-publish-event-schemas.html). A policy
# finding that recurs is published again with the same id and a higher count.

MacieFindingId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,128}$")]


class _MacieSeverity(BaseModel):
    description: Literal["Low", "Medium", "High"]


class _MacieBucket(BaseModel):
    name: BucketName


class _MacieResources(BaseModel):
    s3Bucket: _MacieBucket | None = None


class _MacieCaller(BaseModel):
    arn: ShortText | None = None


class _MacieIdentity(BaseModel):
    type: ShortText | None = None
    assumedRole: _MacieCaller | None = None
    iamUser: _MacieCaller | None = None
    federatedUser: _MacieCaller | None = None
    root: _MacieCaller | None = None


class _MacieActor(BaseModel):
    userIdentity: _MacieIdentity | None = None


class _MacieApiCall(BaseModel):
    firstSeen: datetime | None = None
    lastSeen: datetime | None = None


class _MacieAction(BaseModel):
    apiCallDetails: _MacieApiCall | None = None


class _MaciePolicyDetails(BaseModel):
    action: _MacieAction | None = None
    actor: _MacieActor | None = None


class _MacieDetail(BaseModel):
    id: MacieFindingId
    accountId: AccountId
    region: Region
    type: ShortText
    severity: _MacieSeverity
    createdAt: datetime
    updatedAt: datetime
    category: Literal["POLICY", "CLASSIFICATION"] | None = None
    count: int = Field(default=1, ge=1)
    sample: bool = False
    archived: bool = False
    resourcesAffected: _MacieResources
    policyDetails: _MaciePolicyDetails | None = None


class _MacieEvent(EventBridgeModel):
    detail: _MacieDetail


def _macie_actor(policy: _MaciePolicyDetails | None) -> str | None:
    identity = policy.actor.userIdentity if policy and policy.actor else None
    if identity is None:
        return None
    caller = identity.assumedRole or identity.iamUser or identity.federatedUser or identity.root
    return (caller.arn if caller else None) or identity.type


def _from_macie(event: dict) -> Finding:
    """A Macie finding about an S3 bucket -> Finding. `details` says since when Macie has seen the
    exposure (the first occurrence), how often, and whether Macie marked it a sample."""
    parsed = parse(event=event, model=_MacieEvent)
    detail = parsed.detail
    if detail.archived:
        raise RejectedEvent(f"Macie {detail.type} finding {detail.id} is archived: only active findings are acted on")
    bucket = detail.resourcesAffected.s3Bucket
    if bucket is None:
        raise RejectedEvent(f"Macie {detail.type}: detail.resourcesAffected.s3Bucket names no bucket")
    resource_type, resource_arn = _bucket(bucket.name, detail.region)
    api_call = detail.policyDetails.action.apiCallDetails if detail.policyDetails and detail.policyDetails.action else None
    first_seen = (api_call.firstSeen if api_call else None) or detail.createdAt
    last_seen = (api_call.lastSeen if api_call else None) or detail.updatedAt
    details: dict[str, Any] = {"occurrences": detail.count}
    if detail.category != "CLASSIFICATION":  # a policy finding: the change that exposed the bucket
        details["exposed_since"] = first_seen.isoformat()
    if detail.sample:
        details["sample"] = True
    return Finding(
        # The event id, not the finding id: each occurrence of a recurring policy finding is its own.
        id=f"macie:{parsed.id}",
        source="macie",
        type=detail.type,
        account=detail.accountId,
        region=detail.region,
        resource_type=resource_type,
        resource_arn=resource_arn,
        actor=_macie_actor(detail.policyDetails),
        time=last_seen.isoformat(),
        severity=detail.severity.description.upper(),
        raw_ref=detail.id,  # the Macie finding id (console, macie2 GetFindings)
        details=details,
    )


# --- CloudWatch alarms (abused API endpoints) --------------------------------------------------

ApiName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 ._-]{1,128}$")]
ApiId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{6,32}$")]
StageName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_$-]{1,128}$")]


class _AlarmMetric(BaseModel):
    namespace: ShortText
    name: ShortText
    dimensions: dict[ShortText, ShortText] = Field(default_factory=dict, max_length=30)


class _MetricStat(BaseModel):
    metric: _AlarmMetric


class _AlarmMetricQuery(BaseModel):
    metricStat: _MetricStat | None = None


class _AlarmConfiguration(BaseModel):
    metrics: list[_AlarmMetricQuery] = Field(min_length=1, max_length=20)


class _AlarmState(BaseModel):
    value: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    timestamp: datetime | None = None


class _AlarmDetail(BaseModel):
    alarmName: Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f]{1,255}$")]
    state: _AlarmState
    configuration: _AlarmConfiguration


class _AlarmEvent(EventBridgeModel):
    account: AccountId  # the alarm's account is the finding's (organization mode resolves it): checked as such
    detail: _AlarmDetail


class _RestStage(BaseModel):
    ApiName: ApiName
    Stage: StageName


class _HttpStage(BaseModel):
    ApiId: ApiId
    Stage: StageName


class _SageMakerEndpoint(BaseModel):
    EndpointName: NotebookName  # the same naming rule as notebook instances
    VariantName: NotebookName | None = None


def alarm_resource(namespace: str, dimensions: dict, region: str, account: str) -> tuple[str, str, dict]:
    """(resource type, ARN, details) of what an abuse alarm watches: an API Gateway stage or a SageMaker endpoint."""
    partition = partition_of(region)
    if namespace == "AWS/SageMaker":
        endpoint = _SageMakerEndpoint.model_validate(dimensions)
        arn = f"arn:{partition}:sagemaker:{region}:{account}:endpoint/{endpoint.EndpointName.lower()}"
        return "AWS::SageMaker::Endpoint", arn, {"endpoint_name": endpoint.EndpointName, "variant_name": endpoint.VariantName}
    if "ApiId" in dimensions:
        stage = _HttpStage.model_validate(dimensions)
        arn = f"arn:{partition}:apigateway:{region}::/apis/{stage.ApiId}/stages/{stage.Stage}"
        return "AWS::ApiGatewayV2::Stage", arn, {"api_id": stage.ApiId, "stage": stage.Stage}
    rest = _RestStage.model_validate(dimensions)
    # REST API metrics name the API, not its id: the remediation looks the id up.
    arn = f"arn:{partition}:apigateway:{region}::/restapis/by-name/{rest.ApiName}/stages/{rest.Stage}"
    return "AWS::ApiGateway::Stage", arn, {"api_name": rest.ApiName, "stage": rest.Stage}


def _from_alarm(event: dict) -> Finding:
    parsed = parse(event=event, model=_AlarmEvent)
    detail = parsed.detail
    if detail.state.value != "ALARM":
        raise RejectedEvent(f"alarm {detail.alarmName} is {detail.state.value}: only ALARM is acted on")
    metric = next((q.metricStat.metric for q in detail.configuration.metrics if q.metricStat), None)
    if metric is None or metric.namespace not in ("AWS/ApiGateway", "AWS/SageMaker"):
        raise RejectedEvent(f"alarm {detail.alarmName} does not watch an AWS/ApiGateway or AWS/SageMaker metric")
    region = parsed.region
    try:
        resource_type, resource_arn, details = alarm_resource(metric.namespace, metric.dimensions, region, parsed.account)
    except ValidationError as error:
        raise RejectedEvent(
            f"CloudWatch Alarm State Change event is malformed: detail.configuration.metrics.dimensions: {_describe(error)}"
        ) from None
    details["alarm_name"] = detail.alarmName
    return Finding(
        id=f"cloudwatch:{parsed.id}",
        source="cloudwatch",
        type=f"{metric.namespace}/{metric.name}",
        account=parsed.account,
        region=region,
        resource_type=resource_type,
        resource_arn=resource_arn,
        actor=None,  # an alarm does not say who sent the traffic
        time=(detail.state.timestamp or parsed.time).isoformat(),
        severity="HIGH",
        raw_ref=(parsed.resources or [detail.alarmName])[0],
        details=details,
    )


PARSERS: dict[str, Callable[[dict], Finding]] = {
    "AWS API Call via CloudTrail": _from_cloudtrail,
    "Config Rules Compliance Change": _from_config,
    "GuardDuty Finding": _from_guardduty,
    "CloudWatch Alarm State Change": _from_alarm,
    "Security Hub Findings - Imported": _from_security_hub,
    "Macie Finding": _from_macie,
}


def _describe(error: ValidationError, prefix: str = "") -> str:
    """Pydantic's errors as 'detail.eventTime: Field required; detail.requestParameters.bucketName:
    'x; curl' is not a valid value'. Offending input is quoted, escaped and cut short."""
    problems = []
    for item in error.errors()[:5]:
        location = prefix + ".".join(str(part) for part in item["loc"])
        if item["type"] == "string_pattern_mismatch":
            problems.append(f"{location}: {repr(item['input'])[:60]} is not a valid value")
        else:
            problems.append(f"{location}: {item['msg']}")
    return "; ".join(problems)


def _deeper_than(value: Any, limit: int) -> bool:
    """Iterative, so a hostile event cannot exhaust the stack while we measure it."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _aggregated_here(finding: Finding, envelope_account: Any) -> bool:
    """A Security Hub administrator receives its members' findings on its own default bus: the
    envelope is this stack's account, the finding names the member (organization mode; Triage then
    accepts it only for a guarded member). No one can put an aws.securityhub event on a bus."""
    return finding.source == "securityhub" and envelope_account == os.environ.get("WARDEN_ACCOUNT_ID")


def parse_finding(event: Any) -> Finding:
    """Turn one raw EventBridge event into a Finding, or raise RejectedEvent saying why not."""
    if not isinstance(event, dict):
        raise RejectedEvent(f"event must be a JSON object, got {type(event).__name__}")
    if _deeper_than(event, MAX_EVENT_DEPTH):  # first: json.dumps itself recurses
        raise RejectedEvent(f"event is nested more than {MAX_EVENT_DEPTH} levels deep")
    try:
        size = len(json.dumps(event))
    except (TypeError, ValueError) as error:
        raise RejectedEvent(f"event is not serialisable JSON: {error}") from None
    if size > MAX_EVENT_BYTES:
        raise RejectedEvent(f"event is {size} bytes, over EventBridge's {MAX_EVENT_BYTES}-byte limit")
    detail_type = event.get("detail-type")
    parser = PARSERS.get(detail_type) if isinstance(detail_type, str) else None
    if parser is None:
        raise RejectedEvent(
            f"unknown detail-type {str(detail_type)[:100]!r}; expected one of {sorted(PARSERS)}"
        )
    sample = sample_of(event)  # GuardDuty's "Generate sample findings": a wiring test, never acted on
    try:
        finding = parser(event)
    except (ValidationError, RejectedEvent) as error:
        if sample is None:
            if isinstance(error, RejectedEvent):
                raise
            raise RejectedEvent(f"{detail_type} event is malformed: {_describe(error)}") from None
        finding = _guardduty_sample(sample, event["detail"])  # its placeholders fail validation
    envelope_account = event.get("account")
    if envelope_account != finding.account and not _aggregated_here(finding, envelope_account):
        # EventBridge sets `account`; the detail is the source's claim. A mismatch is forged or relayed wrongly.
        raise RejectedEvent(
            f"the event's account {str(envelope_account)[:20]!r} is not the account its detail names "
            f"({finding.account}): Warden acts only on events whose envelope and detail agree"
        )
    if sample is not None:
        finding = replace(finding, details={**finding.details, "sample": True, "sample_reason": sample.why})
    if event.get("source") == SWEEP_SOURCE:
        finding = replace(finding, details={**finding.details, "found_by": "sweep"})
    return finding


def _score(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and 0 <= value <= 10 else 0.0


def _guardduty_sample(sample: Sample, detail: dict) -> Finding:
    """A GuardDuty sample whose placeholders (GeneratedFindingAccessKeyId, bucketName...) are not valid
    names: the Finding names what the sample names, only for the wiring test's message. Nothing is read."""
    resource = detail.get("resource") if isinstance(detail.get("resource"), dict) else {}
    key = resource.get("accessKeyDetails") if isinstance(resource.get("accessKeyDetails"), dict) else {}
    buckets = [b for b in resource.get("s3BucketDetails") or [] if isinstance(b, dict)]
    shown = lambda value: re.sub(r"[^\x21-\x7e]", "?", str(value))[:128]  # noqa: E731
    if sample.finding_type in ACCOUNT_LEVEL_GUARDDUTY_TYPES:
        resource_type, resource_arn = ACCOUNT_RESOURCE_TYPE, account_resource(sample.account)
    elif buckets:
        resource_type, resource_arn = "AWS::S3::Bucket", f"arn:aws:s3:::{shown(buckets[0].get('name'))}"
    elif key.get("userType") == "AssumedRole":
        resource_type, resource_arn = "AWS::IAM::Role", f"arn:aws:iam::{sample.account}:role/{shown(key.get('userName'))}"
    elif key:
        user = f"arn:aws:iam::{sample.account}:user/{shown(key.get('userName'))}"
        resource_type, resource_arn = "AWS::IAM::AccessKey", f"{user}/accesskey/{shown(key.get('accessKeyId'))}"
    else:
        # Nothing named: the sample finding's own ARN (an ARN, so the Finding stays well-formed), else the account
        arn = shown(sample.finding_id)
        resource_type, resource_arn = shown(resource.get("resourceType")), arn if arn.startswith("arn:") else account_resource(sample.account)
    return Finding(
        id=f"guardduty:{shown(detail.get('id'))}", source="guardduty", type=sample.finding_type, account=sample.account,
        region=sample.region, resource_type=resource_type, resource_arn=resource_arn, actor=None,
        time=shown(detail.get("updatedAt") or ""), severity=_guardduty_severity(_score(detail.get("severity"))), raw_ref=sample.finding_id,
    )  # fmt: skip
