"""GuardDuty ("GuardDuty Finding"): a threat finding about a bucket, a trail, or credentials in use.

GuardDuty's "Generate sample findings" are wiring tests (warden.samples): `sample_finding` names what a
sample names even where its placeholders fail validation, and nothing is acted on.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from pydantic import Field, StringConstraints
from typing_extensions import Annotated

from warden.finding import ACCOUNT_RESOURCE_TYPE, Finding, account_resource, partition_of
from warden.findings.base import AccountId, BaseModel, EventBridgeModel, NamedBucket, Region, RejectedEvent, ShortText
from warden.findings.locators import IamName, TrailRef, bucket_resource, iam_principal, trail_resource
from warden.samples import Sample

AccessKeyId = Annotated[str, StringConstraints(pattern=r"^(AKIA|ASIA)[A-Z0-9]{12,124}$")]
ACCOUNT_LEVEL_GUARDDUTY_TYPES = frozenset({"Policy:S3/AccountBlockPublicAccessDisabled"})


class _AccessKeyDetails(BaseModel):
    accessKeyId: AccessKeyId | None = None
    userName: IamName | None = None
    userType: ShortText | None = None


class _GuardDutyResource(BaseModel):
    resourceType: ShortText
    s3BucketDetails: list[NamedBucket] | None = Field(default=None, max_length=100)
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
        resource_type, resource_arn = bucket_resource(detail.resource.s3BucketDetails[0].name, detail.region)
    elif "AWS::CloudTrail::Trail" in affected:
        try:
            trail = TrailRef(name=affected["AWS::CloudTrail::Trail"]).name
        except ValidationError:
            raise RejectedEvent(
                "GuardDuty Finding event is malformed: detail.service.action.awsApiCallAction.affectedResources: "
                "not a valid trail"
            ) from None
        resource_type, resource_arn = trail_resource(trail, detail.region, detail.accountId)
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


PARSERS = {"GuardDuty Finding": _from_guardduty}


def _score(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and 0 <= value <= 10 else 0.0


def sample_finding(sample: Sample, detail: dict) -> Finding:
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
