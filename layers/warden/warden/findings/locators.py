"""Resource locators: how the sources name a resource, per resource type, and the ARN Warden gives it.

Every identifier is validated before it reaches an ARN, an API call or a message. The locators here are
the ones several sources share; what only one source reads (CloudTrail's request parameters, Config's
resource ids, ASFF's resource types) stays with that source.
"""

from __future__ import annotations

from pydantic import StringConstraints
from typing_extensions import Annotated

from warden.finding import partition_of
from warden.findings.base import BaseModel, BucketName

KmsKeyId = Annotated[str, StringConstraints(pattern=r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")]
KmsKeyArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{32,40}$")]
TrailName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$")]
TrailArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:[0-9]{12}:trail/[A-Za-z0-9._-]{3,128}$")]
# Notebook instances, endpoints, endpoint configs and models: SageMaker's one naming rule.
SageMakerName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")]
IamName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+=,.@-]{1,128}$")]
PolicyArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,128}$")]


class BucketRef(BaseModel):
    bucketName: BucketName


class KeyRef(BaseModel):
    keyId: KmsKeyArn | KmsKeyId


class TrailRef(BaseModel):
    name: TrailArn | TrailName


class NotebookRef(BaseModel):
    notebookInstanceName: SageMakerName


class PolicyRef(BaseModel):
    policyArn: PolicyArn


class SageMakerRef(BaseModel):
    notebookInstanceName: SageMakerName | None = None
    endpointConfigName: SageMakerName | None = None
    modelName: SageMakerName | None = None


def bucket_resource(name: str, region: str) -> tuple[str, str]:
    return "AWS::S3::Bucket", f"arn:{partition_of(region)}:s3:::{name}"


def kms_key_resource(key: str, region: str, account: str) -> tuple[str, str]:
    arn = key if key.startswith("arn:") else f"arn:{partition_of(region)}:kms:{region}:{account}:key/{key}"
    return "AWS::KMS::Key", arn


def trail_resource(name: str, region: str, account: str) -> tuple[str, str]:
    arn = name if name.startswith("arn:") else f"arn:{partition_of(region)}:cloudtrail:{region}:{account}:trail/{name}"
    return "AWS::CloudTrail::Trail", arn


def notebook_resource(name: str, region: str, account: str) -> tuple[str, str]:
    return "AWS::SageMaker::NotebookInstance", sagemaker_arn("notebook-instance", name, region, account)


def sagemaker_arn(kind: str, name: str, region: str, account: str) -> str:
    # SageMaker ARNs carry the name in lower case.
    return f"arn:{partition_of(region)}:sagemaker:{region}:{account}:{kind}/{name.lower()}"


def iam_principal(kind: str, name: str, account: str, region: str = "us-east-1") -> str:
    return f"arn:{partition_of(region)}:iam::{account}:{kind}/{name}"
