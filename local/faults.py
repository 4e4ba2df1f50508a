"""Record and break AWS API calls on moto: least-privilege evidence and fault injection.

    with record_api_calls() as calls:          # every call any boto3 client makes, with its IAM action
        remediation.snapshot(finding, aws)
    {call.action for call in calls}            # e.g. {"s3:GetBucketPolicy", "s3:GetAccountPublicAccessBlock"}

    with attribute_calls_to_functions(twin):   # on the twin: which Warden function made each call
        ...                                    # call.function == "S3PublicAccessFunction"

    with inject(Fault("s3", "PutPublicAccessBlock", throttling("s3"), times=1)) as fault:
        twin.send(event)                       # the first PutPublicAccessBlock is throttled
    fault.hits                                 # how many requests the fault answered

Recording uses botocore's own event hooks: a `provide-client-params` handler (emitted once per
call, with the caller's parameters) on every client created while recording (warden.aws caches clients, so the cache is cleared on entry and exit). Faults answer
at the wire, in place of moto's response, so botocore's retry logic sees exactly what it would
see from AWS (status, error code, protocol-specific body) and retries or raises as it would.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from unittest import mock

import botocore.session
from botocore.awsrequest import AWSResponse

# --- operation -> IAM action -----------------------------------------------------------------

# botocore service names whose IAM prefix differs from the name.
IAM_PREFIXES = {"s3control": "s3"}

# Operations whose IAM action is not "<prefix>:<OperationName>" (AWS Service Authorization
# Reference, "Actions defined by Amazon S3"). Everything else maps to its own name.
IAM_ACTIONS = {
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "DeletePublicAccessBlock"): "s3:PutBucketPublicAccessBlock",  # S3 authorizes the delete with Put
    ("s3", "DeleteBucketTagging"): "s3:PutBucketTagging",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "DeleteBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    ("s3control", "PutPublicAccessBlock"): "s3:PutAccountPublicAccessBlock",
    ("s3control", "DeletePublicAccessBlock"): "s3:PutAccountPublicAccessBlock",
}


# Services whose IAM actions are the HTTP method of the call (apigateway:GET, apigateway:PATCH...),
# on a resource named by the request path (arn:aws:apigateway:<region>::/restapis/<id>/stages/<name>).
HTTP_VERB_SERVICES = {"apigateway": "apigateway", "apigatewayv2": "apigateway"}


def iam_action(service: str, operation: str, http_method: str | None = None) -> str:
    """The IAM action AWS checks for one API operation of a botocore service."""
    if service in HTTP_VERB_SERVICES and http_method:
        return f"{HTTP_VERB_SERVICES[service]}:{http_method}"
    return IAM_ACTIONS.get((service, operation), f"{IAM_PREFIXES.get(service, service)}:{operation}")


def _request_path(model, params: dict) -> str:
    """The request URI of a REST call with its path parameters filled in (no query string)."""
    path = model.http.get("requestUri", "/").split("?", 1)[0]
    shape = model.input_shape
    for name, member in (shape.members.items() if shape is not None else ()):
        if member.serialization.get("location") == "uri" and name in params:
            label = member.serialization.get("name", name)
            path = path.replace("{%s}" % label, str(params[name])).replace("{%s+}" % label, str(params[name]))
    return path


# TransactWriteItems' item kinds and the action IAM authorizes each against.
TRANSACTION_ACTIONS = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem", "ConditionCheck": "dynamodb:ConditionCheckItem"}

@dataclass(frozen=True)
class ApiCall:
    service: str  # botocore service name, e.g. "s3control"
    operation: str  # API operation, e.g. "PutPublicAccessBlock"
    params: dict[str, Any] = field(compare=False, repr=False)
    region: str | None = None
    function: str | None = None  # the Warden function (template logical id) that made it, on the twin
    http_method: str | None = None
    http_path: str | None = None
    # The access key the client was created with, when explicit: an assumed role's session (organization
    # mode's spoke roles, warden.aws); None for the function's own role
    access_key: str | None = field(default=None, compare=False, repr=False)

    @property
    def action(self) -> str:
        return iam_action(self.service, self.operation, self.http_method)

    def resource(self, account: str, partition: str = "aws", iam_paths: dict[tuple[str, str], str] | None = None) -> str | None:
        """The ARN IAM authorizes the call against, for the services Warden calls; None = unknown.
        `iam_paths` maps ("role"|"user"|"group", name) to the principal's path, which IAM's ARN holds."""
        params, region = self.params, self.region
        if self.service in _RESOURCES:
            return _RESOURCES[self.service](self, account, partition, region, iam_paths or {})
        if self.service == "s3":
            return f"arn:{partition}:s3:::{params['Bucket']}" if "Bucket" in params else "*"
        if self.service == "s3control":
            return "*"  # account-level public access block: no resource type exists
        if self.service == "macie2":
            return "*"  # Macie findings are no IAM resource type
        if self.service == "dynamodb" and "TableName" in params:
            table = f"arn:{partition}:dynamodb:{region}:{account}:table/{params['TableName']}"
            return f"{table}/index/{params['IndexName']}" if "IndexName" in params else table
        if self.service == "dynamodb" and self.operation == "BatchGetItem":
            tables = set(params.get("RequestItems", {}))
            return f"arn:{partition}:dynamodb:{region}:{account}:table/{tables.pop()}" if len(tables) == 1 else None
        if self.service == "sns" and "TopicArn" in params:
            return params["TopicArn"]
        if self.service == "securityhub" and self.operation == "BatchUpdateFindings":
            return f"arn:{partition}:securityhub:{region}:{account}:hub/default"
        if self.service == "securityhub" and self.operation == "BatchImportFindings":
            products = {f.get("ProductArn") for f in params.get("Findings", [])}
            return products.pop() if len(products) == 1 else None  # the product it imports as
        if self.service in HTTP_VERB_SERVICES and self.http_path:
            path = self.http_path.removeprefix("/v2") if self.service == "apigatewayv2" else self.http_path
            return f"arn:{partition}:apigateway:{region}::{path}"  # v2's /v2/apis/... is authorized as /apis/...
        return None


    def authorized_as(self, account: str, partition: str = "aws", iam_paths: dict[tuple[str, str], str] | None = None) -> list[tuple[str, str | None]]:
        """(action, resource) for each authorization IAM makes for this call: one, except for
        TransactWriteItems, which has no IAM action of its own: each item is authorized as its own write
        (DynamoDB developer guide, "Using IAM with DynamoDB transactions")."""
        if self.action == "dynamodb:TransactWriteItems":
            return [
                (TRANSACTION_ACTIONS[kind], f"arn:{partition}:dynamodb:{self.region}:{account}:table/{item['TableName']}")
                for entry in self.params.get("TransactItems", [])
                for kind, item in entry.items()
            ]
        return [(self.action, self.resource(account, partition, iam_paths))]

    def condition_context(self, principal_arn: str | None = None) -> dict[str, Any]:
        """The condition keys AWS sets for this request that Warden's policies test."""
        context: dict[str, Any] = {"aws:PrincipalArn": principal_arn} if principal_arn else {}
        keys = _CONDITION_KEYS.get((self.service, self.operation))
        return {**context, **keys(self.params)} if keys else context


