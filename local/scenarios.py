"""Scenarios the demo and the end-to-end tests set up on the twin, with ordinary boto3 calls."""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, field
from typing import Any, Callable
from unittest import mock

from moto.moto_api._internal import mock_random as moto_random

ACCOUNT = "123456789012"
TRAINING_BUCKET = "ml-training-data-prod"
EXEMPT_BUCKET = "public-model-cards"
OWNER_ID = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"

TRAINING_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {  # the exposure: anyone can download the training data
            "Sid": "PublicReadForSharing",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{TRAINING_BUCKET}/*",
        },
        {  # unrelated and legitimate: the training role reads the data
            "Sid": "TrainingJobsRead",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/SageMakerTrainingRole"},
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{TRAINING_BUCKET}", f"arn:aws:s3:::{TRAINING_BUCKET}/*"],
        },
        {  # "*" but only through the VPC endpoint: not public, must stay
            "Sid": "VpcEndpointOnly",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{TRAINING_BUCKET}/*",
            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f67890"}},
        },
    ],
}
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def public_training_bucket(s3, name: str = TRAINING_BUCKET) -> None:
    """A training-data bucket made public three ways: policy, ACL and no Block Public Access."""
    s3.create_bucket(Bucket=name)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "data-classification", "Value": "training"}]})
    s3.put_object(Bucket=name, Key="datasets/2026-11/part-0000.parquet", Body=b"PAR1 training rows")
    policy = json.loads(json.dumps(TRAINING_POLICY).replace(TRAINING_BUCKET, name))
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    acl = s3.get_bucket_acl(Bucket=name)
    s3.put_bucket_acl(
        Bucket=name,
        AccessControlPolicy={
            "Owner": acl["Owner"],
            "Grants": acl["Grants"] + [{"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"}],
        },
    )


STACK = "ml-data-platform"  # the CloudFormation stack that owns STACK_BUCKET
STACK_BUCKET = "ml-curated-data"
STACK_LOGICAL_ID = "CuratedDataBucket"


def system_tags(s3, bucket: str, tags: dict[str, str], account: str = ACCOUNT) -> None:
    """Tags only AWS writes (aws:cloudformation:*), added where moto keeps bucket tags: the API
    refuses aws: keys from anyone else, as S3 does."""
    from moto.s3.models import s3_backends

    backend = s3_backends[account]["aws"]
    current = {t["Key"]: t["Value"] for t in backend.get_bucket_tagging(bucket)["Tags"]}
    backend.put_bucket_tagging(bucket, {**current, **tags})


def stack_owned_public_bucket(s3, stack: str = STACK, logical_id: str = STACK_LOGICAL_ID, name: str = STACK_BUCKET) -> None:
    """A bucket CloudFormation created (its system tags name the stack), made public like the training bucket."""
    public_training_bucket(s3, name)
    system_tags(s3, name, {
        "aws:cloudformation:stack-name": stack,
        "aws:cloudformation:logical-id": logical_id,
        "aws:cloudformation:stack-id": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack}/0d7e4f10-0000-4000-8000-000000000001",
    })  # fmt: skip


PARTNER_BUCKET = "ml-partner-exchange"
PARTNER_ACCOUNT = "210987654321"
PARTNER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {  # shared with a partner's account on purpose: not public, and Warden must not touch it
            "Sid": "PartnerReadsExchange",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{PARTNER_ACCOUNT}:root"},
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{PARTNER_BUCKET}", f"arn:aws:s3:::{PARTNER_BUCKET}/*"],
        }
    ],
}


def partner_shared_bucket(s3, name: str = PARTNER_BUCKET) -> None:
    """A bucket shared with another AWS account (what Macie calls shared externally), not public,
    without Block Public Access."""
    s3.create_bucket(Bucket=name)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "data-classification", "Value": "partner-share"}]})
    s3.put_object(Bucket=name, Key="exchange/labels-2026-11.csv", Body=b"id,label")
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(PARTNER_POLICY).replace(PARTNER_BUCKET, name))


def macie_found_sensitive_data(finding: dict, bucket: str = TRAINING_BUCKET, days_ago: float = 2, **changes) -> dict:
    """Macie holds this sensitive-data finding (a Macie Finding event's detail), retold about `bucket`
    and dated `days_ago` days before now. Macie writes findings itself, so the twin puts it where
    local/moto_macie.py keeps them."""
    from datetime import datetime, timedelta, timezone

    from local import moto_macie

    when = (datetime.now(timezone.utc) - timedelta(days=days_ago)).isoformat(timespec="seconds").replace("+00:00", "Z")
    held = json.loads(json.dumps(finding).replace(finding["resourcesAffected"]["s3Bucket"]["name"], bucket))
    held.update(createdAt=when, updatedAt=when, **changes)
    moto_macie.holds(moto_macie.backend(held["accountId"], held["region"]), [held])
    return held


def exempt_website_bucket(s3, tag_key: str = "warden:exempt", name: str = EXEMPT_BUCKET) -> None:
    """A bucket that is public on purpose (a static site of model cards) and tagged exempt."""
    s3.create_bucket(Bucket=name)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": tag_key, "Value": "public model cards website"}]})
    s3.put_bucket_policy(
        Bucket=name,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "WebsiteRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}
                ],
            }
        ),
    )


def account_block_off(s3control, account: str = ACCOUNT) -> None:
    s3control.put_public_access_block(
        AccountId=account,
        PublicAccessBlockConfiguration={s: False for s in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")},
    )


# --- encryption and logging (fixed key ids, so event files and parameters can name them) -------

REGION = "us-east-1"
KEYS = {
    "training-data-key": "1a2b3c4d-0000-4000-8000-00000000a001",  # disabled by someone
    "feature-store-key": "1a2b3c4d-0000-4000-8000-00000000a002",  # scheduled for deletion
    "model-artifacts-key": "1a2b3c4d-0000-4000-8000-00000000a003",  # rotation turned off
    "default-key": "1a2b3c4d-0000-4000-8000-00000000a004",  # DefaultKmsKeyArn in the demo
    "features-bucket-key": "1a2b3c4d-0000-4000-8000-00000000a005",  # named by the bucket's tag
    "alerts-topic-key": "1a2b3c4d-0000-4000-8000-00000000a006",  # named by the topic's tag
}
FEATURES_BUCKET = "ml-features-prod"  # default encryption deleted; tagged warden:kms-key
ARTIFACTS_BUCKET = "ml-model-artifacts"  # SSE-KMS replaced by SSE-S3; no record of its key
QUEUE = "inference-requests"
TOPIC = "model-alerts"
TRAIL = "management-events"
NOTEBOOK = "research-notebook"


def key_arn(name: str, account: str | None = None, region: str = REGION) -> str:
    # ACCOUNT read at call time: an organization test patches it to set the scenario up in a member
    return f"arn:aws:kms:{region}:{account or ACCOUNT}:key/{KEYS[name]}"


def encryption_turned_off(clients) -> None:
    """Everything the encryption family repairs, broken the way the events in events/ say.
    `clients(service)` returns a boto3 client (e.g. Twin.client)."""
    kms = clients("kms")
    for name, key_id in KEYS.items():
        # The event files name these keys, but moto offers no API to choose a key id: pin its generator.
        with mock.patch("moto.kms.models.generate_key_id", return_value=key_id):
            kms.create_key(Description=name)
    kms.disable_key(KeyId=KEYS["training-data-key"])
    kms.schedule_key_deletion(KeyId=KEYS["feature-store-key"], PendingWindowInDays=7)

    s3 = clients("s3")
    s3.create_bucket(Bucket=FEATURES_BUCKET)
    s3.put_bucket_tagging(
        Bucket=FEATURES_BUCKET, Tagging={"TagSet": [{"Key": "warden:kms-key", "Value": key_arn("features-bucket-key")}]}
    )
    s3.put_object(Bucket=FEATURES_BUCKET, Key="features/part-0.parquet", Body=b"PAR1")
    s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
    s3.put_bucket_encryption(
        Bucket=ARTIFACTS_BUCKET,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
    )

    clients("sqs").create_queue(QueueName=QUEUE, Attributes={"SqsManagedSseEnabled": "false"})
    clients("sns").create_topic(Name=TOPIC, Tags=[{"Key": "warden:kms-key", "Value": key_arn("alerts-topic-key")}])

    s3.create_bucket(Bucket="cloudtrail-logs-123456789012")
    trail = clients("cloudtrail")
    trail.create_trail(Name=TRAIL, S3BucketName="cloudtrail-logs-123456789012", IsMultiRegionTrail=True)
    # created trails are not logging until StartLogging: exactly the stopped state

    role = clients("iam").create_role(
        RoleName="SageMakerNotebookRole",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    clients("sagemaker").create_notebook_instance(
        NotebookInstanceName=NOTEBOOK, InstanceType="ml.t3.medium", RoleArn=role, DirectInternetAccess="Enabled"
    )
    ml_controls(clients)


# --- IAM: over-broad policies and abused credentials -------------------------------------------

PIPELINE_ROLE = "ml-pipeline-role"  # inline DebugAllAccess grants *; AdministratorAccess attached
INSTANCE_ROLE = "inference-instance-role"  # its instance credentials were used from outside AWS
BREAK_GLASS_ROLE = "BreakGlassAdmin"  # protected: listed in ProtectedPrincipalArns
SSO_ROLE = "AWSReservedSSO_AdministratorAccess_0123456789abcdef"  # protected always
DATA_SCIENCE_GROUP = "data-scientists"  # inline NotebookEverything grants *
CI_USER = "ci-deployer"  # its access key was used from a malicious IP
CI_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
PLATFORM_POLICY = "MLPlatformPolicy"  # v1 fine, v2 (default) grants *
TEAM_POLICY = "TeamWideAccess"  # only version grants sagemaker:* on *
TEAM_POLICY_ID = "ANPAZ3EXAMPLE7TEAMWIDE"
ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
BUCKET_READ = {"Sid": "ReadTrainingData", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{TRAINING_BUCKET}/*"}
ALL_ACCESS = {"Sid": "DebugEverything", "Effect": "Allow", "Action": "*", "Resource": "*"}
SAGEMAKER_ALL = {"Sid": "AllOfSageMaker", "Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}
TRUST_EC2 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def iam_over_broad(clients) -> None:
    """The IAM exposures the events in events/ report, with fixed ids where events name them."""
    iam = clients("iam")
    for role in (PIPELINE_ROLE, INSTANCE_ROLE, BREAK_GLASS_ROLE):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST_EC2))
    iam.create_role(RoleName=SSO_ROLE, Path="/aws-reserved/sso.amazonaws.com/", AssumeRolePolicyDocument=json.dumps(TRUST_EC2))
    iam.put_role_policy(RoleName=PIPELINE_ROLE, PolicyName="DebugAllAccess", PolicyDocument=document(ALL_ACCESS, BUCKET_READ))
    for role in (PIPELINE_ROLE, BREAK_GLASS_ROLE, SSO_ROLE):
        iam.attach_role_policy(RoleName=role, PolicyArn=ADMIN_POLICY_ARN)

    arn = iam.create_policy(PolicyName=PLATFORM_POLICY, PolicyDocument=document(BUCKET_READ))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=document(ALL_ACCESS), SetAsDefault=True)
    with mock.patch("moto.iam.models.random_policy_id", return_value=TEAM_POLICY_ID):
        iam.create_policy(PolicyName=TEAM_POLICY, PolicyDocument=document(SAGEMAKER_ALL, BUCKET_READ))
    iam.attach_role_policy(RoleName=INSTANCE_ROLE, PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/{TEAM_POLICY}")

    iam.create_group(GroupName=DATA_SCIENCE_GROUP)
    iam.put_group_policy(GroupName=DATA_SCIENCE_GROUP, PolicyName="NotebookEverything", PolicyDocument=document(ALL_ACCESS, BUCKET_READ))

    iam.create_user(UserName=CI_USER)
    with mock.patch("moto.iam.models.generate_access_key_id_from_account_id", return_value=CI_ACCESS_KEY):
        iam.create_access_key(UserName=CI_USER)


# --- abused inference APIs ---------------------------------------------------------------------

REST_API = "inference-api"  # stage prod: 500 rps / burst 1000, and a usage plan at 100 / 200
HTTP_API_ID = "llmgatew"  # moto's HTTP API ids are 8 letters; stage prod has no limits set
API_STAGE = "prod"
REST_ALARM = "warden-abuse-inference-api-4xx"
HTTP_ALARM = "warden-abuse-llm-gateway-count"
ENDPOINT = "fraud-scoring-prod"  # a SageMaker endpoint behind its own abuse alarm: no throttle exists
REST_LATENCY_ALARM = "warden-abuse-inference-api-latency"  # a second alarm on the same REST stage
HTTP_5XX_ALARM = "warden-abuse-llm-gateway-5xx"  # a second alarm on the HTTP stage (tests create it)
ENDPOINT_ALARM = "warden-abuse-fraud-model-invocations"
ALARM_THRESHOLD = 1000
# ThrottleAlarmNames: the alarms the security team designated, each pinned to its least threshold.
DESIGNATED_ALARMS = ",".join(
    [f"{name}>={ALARM_THRESHOLD}" for name in (REST_ALARM, HTTP_ALARM, REST_LATENCY_ALARM, ENDPOINT_ALARM)] + [f"{HTTP_5XX_ALARM}>=10"]
)


def abuse_alarm(cloudwatch, name: str, namespace: str, metric: str, dimensions: dict[str, str], state: str = "ALARM",
                threshold: float = ALARM_THRESHOLD) -> None:
    """An alarm on heavy traffic (Sum above `threshold` in a minute), put in `state`."""
    cloudwatch.put_metric_alarm(
        AlarmName=name, Namespace=namespace, MetricName=metric, Statistic="Sum", Period=60, EvaluationPeriods=1,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        Threshold=threshold, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def endpoint_alarm(cloudwatch, state: str = "ALARM") -> None:
    """The fraud model endpoint's abuse alarm (events/cloudwatch-alarm-sagemaker-invocations.json)."""
    abuse_alarm(cloudwatch, ENDPOINT_ALARM, "AWS/SageMaker", "Invocations", {"EndpointName": ENDPOINT, "VariantName": "AllTraffic"}, state)


def abused_apis(clients, alarm_state: str = "ALARM") -> dict[str, str]:
    """A REST and an HTTP inference API under attack, each with its abuse alarm. Returns ids."""
    rest = clients("apigateway")
    api_id = rest.create_rest_api(name=REST_API)["id"]
    root = rest.get_resources(restApiId=api_id)["items"][0]["id"]
    rest.put_method(restApiId=api_id, resourceId=root, httpMethod="POST", authorizationType="NONE")
    rest.put_integration(restApiId=api_id, resourceId=root, httpMethod="POST", type="MOCK")
    deployment = rest.create_deployment(restApiId=api_id)["id"]
    rest.create_stage(restApiId=api_id, stageName=API_STAGE, deploymentId=deployment)
    rest.update_stage(
        restApiId=api_id,
        stageName=API_STAGE,
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "500"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "1000"},
        ],
    )
    plan = rest.create_usage_plan(
        name="partners", apiStages=[{"apiId": api_id, "stage": API_STAGE}], throttle={"rateLimit": 100.0, "burstLimit": 200}
    )["id"]

    http = clients("apigatewayv2")
    # The event files name this API by id; moto draws API ids letter by letter from random.choice
    # over the lowercase alphabet, so hand it these letters (other draws are left alone).
    letters = iter(HTTP_API_ID)
    draw = moto_random.choice
    pick = lambda pool: next(letters, None) or draw(pool) if pool == string.ascii_lowercase else draw(pool)  # noqa: E731
    with mock.patch.object(moto_random, "choice", side_effect=pick):
        http_id = http.create_api(Name="llm-gateway", ProtocolType="HTTP")["ApiId"]
    http.create_stage(ApiId=http_id, StageName=API_STAGE)

    cloudwatch = clients("cloudwatch")
    for name, metric, dimensions in (
        (REST_ALARM, "4XXError", {"ApiName": REST_API, "Stage": API_STAGE}),
        (HTTP_ALARM, "Count", {"ApiId": http_id, "Stage": API_STAGE}),
        (REST_LATENCY_ALARM, "Latency", {"ApiName": REST_API, "Stage": API_STAGE}),
    ):
        abuse_alarm(cloudwatch, name, "AWS/ApiGateway", metric, dimensions, alarm_state)
    sagemaker_endpoint(clients("sagemaker"))
    endpoint_alarm(cloudwatch, alarm_state)
    return {"rest_api_id": api_id, "usage_plan_id": plan, "http_api_id": http_id}


VPC_NOTEBOOK = "labeling-notebook"  # in a VPC, with a KMS key, but root access on and IMDSv1 allowed
UNISOLATED_MODEL = "churn-model"  # network isolation off
UNENCRYPTED_ENDPOINT_CONFIG = "churn-config"  # no KMS key


def ml_controls(clients) -> None:
    """The ML settings Warden checks, left the way the SageMaker events in events/ say: a running notebook
    in a VPC with root access and IMDSv1, a model without network isolation, an endpoint config without a key."""
    sagemaker = clients("sagemaker")
    role = f"arn:aws:iam::{ACCOUNT}:role/SageMakerNotebookRole"
    sagemaker.create_notebook_instance(
        NotebookInstanceName=VPC_NOTEBOOK, InstanceType="ml.t3.medium", RoleArn=role, DirectInternetAccess="Disabled",
        RootAccess="Enabled", SubnetId="subnet-0a1b2c3d4e5f60001", SecurityGroupIds=["sg-0a1b2c3d4e5f60001"],
        KmsKeyId=key_arn("default-key"),
    )  # fmt: skip
    sagemaker.create_model(
        ModelName=UNISOLATED_MODEL, ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/SageMakerTrainingRole",
        PrimaryContainer={"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/churn:3", "ModelDataUrl": f"s3://{TRAINING_BUCKET}/churn.tar.gz"},
    )  # fmt: skip
    sagemaker.create_endpoint_config(
        EndpointConfigName=UNENCRYPTED_ENDPOINT_CONFIG,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": UNISOLATED_MODEL, "InitialInstanceCount": 2,
                             "InstanceType": "ml.m5.xlarge"}],
    )  # fmt: skip


def sagemaker_endpoint(sagemaker, name: str = ENDPOINT) -> None:
    """The fraud model served by a two-instance SageMaker endpoint."""
    sagemaker.create_model(
        ModelName=f"{name}-model", ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/SageMakerTrainingRole",
        PrimaryContainer={"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/fraud:1", "ModelDataUrl": f"s3://{TRAINING_BUCKET}/model.tar.gz"},
    )  # fmt: skip
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": f"{name}-model", "InitialInstanceCount": 2,
                             "InstanceType": "ml.m5.xlarge"}],
    )  # fmt: skip
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def security_hub_holds(securityhub, findings: list[dict]) -> None:
    """Security Hub enabled, holding these control findings (workflow NEW) as it would before it
    sends them: Warden updates Security Hub's own findings, it never creates them."""
    securityhub.enable_security_hub()
    if findings:
        securityhub.batch_import_findings(Findings=[{**f, "Workflow": {"Status": "NEW"}} for f in findings])


# --- which scenario a replayed event needs (python -m local replay --scenario auto) --------------


@dataclass(frozen=True)
class Scenario:
    """Resources to create before an event is replayed, and the template parameters they assume."""

    setup: Callable[[Callable], Any]  # called with clients(service) -> boto3 client
    parameters: dict[str, str] = field(default_factory=dict)


def _public_training_bucket(clients) -> None:
    public_training_bucket(clients("s3"))
    exempt_website_bucket(clients("s3"))
    account_block_off(clients("s3control"))


SCENARIOS = {
    "public-training-bucket": Scenario(_public_training_bucket),
    "encryption": Scenario(encryption_turned_off, {"DefaultKmsKeyArn": key_arn("default-key")}),
    "iam": Scenario(iam_over_broad, {"ProtectedPrincipalArns": f"arn:aws:iam::{ACCOUNT}:role/{BREAK_GLASS_ROLE}"}),
    # one quick cool-down round, so that a replay shows the whole circuit breaker in seconds
    "abused-apis": Scenario(abused_apis, {"CooldownSeconds": "1", "MaxCooldowns": "1", "ThrottleAlarmNames": DESIGNATED_ALARMS}),
}
# The demo's buckets come first everywhere: events of every family may name the training bucket.
FAMILY_SCENARIOS = {
    "s3_public": ("public-training-bucket",),
    "encryption": ("public-training-bucket", "encryption"),
    "iam": ("public-training-bucket", "iam"),
    "throttle": ("public-training-bucket", "abused-apis"),
}
DEFAULT = ("public-training-bucket",)


def for_event(event: Any) -> tuple[str, ...]:
    """The scenarios an event's remediation acts on, found the way Warden's triage finds it (the
    same parser and registry), so a new event file of a known family needs no change here. An event
    Warden rejects or has no remediation for gets the demo's buckets."""
    from warden import registry
    from warden.findings import RejectedEvent, parse_finding

    try:
        remediation = registry.remediation_for(parse_finding(event))
    except RejectedEvent:
        return DEFAULT
    return FAMILY_SCENARIOS[remediation.family] if remediation else DEFAULT


def parameters_for(names: tuple[str, ...], event: Any) -> dict[str, str]:
    """The template parameters the scenarios assume; Security Hub on for a Security Hub event."""
    parameters = {k: v for name in names for k, v in SCENARIOS[name].parameters.items()}
    if isinstance(event, dict) and event.get("source") == "aws.securityhub":
        parameters["SecurityHub"] = "enabled"
    return parameters


# --- GuardDuty: the findings its events report -------------------------------------------------

GUARDDUTY_DETECTOR = "12abc34d567e8fa901bc2d34e56789f0"  # the detector the events in events/ name


def guardduty_reported(clients, findings: list[dict], detector_id: str = GUARDDUTY_DETECTOR, account: str = ACCOUNT) -> str:
    """GuardDuty enabled, holding these findings (GuardDuty's JSON shape: a finding event's `detail`).
    Warden confirms a GuardDuty finding with GetFindings before acting on it. Returns the detector id."""
    from local import moto_guardduty

    guardduty = clients("guardduty")
    if detector_id not in guardduty.list_detectors()["DetectorIds"]:
        # The events name this detector; moto draws detector ids from get_random_hex: pin it.
        with mock.patch("moto.guardduty.models.mock_random.get_random_hex", return_value=detector_id):
            guardduty.create_detector(Enable=True)
    moto_guardduty.report(account, REGION, detector_id, findings)
    return detector_id


# --- the first day: exposures that existed before Warden was deployed (python -m warden_ops sweep) ---

PUBLIC_READ_RULE = "s3-bucket-public-read-prohibited-conformance-pack-x1y2z3"


def config_rule(config, name: str = PUBLIC_READ_RULE, identifier: str = "S3_BUCKET_PUBLIC_READ_PROHIBITED") -> None:
    config.put_config_rule(ConfigRule={"ConfigRuleName": name, "Source": {"Owner": "AWS", "SourceIdentifier": identifier}})


def config_finds_non_compliant(rule: str, resource_type: str, resource_ids: list[str], account: str = ACCOUNT, region: str = REGION) -> None:
    """Config's evaluations of `rule`: these resources NON_COMPLIANT (the twin holds them; see local/moto_findings.py)."""
    from local import moto_findings

    for resource_id in resource_ids:
        moto_findings.evaluate(account, region, rule, resource_type, resource_id)

