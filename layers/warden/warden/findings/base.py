"""What every source's parser shares: deferred pydantic models, the validated field types, and
`RejectedEvent`, whose message names what was wrong with the event."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser import ValidationError
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel as PowertoolsEventBridgeModel
from pydantic import BaseModel as PydanticBaseModel
from pydantic import ConfigDict, StringConstraints
from typing_extensions import Annotated


# Every model below is built on its first use, not at import: a Triage cold start then builds only the
# models of the one event it parses (about half of the parser's import CPU otherwise).
class BaseModel(PydanticBaseModel):
    model_config = ConfigDict(defer_build=True)


class EventBridgeModel(PowertoolsEventBridgeModel):
    model_config = ConfigDict(defer_build=True)


AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]  # not \d: that admits any Unicode digit
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$")]
# Bucket names as S3 allows them; anything else is hostile or garbage: it is rejected, and the
# rejection quotes it only escaped (repr) and cut to 60 characters.
BucketName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")]
ShortText = Annotated[str, StringConstraints(max_length=2048)]


class RejectedEvent(ValueError):
    """The event is malformed, truncated, unknown or hostile. The message says why."""


class Caller(BaseModel):
    """A principal as a source names it (CloudTrail's session issuer, Macie's identities): its ARN, if any."""

    arn: ShortText | None = None


class NamedBucket(BaseModel):
    """A bucket as GuardDuty and Macie name it."""

    name: BucketName


def describe(error: ValidationError, prefix: str = "") -> str:
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