def _iam_arn(kind: str, name: str, account: str, partition: str, paths: dict) -> str:
    return f"arn:{partition}:iam::{account}:{kind}{paths.get((kind, name), '/')}{name}"


def _iam_resource(call: ApiCall, account: str, partition: str, region: str, paths: dict) -> str | None:
    p = call.params
    if call.operation == "ListPolicies":
        return "*"  # no resource-level scoping exists for it
    # Attaching or detaching a policy is authorized on the principal (the policy is the iam:PolicyARN key).
    for kind, key in (("role", "RoleName"), ("user", "UserName"), ("group", "GroupName")):
        if key in p:
            return _iam_arn(kind, p[key], account, partition, paths)
    return p.get("PolicyArn")


def _kms_key(call: ApiCall, account: str, partition: str, region: str, _paths: dict) -> str | None:
    key = call.params.get("KeyId")
    if not key:
        return None
    if key.startswith("arn:"):
        return key
    return f"arn:{partition}:kms:{region}:{account}:{key if key.startswith('alias/') else 'key/' + key}"


def _queue(call: ApiCall, account: str, partition: str, region: str, _paths: dict) -> str | None:
    url = call.params.get("QueueUrl", "")  # https://sqs.<region>.amazonaws.com/<account>/<name>
    parts = url.rstrip("/").split("/")
    return f"arn:{partition}:sqs:{region}:{parts[-2]}:{parts[-1]}" if len(parts) >= 2 and url else None


