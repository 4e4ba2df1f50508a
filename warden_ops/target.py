"""Where the commands act: a deployed CloudFormation stack, or a running local twin."""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any, Protocol

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

# Answers of AWS that mean "your credentials are not usable", not "Warden refused".
_CREDENTIAL_CODES = {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "RequestExpired"}
_HOW = "configure AWS (`aws configure`, or AWS_PROFILE or --profile, and AWS_DEFAULT_REGION or --region)"


class AwsUnreachable(Exception):
    """AWS cannot be used as configured: no region, no credentials, an unknown profile, an expired
    session. The operator commands print it as one line and exit 3."""

    @classmethod
    def from_error(cls, error: Exception) -> "AwsUnreachable | None":
        if isinstance(error, NoRegionError):
            return cls(f"no AWS region: pass --region or set AWS_DEFAULT_REGION; {_HOW}")
        if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
            return cls(f"no AWS credentials found; {_HOW}")
        if isinstance(error, CredentialRetrievalError):
            return cls(f"could not get AWS credentials ({error}); {_HOW}")
        if isinstance(error, ProfileNotFound):
            return cls(f"{error}; {_HOW}")
        if isinstance(error, EndpointConnectionError):
            return cls(f"cannot reach AWS: {error}")
        if isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in _CREDENTIAL_CODES:
            return cls(f"AWS does not accept your credentials ({error.response['Error']['Code']}): renew the session or {_HOW}")
        return None


class Target(Protocol):
    def physical(self, logical_id: str) -> str: ...

    def client(self, service: str, config=None): ...

    def invoke(self, logical_id: str, payload: dict[str, Any]) -> dict[str, Any]: ...

    def caller(self) -> str | None: ...

    def library_session(self) -> boto3.session.Session | None: ...


class Stack:
    """A deployed Warden stack, found by name; its resources by logical id (template.yaml's names)."""

    def __init__(self, name: str = "warden", region: str | None = None, profile: str | None = None):
        self.name = name
        try:
            self.session = boto3.session.Session(region_name=region, profile_name=profile)
        except BotoCoreError as error:  # an unknown profile
            raise AwsUnreachable.from_error(error) or error from None
        # Checked before any call, so that a person without a region or credentials gets one line.
        if not self.session.region_name:
            raise AwsUnreachable(f"no AWS region: pass --region or set AWS_DEFAULT_REGION; {_HOW}")
        try:
            credentials = self.session.get_credentials()
        except BotoCoreError as error:  # a credential source that fails (SSO, a container endpoint)
            raise AwsUnreachable.from_error(error) or error from None
        if credentials is None:
            raise AwsUnreachable(f"no AWS credentials found; {_HOW}")

    def client(self, service: str, config=None):
        return self.session.client(service, config=config)

    @cached_property
    def _resources(self) -> dict[str, str]:
        paginator = self.client("cloudformation").get_paginator("list_stack_resources")
        return {
            summary["LogicalResourceId"]: summary["PhysicalResourceId"]
            for page in paginator.paginate(StackName=self.name)
            for summary in page["StackResourceSummaries"]
        }

    def physical(self, logical_id: str) -> str:
        try:
            return self._resources[logical_id]
        except KeyError:
            raise LookupError(f"stack {self.name!r} has no resource {logical_id!r}; is it a Warden stack of this version?") from None

    def invoke(self, logical_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        response = self.client("lambda").invoke(FunctionName=self.physical(logical_id), Payload=json.dumps(payload))
        body = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise RuntimeError(f"{logical_id} failed: {body.get('errorType')}: {body.get('errorMessage')}")
        return body

    def caller(self) -> str | None:
        return self.client("sts").get_caller_identity()["Arn"]

    def library_session(self) -> boto3.session.Session:
        """The session Warden's library uses when a command runs its code here (rollback): yours."""
        return self.session


class TwinTarget:
    """The local twin (local.twin.Twin), already running: the same commands, on moto."""

    def __init__(self, twin):
        self.twin = twin

    def physical(self, logical_id: str) -> str:
        return self.twin.physical[logical_id]

    def client(self, service: str, config=None):
        return self.twin.client(service, config=config)

    def invoke(self, logical_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self.twin.invoke(logical_id, payload)

    def caller(self) -> str | None:
        return self.twin.client("sts").get_caller_identity()["Arn"]

    def library_session(self) -> None:
        return None  # the library's own session: moto answers it, as it answers the twin
