"""The preventive control that would have stopped a finding: proposed, never applied. Pure data.

One entry per remediation in PREVENTION: the proposals, each with what it really enforces, its
blast radius and where it must be applied, or a string saying why no preventive control fits.
Families: an SCP or RCP statement (AWS Organizations), account-level S3 Block Public Access, an
AWS Config rule in proactive mode, EBS encryption by default.

What an SCP can and cannot see matters: an SCP matches actions, resources and condition keys, never
a policy document's content. So "deny a bucket policy that grants *" is not enforceable; what is:
deny turning Block Public Access off (s3:PutBucketPublicAccessBlock, which also authorizes
DeletePublicAccessBlock) and keep account-level BPA on, so S3 itself rejects public policies and ACLs.
Where a service has condition keys for the setting (sagemaker:DirectInternetAccess,
sagemaker:RootAccess, sagemaker:VolumeKmsKey, iam:PolicyARN...) the SCP denies the bad value.

No Warden role can attach any of these (no organizations:*, config:Put*Rule, hook or
s3control/ec2 call made on a proposal's behalf; tests/unit/test_template.py checks it).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

FAMILIES = ("scp", "rcp", "account-s3-bpa", "config-proactive", "ebs-default")
MANAGEMENT = "the management account (AWS Organizations > Policies), attached to the OUs that hold the workload accounts"
BREAK_GLASS = "arn:aws:iam::*:role/BreakGlassAdmin"  # a placeholder the proposal tells to replace


@dataclass(frozen=True)
class Proposal:
    id: str  # stable: the prevent report groups findings by it
    family: str  # one of FAMILIES
    title: str  # one line, for the message
    control: Any  # the statement, setting or rule, as it would be written
    enforces: str  # what it really stops (and what it cannot)
    blast_radius: str  # what else it stops
    apply_in: str  # where it must be applied

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _deny(sid: str, actions: list[str], condition: dict | None = None, resource: str = "*") -> dict[str, Any]:
    """An SCP/RCP statement; unless a condition says otherwise, the break-glass role stays exempt."""
    exempt = {"ArnNotLike": {"aws:PrincipalArn": [BREAK_GLASS]}}
    merged = {**(condition or {}), **exempt}
    return {"Sid": sid, "Effect": "Deny", "Action": actions, "Resource": resource, "Condition": merged}


def _config_rule(rule: str, resource: str) -> dict[str, Any]:
    return {"ConfigRuleName": rule, "Source": {"Owner": "AWS", "SourceIdentifier": rule.upper().replace("-", "_")},
            "EvaluationModes": [{"Mode": "DETECTIVE"}, {"Mode": "PROACTIVE"}], "Scope": {"ComplianceResourceTypes": [resource]}}  # fmt: skip


CONFIG_WHERE = (
    "the delegated administrator account for AWS Config (an organization rule: PutOrganizationConfigRule), "
    "or each account and region; a CloudFormation Hook or the pipeline calls StartResourceEvaluation before deploying"
)
CONFIG_ENFORCES = "evaluates a resource's properties before it is deployed; it reports NON_COMPLIANT and blocks only where a hook or the pipeline fails the deploy on it"


def _proactive(rule: str, resource: str, what: str) -> Proposal:
    return Proposal(
        f"config-proactive-{rule}", "config-proactive", f"AWS Config rule {rule} in proactive mode ({what})",
        _config_rule(rule, resource), CONFIG_ENFORCES + ". Check that the rule supports proactive evaluation in your region "
        "(AWS Config's list of managed rules by evaluation mode)", f"every {resource} deployed through the checked pipeline", CONFIG_WHERE,
    )  # fmt: skip


SQS_GUARD = Proposal(
    "config-proactive-sqs-queue-encrypted", "config-proactive", "AWS Config custom Guard rule in proactive mode (SQS queues encrypted)",
    {"ConfigRuleName": "sqs-queue-encrypted", "Scope": {"ComplianceResourceTypes": ["AWS::SQS::Queue"]},
     "EvaluationModes": [{"Mode": "DETECTIVE"}, {"Mode": "PROACTIVE"}],
     "Source": {"Owner": "CUSTOM_POLICY", "SourceDetails": [{"EventSource": "aws.config", "MessageType": "ConfigurationItemChangeNotification"}],
                "CustomPolicyDetails": {"PolicyRuntime": "guard-2.x.x", "PolicyText":
                    "rule sqs_queue_encrypted {\n  configuration.SqsManagedSseEnabled == true OR\n  configuration.KmsMasterKeyId exists\n}"}}},
    CONFIG_ENFORCES + ". SQS has no IAM condition key for encryption, so no SCP can require it",
    "every AWS::SQS::Queue deployed through the checked pipeline", CONFIG_WHERE,
)  # fmt: skip
ACCOUNT_BPA = Proposal(
    "account-s3-bpa", "account-s3-bpa", "Account-level S3 Block Public Access, all four settings on",
    {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True},
    "S3 rejects any public bucket policy or public ACL in the account, whatever the bucket's own settings",
    "every bucket in the account, including ones public on purpose (static websites, public datasets): move those to an "
    "account without the block, or serve them through CloudFront with origin access control",
    "each member account (aws s3control put-public-access-block), kept on by the SCP scp-s3-keep-block-public-access",
)  # fmt: skip
SCP_S3_BPA = Proposal(
    "scp-s3-keep-block-public-access", "scp", "SCP: deny turning S3 Block Public Access off, outside a break-glass role",
    _deny("DenyS3BlockPublicAccessChanges", ["s3:PutBucketPublicAccessBlock", "s3:PutAccountPublicAccessBlock"]),
    "nobody but the break-glass role can weaken bucket or account Block Public Access (s3:PutBucketPublicAccessBlock also "
    "authorizes DeletePublicAccessBlock); an SCP cannot read a bucket policy, so it relies on the block being on",
    "pipelines that set or remove BPA on their buckets fail until they use the break-glass role; replace BreakGlassAdmin",
    MANAGEMENT,
)  # fmt: skip
RCP_S3_ORG_ONLY = Proposal(
    "rcp-s3-org-only", "rcp", "RCP: S3 objects readable only by principals of this organization or AWS services",
    {"Sid": "EnforceOrgIdentities", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
     "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "<o-your-org-id>"}, "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}},
    "even a public bucket policy or ACL cannot give anyone outside the organization access (a data perimeter)",
    "every cross-organization share and anonymous access, in all accounts the RCP is attached to: public websites, "
    "partner access, third-party tools reading your buckets",
    MANAGEMENT + " (resource control policies must be enabled)",
)  # fmt: skip
SCP_S3_PUBLIC_ACL = Proposal(
    "scp-s3-deny-public-acl", "scp", "SCP: deny canned public ACLs on buckets and objects",
    _deny("DenyPublicCannedAcls", ["s3:PutBucketAcl", "s3:PutObjectAcl", "s3:PutObject", "s3:CreateBucket"],
          {"StringEquals": {"s3:x-amz-acl": ["public-read", "public-read-write", "authenticated-read"]}}),
    "stops the canned public ACLs; grants written as an AccessControlPolicy body are not visible to an SCP (the block handles those)",
    "tools that still publish with --acl public-read", MANAGEMENT,
)  # fmt: skip
EBS_DEFAULT = Proposal(
    "ebs-encryption-by-default", "ebs-default", "EBS encryption by default, in every region",
    {"EbsEncryptionByDefault": True, "KmsKeyId": "<optional customer-managed key>"},
    "every new EBS volume and snapshot copy in the region is encrypted", "instance types and AMIs that cannot use encrypted "
    "volumes (rare, old generations); cross-account AMI sharing needs the key shared too",
    "each account and region (aws ec2 enable-ebs-encryption-by-default), kept on by scp-ec2-keep-ebs-encryption",
)  # fmt: skip
SCP_EBS = Proposal(
    "scp-ec2-keep-ebs-encryption", "scp", "SCP: deny turning EBS encryption by default off",
    _deny("DenyDisableEbsEncryptionByDefault", ["ec2:DisableEbsEncryptionByDefault"]),
    "nobody but the break-glass role can turn the default off", "none beyond that role", MANAGEMENT,
)  # fmt: skip
SCP_KMS = Proposal(
    "scp-kms-protect-keys", "scp", "SCP: deny disabling or scheduling deletion of KMS keys outside a break-glass role",
    _deny("DenyKmsKeyDestruction", ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DisableKeyRotation"]),
    "keys can be neither disabled, scheduled for deletion, nor have rotation turned off except by the break-glass role",
    "stacks that delete keys on teardown (CloudFormation schedules deletion of a removed AWS::KMS::Key) fail until they "
    "retain the key or use the break-glass role", MANAGEMENT,
)  # fmt: skip
SCP_TRAIL = Proposal(
    "scp-cloudtrail-keep-logging", "scp", "SCP: deny stopping, deleting or changing CloudTrail trails",
    _deny("DenyCloudTrailChanges", ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail", "cloudtrail:PutEventSelectors"]),
    "no principal but the break-glass role can stop or weaken the trails", "the team that manages the trails works through "
    "the break-glass role (or an organization trail in the management account, which member accounts cannot change anyway)",
    MANAGEMENT,
)  # fmt: skip
SCP_IAM_ADMIN = Proposal(
    "scp-iam-deny-admin-attach", "scp", "SCP: deny attaching AdministratorAccess outside a break-glass role",
    _deny("DenyAttachAdministratorAccess", ["iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy"],
          {"ArnLike": {"iam:PolicyARN": ["arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/IAMFullAccess"]}}),
    "stops attaching the AWS managed admin policies; an SCP cannot read a customer policy's statements, so a self-written "
    "\"*:*\" policy needs permissions boundaries (require iam:PermissionsBoundary on CreateRole/PutRolePolicy)",
    "pipelines that create admin roles (CDK bootstrap's cfn-exec role uses AdministratorAccess by default)", MANAGEMENT,
)  # fmt: skip
SCP_IMDSV2 = Proposal(
    "scp-ec2-require-imdsv2", "scp", "SCP: require IMDSv2 on new instances (stolen instance credentials start at IMDSv1)",
    _deny("RequireImdsV2", ["ec2:RunInstances"], {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}},
          resource="arn:aws:ec2:*:*:instance/*"),
    "no instance starts with IMDSv1; credential theft through SSRF to the metadata service gets nothing",
    "launch templates and old SDKs that still use IMDSv1", MANAGEMENT,
)  # fmt: skip
SCP_SAGEMAKER_INTERNET = Proposal(
    "scp-sagemaker-deny-direct-internet", "scp", "SCP: deny SageMaker notebooks with direct internet access or outside a VPC",
    _deny("DenySageMakerDirectInternet", ["sagemaker:CreateNotebookInstance"],
          {"StringEquals": {"sagemaker:DirectInternetAccess": "Enabled"}}),
    "no notebook is created with direct internet access (condition key sagemaker:DirectInternetAccess); add a "
    "Null sagemaker:VpcSubnets deny to require a VPC", "notebooks that download packages from the internet need a NAT or a "
    "VPC endpoint / CodeArtifact mirror", MANAGEMENT,
)  # fmt: skip
SCP_SAGEMAKER_ROOT = Proposal(
    "scp-sagemaker-deny-root-and-imdsv1", "scp", "SCP: deny SageMaker notebooks with root access or IMDSv1",
    [_deny("DenySageMakerRootAccess", ["sagemaker:CreateNotebookInstance", "sagemaker:UpdateNotebookInstance"],
           {"StringEquals": {"sagemaker:RootAccess": "Enabled"}}),
     _deny("DenySageMakerImdsV1", ["sagemaker:CreateNotebookInstance", "sagemaker:UpdateNotebookInstance"],
           {"StringEquals": {"sagemaker:MinimumInstanceMetadataServiceVersion": "1"}})],
    "no notebook is created or updated with root access or with IMDSv1 allowed (condition keys sagemaker:RootAccess, "
    "sagemaker:MinimumInstanceMetadataServiceVersion); a request that leaves RootAccess out gets AWS's default (Enabled), "
    "so add a Null condition on sagemaker:RootAccess to require it be stated",
    "lifecycle scripts and users that install system packages with sudo", MANAGEMENT,
)  # fmt: skip
SCP_SAGEMAKER_KMS = Proposal(
    "scp-sagemaker-require-kms", "scp", "SCP: require a KMS key on SageMaker notebooks and endpoint configs",
    _deny("RequireSageMakerVolumeKey", ["sagemaker:CreateNotebookInstance", "sagemaker:CreateEndpointConfig"],
          {"Null": {"sagemaker:VolumeKmsKey": "true"}}),
    "no notebook or endpoint config is created without a customer-managed volume key", "templates that rely on the AWS "
    "managed key must name one", MANAGEMENT,
)  # fmt: skip
SCP_SAGEMAKER_ISOLATION = Proposal(
    "scp-sagemaker-require-network-isolation", "scp", "SCP: require network isolation on SageMaker models",
    _deny("RequireSageMakerNetworkIsolation", ["sagemaker:CreateModel"], {"Bool": {"sagemaker:NetworkIsolation": "false"}}),
    "no model container is created with outbound network access", "containers that fetch weights or call APIs at run time "
    "(they must read from the model artifact or a VPC endpoint instead)", MANAGEMENT,
)  # fmt: skip
SCP_BEDROCK_LOGGING = Proposal(
    "scp-bedrock-keep-invocation-logging", "scp", "SCP: deny changing or deleting Bedrock model invocation logging outside a break-glass role",
    _deny("DenyBedrockLoggingChanges", ["bedrock:DeleteModelInvocationLoggingConfiguration", "bedrock:PutModelInvocationLoggingConfiguration"]),
    "only the break-glass (or platform) role can turn invocation logging off or change its destination",
    "the platform team sets logging up through that role", MANAGEMENT,
)  # fmt: skip

# remediation name -> what would have prevented its findings, or why nothing preventive fits.
PREVENTION: dict[str, tuple[Proposal, ...] | str] = {
    "s3-quarantine-public-bucket": (ACCOUNT_BPA, SCP_S3_BPA, RCP_S3_ORG_ONLY, SCP_S3_PUBLIC_ACL,
                                    _proactive("s3-bucket-level-public-access-prohibited", "AWS::S3::Bucket", "a bucket's own BPA off")),  # fmt: skip
    "s3-bucket-block-public-access": (ACCOUNT_BPA, SCP_S3_BPA,
                                      _proactive("s3-bucket-level-public-access-prohibited", "AWS::S3::Bucket", "a bucket's own BPA off")),  # fmt: skip
    "s3-account-block-public-access": (SCP_S3_BPA,),
    "s3-restore-default-encryption": (_proactive("s3-default-encryption-kms", "AWS::S3::Bucket", "SSE-KMS as the default"),),
    "sqs-restore-queue-encryption": (SQS_GUARD,),
    "sns-restore-topic-encryption": (_proactive("sns-encrypted-kms", "AWS::SNS::Topic", "a KMS key"),),
    "ec2-enable-ebs-encryption-by-default": (EBS_DEFAULT, SCP_EBS),
    "kms-keep-key-usable": (SCP_KMS,),
    "kms-enable-key-rotation": (SCP_KMS, _proactive("cmk-backing-key-rotation-enabled", "AWS::KMS::Key", "rotation on")),
    "cloudtrail-restart-logging": (SCP_TRAIL,),
    "iam-restrict-managed-policy": (_proactive("iam-policy-no-statements-with-admin-access", "AWS::IAM::Policy", "no *:* statement"),),
    "iam-strip-inline-policy": (_proactive("iam-policy-no-statements-with-admin-access", "AWS::IAM::Policy", "no *:* statement"),),
    "iam-detach-admin-policies": (SCP_IAM_ADMIN,),
    "iam-revoke-role-sessions": (SCP_IMDSV2,),
    "iam-deactivate-access-key": "a leaked long-term key is prevented by having none: use roles (IAM Identity Center, OIDC for CI) instead of access keys",
    "sagemaker-stop-exposed-notebook": (SCP_SAGEMAKER_INTERNET, SCP_SAGEMAKER_ROOT, SCP_SAGEMAKER_KMS,
                                        _proactive("sagemaker-notebook-no-direct-internet-access", "AWS::SageMaker::NotebookInstance", "no direct internet")),  # fmt: skip
    "sagemaker-needs-recreate": (SCP_SAGEMAKER_KMS, SCP_SAGEMAKER_ISOLATION),
    "bedrock-restore-invocation-logging": (SCP_BEDROCK_LOGGING,),
    "apigw-throttle-stage": "abuse is traffic, not configuration: a WAF rate-based rule or a usage plan on the stage limits it before Warden has to",
    "sagemaker-report-abused-endpoint": "abuse is traffic, not configuration: put the endpoint behind API Gateway with a usage plan or WAF rate rule",
}


def proposals_for(remediation: str) -> tuple[Proposal, ...]:
    entry = PREVENTION.get(remediation, ())
    return () if isinstance(entry, str) else entry


def summary_lines(remediation: str) -> list[str]:
    """The message's short form: one line per proposal, and where the details are."""
    proposals = proposals_for(remediation)
    if not proposals:
        return []
    return [
        "PREVENT THE NEXT ONE (proposals only: Warden applies none of them)",
        *[f"  - [{p.family}] {p.title} (apply in {p.apply_in.split(' (')[0].split(',')[0]})" for p in proposals],
        "  Statements, blast radius and counts: python -m warden_ops prevent",
        "",
    ]


def describe(proposal: Proposal) -> list[str]:
    """The report's long form of one proposal."""
    return [
        f"  apply in:     {proposal.apply_in}",
        f"  enforces:     {proposal.enforces}",
        f"  blast radius: {proposal.blast_radius}",
        f"  control:      {json.dumps(proposal.control)}",
    ]