def _trail(call: ApiCall, account: str, partition: str, region: str, _paths: dict) -> str | None:
    name = call.params.get("Name") or (call.params.get("ResourceIdList") or [None])[0]
    if not name:
        return None
    return name if name.startswith("arn:") else f"arn:{partition}:cloudtrail:{region}:{account}:trail/{name}"


def _sagemaker(call: ApiCall, account: str, partition: str, region: str, _paths: dict) -> str | None:
    p = call.params
    if "ResourceArn" in p:
        return p["ResourceArn"]
    # SageMaker's ARNs hold the name in lower case
    if "NotebookInstanceName" in p:
        return f"arn:{partition}:sagemaker:{region}:{account}:notebook-instance/{p['NotebookInstanceName'].lower()}"
    for key, kind in (("EndpointName", "endpoint"), ("EndpointConfigName", "endpoint-config"), ("ModelName", "model")):
        if key in p:
            return f"arn:{partition}:sagemaker:{region}:{account}:{kind}/{p[key].lower()}"
    return None


def _alarm(call: ApiCall, account: str, partition: str, region: str, _paths: dict) -> str | None:
    names = call.params.get("AlarmNames") or []
    return f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{names[0]}" if len(names) == 1 else None


def _parameter(call: ApiCall, account: str, partition: str, region: str, _paths: dict) -> str | None:
    name = call.params.get("Name")
    if not name:
        return None
    return name if name.startswith("arn:") else f"arn:{partition}:ssm:{region}:{account}:parameter{'' if name.startswith('/') else '/'}{name}"


# botocore service -> the resource ARN of its calls (services with account-level calls only answer "*")
_RESOURCES = {
    "iam": _iam_resource,
    "kms": _kms_key,
    "sqs": _queue,
    "cloudtrail": _trail,
    "sagemaker": _sagemaker,
    "cloudwatch": _alarm,
    "ssm": _parameter,
    "stepfunctions": lambda call, *_: call.params.get("executionArn"),  # Notify reads the history after a Triage failure
    "sts": lambda call, *_: call.params.get("RoleArn"),
    "ec2": lambda *_: "*",  # EBS encryption by default: a regional account setting, no resource type
    "config": lambda *_: "*",  # GetResourceConfigHistory supports no resource-level scoping
    "bedrock": lambda call, *_: "*" if "ModelInvocationLoggingConfiguration" in call.operation else None,  # a regional setting
    "guardduty": lambda call, account, partition, region, _: (
        f"arn:{partition}:guardduty:{region}:{account}:detector/{call.params['DetectorId']}" if "DetectorId" in call.params else None
    ),
}
_RESOURCES["sns"] = lambda call, *_: call.params.get("TopicArn") or call.params.get("ResourceArn")

# (service, operation) -> the service-specific condition keys of that request Warden's policies test
_CONDITION_KEYS = {
    ("securityhub", "BatchUpdateFindings"): lambda p: {
        "securityhub:ASFFSyntaxPath/Workflow.Status": [(p.get("Workflow") or {}).get("Status")] if p.get("Workflow") else None
    },
    **{
        ("iam", f"{verb}{kind}Policy"): (lambda p: {"iam:PolicyARN": p.get("PolicyArn")})
        for verb in ("Attach", "Detach")
        for kind in ("Role", "User", "Group")
    },
}


_context = threading.local()  # which Warden function the current thread is running, on the twin


