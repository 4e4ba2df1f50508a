"""Security Hub ("Security Hub Findings - Imported"): a control finding, in ASFF.

Warden writes its outcome back to the finding (warden.securityhub), so the finding's Id is kept as raw_ref.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Callable, Literal

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from pydantic import Field, StringConstraints
from typing_extensions import Annotated

from warden.finding import ACCOUNT_RESOURCE_TYPE, Finding, account_resource
from warden.findings.base import AccountId, BaseModel, EventBridgeModel, Region, RejectedEvent, ShortText
from warden.findings.locators import (
    BucketRef,
    KeyRef,
    NotebookRef,
    PolicyRef,
    bucket_resource,
    kms_key_resource,
    notebook_resource,
)

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
    "AwsS3Bucket": ("AWS::S3::Bucket", lambda rid, region, account: bucket_resource(BucketRef(bucketName=rid.split(":::")[-1]).bucketName, region)),
    "AwsKmsKey": ("AWS::KMS::Key", lambda rid, region, account: kms_key_resource(KeyRef(keyId=rid).keyId, region, account)),
    "AwsSageMakerNotebookInstance": ("AWS::SageMaker::NotebookInstance", lambda rid, region, account: notebook_resource(
        NotebookRef(notebookInstanceName=_last_part(rid)).notebookInstanceName, region, account
    )),
    "AwsIamPolicy": ("AWS::IAM::Policy", lambda rid, region, account: ("AWS::IAM::Policy", PolicyRef(policyArn=rid).policyArn)),
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


PARSERS = {"Security Hub Findings - Imported": _from_security_hub}
