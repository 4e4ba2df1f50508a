"""Amazon Macie ("Macie Finding"): a policy or sensitive-data finding about an S3 bucket.

EventBridge "Macie Finding": the detail is the finding itself, as macie2 GetFindings returns it
(https://docs.aws.amazon.com/macie/latest/user/findings-publish-event-schemas.html). A policy
finding that recurs is published again with the same id and a higher count.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser import parse
from pydantic import Field, StringConstraints
from typing_extensions import Annotated

from warden.finding import Finding
from warden.findings.base import AccountId, BaseModel, Caller, EventBridgeModel, NamedBucket, Region, RejectedEvent, ShortText
from warden.findings.locators import bucket_resource

MacieFindingId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,128}$")]


class _MacieSeverity(BaseModel):
    description: Literal["Low", "Medium", "High"]


class _MacieResources(BaseModel):
    s3Bucket: NamedBucket | None = None


class _MacieIdentity(BaseModel):
    type: ShortText | None = None
    assumedRole: Caller | None = None
    iamUser: Caller | None = None
    federatedUser: Caller | None = None
    root: Caller | None = None


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
    resource_type, resource_arn = bucket_resource(bucket.name, detail.region)
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


PARSERS = {"Macie Finding": _from_macie}