@contextmanager
def record_api_calls() -> Iterator[list[ApiCall]]:
    """Every API call made by any botocore client created inside the block (one per call, not
    per retry attempt), in order."""
    from warden.aws import reset_clients

    calls: list[ApiCall] = []
    lock = threading.Lock()
    create_client = botocore.session.Session.create_client

    def recording_create_client(self, *args, **kwargs):
        client = create_client(self, *args, **kwargs)

        def before_call(model, params, **_):  # returns None: the parameters are left as they are
            call = ApiCall(
                service=model.service_model.service_name,
                operation=model.name,
                params=params,
                region=client.meta.region_name,
                function=getattr(_context, "function", None),
                http_method=model.http.get("method"),
                http_path=_request_path(model, params),
                access_key=kwargs.get("aws_access_key_id"),
            )
            with lock:
                calls.append(call)

        client.meta.events.register("provide-client-params", before_call)
        return client

    reset_clients()
    try:
        with mock.patch.object(botocore.session.Session, "create_client", recording_create_client):
            yield calls
    finally:
        reset_clients()


@contextmanager
def attribute_calls_to_functions(twin) -> Iterator[None]:
    """While active, calls made inside a Warden handler on `twin` carry that function's logical id."""
    invoke = twin._invoke

    def invoke_as(function, event=None):
        _context.function = twin.functions[function.function_name]["logical"]
        try:
            return invoke(function, event)
        finally:
            _context.function = None

    twin._invoke = invoke_as
    try:
        yield
    finally:
        twin._invoke = invoke


# --- what a role allows -------------------------------------------------------------------------


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def allowed(statements: list[dict], action: str, resource: str | None, context: dict[str, Any] | None = None) -> bool:
    """With a request `context` (condition keys): True when AWS would allow `action` on `resource`
    under these statements, Deny and conditions included (local.iam_policy). Without one: True when
    an Allow statement's action and resource match, its conditions and the Deny statements unread
    (a caller that knows no condition keys checks those itself). `resource` None: on some resource."""
    from local.iam_policy import ALLOWED, decide, wildcard_match

    if context is not None and resource is not None:
        return decide(statements, action, resource, context) == ALLOWED
    return any(
        s.get("Effect") == "Allow"
        and any(wildcard_match(a, action, ignore_case=True) for a in _as_list(s.get("Action", [])))
        and (resource is None or any(wildcard_match(r, resource) for r in _as_list(s.get("Resource", []))))
        for s in statements
    )


def role_statements(twin, logical_id: str) -> list[dict]:
    """The inline policy statements the twin deployed for one function (conditions resolved), and
    the key policy statements that name its role (a key policy alone can grant a role access)."""
    spec = twin.template["Resources"][logical_id]["Properties"]
    statements = [s for policy in twin._resolve(spec.get("Policies", [])) if isinstance(policy, dict) for s in policy.get("Statement", [])]
    role_arn = twin.attributes[(f"{logical_id}Role", "Arn")]
    for key, key_spec in twin._resources("AWS::KMS::Key").items():
        for statement in twin._resolve(key_spec["Properties"]["KeyPolicy"])["Statement"]:
            principals = statement.get("Principal", {})
            if isinstance(principals, dict) and role_arn in _as_list(principals.get("AWS", [])):
                statements.append({**statement, "Resource": twin.attributes[(key, "Arn")]})
    return statements


# --- faults --------------------------------------------------------------------------------------


@dataclass
class Error:
    """An AWS error response: HTTP status, error code, message."""

    status: int
    code: str
    message: str


def throttling(service: str) -> Error:
    """The error each service really answers when it throttles."""
    return {
        "s3": Error(503, "SlowDown", "Please reduce your request rate."),
        "s3control": Error(503, "SlowDown", "Please reduce your request rate."),
        "dynamodb": Error(400, "ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded."),
        "sns": Error(429, "Throttled", "Rate exceeded"),  # not retried by botocore: the workflow retries
    }.get(service, Error(400, "ThrottlingException", "Rate exceeded"))


def access_denied(service: str) -> Error:
    if service in ("s3", "s3control"):
        return Error(403, "AccessDenied", "Access Denied")
    if service == "sns":
        return Error(403, "AuthorizationError", "User is not authorized to perform: SNS:Publish")
    return Error(400, "AccessDeniedException", "User is not authorized to perform this action")


@dataclass
class Fault:
    """Answer `times` requests for service.operation with `error` (None: every one), after letting
    the first `after` through.
    `before` runs instead, or as well, just before the matching request reaches moto (e.g. to
    delete the resource at that moment); with error None the request then proceeds."""

    service: str
    operation: str
    error: Error | None = None
    times: int | None = 1
    before: Callable[[], None] | None = None
    after: int = 0  # let this many matching requests through untouched first
    hits: int = 0  # requests that matched (and were answered with the error, when there is one)
    requests: int = 0  # matching requests seen, including those passed on to moto

    def __post_init__(self) -> None:
        model = botocore.session.get_session().get_service_model(self.service)
        self._event = f"before-send.{model.service_id.hyphenize()}.{self.operation}"
        self._protocol = model.protocol

    def _matches(self, event_name: str) -> bool:
        return event_name == self._event

    def _answer(self, request) -> AWSResponse | None:
        self.requests += 1
        if self.requests <= self.after or (self.times is not None and self.hits >= self.times):
            return None
        self.hits += 1
        if self.before is not None:
            self.before()
        if self.error is None:
            return None
        return _error_response(request.url, self._protocol, self.error)


def _error_response(url: str, protocol: str, error: Error) -> AWSResponse:
    from moto.core.botocore_stubber import MockRawResponse

    headers = {"x-amzn-RequestId": "fault-injected", "x-amz-request-id": "fault-injected"}
    if protocol in ("json", "rest-json"):
        headers["Content-Type"] = "application/x-amz-json-1.0"
        headers["x-amzn-ErrorType"] = error.code
        body = json.dumps({"__type": error.code, "message": error.message})
    elif protocol == "rest-xml":
        headers["Content-Type"] = "application/xml"
        body = f"<Error><Code>{error.code}</Code><Message>{error.message}</Message></Error>"
    else:  # query (SNS, STS, IAM) and ec2
        headers["Content-Type"] = "text/xml"
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{error.code}</Code><Message>{error.message}</Message></Error>"
            "<RequestId>fault-injected</RequestId></ErrorResponse>"
        )
    return AWSResponse(url, error.status, headers, MockRawResponse(body))


@contextmanager
def inject(*faults: Fault) -> Iterator[Fault | tuple[Fault, ...]]:
    """Install faults in front of moto for the duration of the block (works with the twin and
    with plain mock_aws). Yields the fault, or the tuple of faults."""
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.__call__

    def answer(self, event_name, request, **kwargs):
        for fault in faults:
            if fault._matches(event_name):
                response = fault._answer(request)
                if response is not None:
                    return response
        return original(self, event_name, request, **kwargs)

    with mock.patch.object(BotocoreStubber, "__call__", answer):
        yield faults[0] if len(faults) == 1 else faults


@contextmanager
def without_backoff() -> Iterator[list[tuple[str, float]]]:
    """Skip the waits between retries, botocore's (standard mode's exponential backoff) and the
    workflow's (moto's Retry interpreter), and list what each would have waited:
    ("botocore", seconds) or ("workflow", seconds). Retry counts and outcomes are unchanged."""
    from botocore.retries.standard import ExponentialBackoff
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    waits: list[tuple[str, float]] = []
    delay_amount = ExponentialBackoff.delay_amount

    def no_delay(self, context):
        waits.append(("botocore", delay_amount(self, context)))
        return 0

    class _Time:
        @staticmethod
        def sleep(seconds: float) -> None:
            waits.append(("workflow", seconds))

    with mock.patch.object(ExponentialBackoff, "delay_amount", no_delay), mock.patch.object(retrier_decl, "time", _Time):
        yield waits


__all__ = [
    "ApiCall",
    "Error",
    "Fault",
    "access_denied",
    "allowed",
    "attribute_calls_to_functions",
    "iam_action",
    "inject",
    "record_api_calls",
    "role_statements",
    "throttling",
    "without_backoff",
]
