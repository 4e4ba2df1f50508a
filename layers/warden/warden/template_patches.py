"""The template change that makes a fix permanent, per remediation. Pure data and functions.

A resource a stack or a Terraform module owns gets its old value back at the owner's next deploy
(CloudFormation's REVERT_DRIFT change sets and `cdk deploy --revert-drift` do it on purpose). So
after a fix the message names, for each change Warden made, the CloudFormation property and the
value it must have (or the statement to remove), and a Terraform snippet where Terraform owns the
resource. One entry per remediation in PATCHES: a function of (finding, before, changes), or a
string saying why there is no template change. tests/unit/test_template_patches.py checks every
registered remediation has its entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any, Callable

from warden.finding import Finding
from warden.ownership import Owner

ALL_BLOCKED = {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}


@dataclass(frozen=True)
class TemplatePatch:
    resource_type: str  # CloudFormation type, e.g. AWS::S3::Bucket, or "" when CloudFormation has none
    property: str  # e.g. PublicAccessBlockConfiguration, or PolicyDocument.Statement
    value: Any  # the value to set, or what to remove
    how: str  # "set" or "remove"
    terraform: str  # the Terraform resource (HCL) with the setting
    note: str = ""  # what else to know, e.g. that the change replaces the resource
    separate: bool = False  # a resource of its own beside the owned one (AWS::S3::BucketPolicy for a bucket)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Patcher = Callable[[Finding, dict[str, Any], list[dict[str, Any]]], list[TemplatePatch]]


def _label(name: str) -> str:
    """A Terraform resource label from a resource name (labels allow letters, digits, _ and -)."""
    label = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_") or "this"
    return label if not label[0].isdigit() else f"r_{label}"


def _hcl(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def _actions(changes: list[dict[str, Any]]) -> set[str]:
    return {c["action"] for c in changes}


def _params(changes: list[dict[str, Any]], action: str) -> dict[str, Any]:
    return next((c.get("params") or {} for c in changes if c["action"] == action), {})


# --- S3 ----------------------------------------------------------------------------------------


def _public_bucket(finding: Finding, before: dict[str, Any], changes: list[dict[str, Any]]) -> list[TemplatePatch]:
    from warden.remediations.s3_public import split_policy  # the same test of "public" the fix used

    bucket, label, actions = finding.resource_name, _label(finding.resource_name), _actions(changes)
    patches = []
    if "s3:PutBucketPublicAccessBlock" in actions:
        flags = "\n".join(f"  {_snake(k)} = true" for k in ALL_BLOCKED)
        patches.append(TemplatePatch(
            "AWS::S3::Bucket", "PublicAccessBlockConfiguration", dict(ALL_BLOCKED), "set",
            f'resource "aws_s3_bucket_public_access_block" "{label}" {{\n  bucket = "{bucket}"\n{flags}\n}}',
        ))  # fmt: skip
    if actions & {"s3:PutBucketPolicy", "s3:DeleteBucketPolicy"} and before.get("policy"):
        public, _ = split_policy(before["policy"])
        sids = ", ".join(repr(s.get("Sid")) for s in public if s.get("Sid")) or "without a Sid"
        patches.append(TemplatePatch(
            "AWS::S3::BucketPolicy", "PolicyDocument.Statement", public, "remove",
            f'# aws_s3_bucket_policy "{label}" (or its aws_iam_policy_document): delete the statement(s) {sids},\n'
            '# which allow Principal "*" without a restricting condition.',
            note=f"remove the public statement(s) {sids}; keep every other statement as it is", separate=True,
        ))  # fmt: skip
    if "s3:PutBucketAcl" in actions:
        patches.append(TemplatePatch(
            "AWS::S3::Bucket", "AccessControl", "Private", "set",
            f'resource "aws_s3_bucket_acl" "{label}" {{\n  bucket = "{bucket}"\n  acl    = "private"\n}}',
            note="or remove AccessControl: buckets are private by default",
        ))  # fmt: skip
    return patches


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _account_block(finding: Finding, before: dict[str, Any], changes: list[dict[str, Any]]) -> list[TemplatePatch]:
    flags = "\n".join(f"  {_snake(k)} = true" for k in ALL_BLOCKED)
    return [TemplatePatch(
        "", "(CloudFormation has no resource for the account's S3 Block Public Access)", dict(ALL_BLOCKED), "set",
        f'resource "aws_s3_account_public_access_block" "account" {{\n{flags}\n}}',
    )]  # fmt: skip


def _bucket_encryption(finding: Finding, before: dict[str, Any], changes: list[dict[str, Any]]) -> list[TemplatePatch]:
    config = _params(changes, "s3:PutEncryptionConfiguration").get("ServerSideEncryptionConfiguration") or {}
    rule = (config.get("Rules") or [{}])[0]
    key = (rule.get("ApplyServerSideEncryptionByDefault") or {}).get("KMSMasterKeyID")
    value = {"ServerSideEncryptionConfiguration": [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}, "BucketKeyEnabled": True}
    ]}  # fmt: skip
    label = _label(finding.resource_name)
    return [TemplatePatch(
        "AWS::S3::Bucket", "BucketEncryption", value, "set",
        f'resource "aws_s3_bucket_server_side_encryption_configuration" "{label}" {{\n'
        f'  bucket = "{finding.resource_name}"\n  rule {{\n    apply_server_side_encryption_by_default {{\n'
        f'      sse_algorithm     = "aws:kms"\n      kms_master_key_id = "{key}"\n    }}\n    bucket_key_enabled = true\n  }}\n}}',
    )]  # fmt: skip


# --- SQS, SNS, EBS, KMS, CloudTrail ------------------------------------------------------------


def _queue_encryption(finding: Finding, before: dict[str, Any], changes: list[dict[str, Any]]) -> list[TemplatePatch]:
    attributes = _params(changes, "sqs:SetQueueAttributes").get("Attributes") or {}
    name = finding.resource_arn.rsplit(":", 1)[-1]
    if attributes.get("KmsMasterKeyId"):
        key = attributes["KmsMasterKeyId"]
        return [TemplatePatch("AWS::SQS::Queue", "KmsMasterKeyId", key, "set",
                              f'resource "aws_sqs_queue" "{_label(name)}" {{\n  name              = "{name}"\n  kms_master_key_id = "{key}"\n}}')]  # fmt: skip
    return [TemplatePatch("AWS::SQS::Queue", "SqsManagedSseEnabled", True, "set",
                          f'resource "aws_sqs_queue" "{_label(name)}" {{\n  name                    = "{name}"\n  sqs_managed_sse_enabled = true\n}}')]  # fmt: skip


def _topic_encryption(finding: Finding, before: dict[str, Any], changes: list[dict[str, Any]]) -> list[TemplatePatch]:
    key = _params(changes, "sns:SetTopicAttributes").get("AttributeValue")
    name = finding.resource_arn.rsplit(":", 1)[-1]
    return [TemplatePatch("AWS::SNS::Topic", "KmsMasterKeyId", key, "set",
                          f'resource "aws_sns_topic" "{_label(name)}" {{\n  name              = "{name}"\n  kms_master_key_id = "{key}"\n}}')]  # fmt: skip


def _ebs_default(finding: Finding, before: dict[str, Any], changes: list[dict[str, Any]]) -> list[TemplatePatch]:
    return [TemplatePatch("", "(CloudFormation has no resource for EBS encryption by default)", True, "set",
                          f'resource "aws_ebs_encryption_by_default" "{finding.region.replace("-", "_")}" {{\n  enabled = true\n}}')]  # fmt: skip


def _key_usable(finding: Finding, before: dict[str, Any], changes: list[dict[str, Any]]) -> list[TemplatePatch]:
    patches = [TemplatePatch("AWS::KMS::Key", "Enabled", True, "set",
                             'resource "aws_kms_key" "key" {\n  is_enabled = true\n}')]  # fmt: skip
    if "kms:CancelKeyDeletion" in _actions(changes):
        patches.append(TemplatePatch(
            "AWS::KMS::Key", "DeletionPolicy", "Retain", "set",
            'resource "aws_kms_key" "key" {\n  lifecycle {\n    prevent_destroy = true\n  }\n}',
            note="a resource attribute beside Properties: a key removed from the template is scheduled for deletion otherwise",
        ))  # fmt: skip
    return patches


def _one_setting(resource_type: str, prop: str, value: Any, terraform_type: str, terraform_field: str) -> Patcher:
    def patch(finding: Finding, before: dict[str, Any], changes: list[dict[str, Any]]) -> list[TemplatePatch]:
        label = _label(finding.resource_arn.split("/")[-1])
        return [TemplatePatch(resource_type, prop, value, "set",
                              f'resource "{terraform_type}" "{label}" {{\n  {terraform_field} = {_hcl(value)}\n}}')]  # fmt: skip

    return patch


# --- SageMaker ---------------------------------------------------------------------------------


def _notebook(finding: Finding, before: dict[str, Any], changes: list[dict[str, Any]]) -> list[TemplatePatch]:
    label = _label(finding.resource_name)
    patches = []
    if (before.get("direct_internet_access") or "Enabled") == "Enabled":
        patches.append(TemplatePatch(
            "AWS::SageMaker::NotebookInstance", "DirectInternetAccess", "Disabled", "set",
            f'resource "aws_sagemaker_notebook_instance" "{label}" {{\n  direct_internet_access = "Disabled"\n'
            '  subnet_id              = "<private subnet>"\n  security_groups        = ["<sg>"]\n}',
            note="also set SubnetId and SecurityGroupIds (a private subnet); changing either replaces the notebook",
        ))  # fmt: skip
    if (before.get("root_access") or "Enabled") == "Enabled":
        patches.append(TemplatePatch(
            "AWS::SageMaker::NotebookInstance", "RootAccess", "Disabled", "set",
            f'resource "aws_sagemaker_notebook_instance" "{label}" {{\n  root_access = "Disabled"\n}}',
        ))  # fmt: skip
    if str(before.get("minimum_imds_version") or "1") != "2" and "sagemaker:UpdateNotebookInstance" in _actions(changes):
        patches.append(TemplatePatch(
            "AWS::SageMaker::NotebookInstance", "InstanceMetadataServiceConfiguration",
            {"MinimumInstanceMetadataServiceVersion": "2"}, "set",
            f'resource "aws_sagemaker_notebook_instance" "{label}" {{\n  instance_metadata_service_configuration {{\n'
            '    minimum_instance_metadata_service_version = "2"\n  }\n}',
        ))  # fmt: skip
    return patches


def _bedrock_logging(finding: Finding, before: dict[str, Any], changes: list[dict[str, Any]]) -> list[TemplatePatch]:
    config = _params(changes, "bedrock:PutModelInvocationLoggingConfiguration").get("loggingConfig") or {}
    s3, logs = config.get("s3Config") or {}, config.get("cloudWatchConfig") or {}
    lines = ['resource "aws_bedrock_model_invocation_logging_configuration" "this" {', "  logging_config {"]
    lines += [f"    {_snake(flag)} = {_hcl(bool(config.get(flag)))}" for flag in
              ("textDataDeliveryEnabled", "imageDataDeliveryEnabled", "embeddingDataDeliveryEnabled")]  # fmt: skip
    if s3:
        lines += ["    s3_config {", f'      bucket_name = "{s3.get("bucketName")}"', f'      key_prefix  = "{s3.get("keyPrefix", "")}"', "    }"]
    if logs:
        lines += ["    cloudwatch_config {", f'      log_group_name = "{logs.get("logGroupName")}"', f'      role_arn       = "{logs.get("roleArn")}"', "    }"]
    return [TemplatePatch("", "(CloudFormation has no resource for Bedrock model invocation logging)", config, "set",
                          "\n".join([*lines, "  }", "}"]))]  # fmt: skip


# --- IAM ---------------------------------------------------------------------------------------


def _managed_policy(finding: Finding, before: dict[str, Any], changes: list[dict[str, Any]]) -> list[TemplatePatch]:
    document = _params(changes, "iam:CreatePolicyVersion").get("PolicyDocument")
    label = _label(finding.resource_arn.split("/")[-1])
    if document is None:  # an earlier, safe version became the default again
        return [TemplatePatch("AWS::IAM::ManagedPolicy", "PolicyDocument", "the policy's earlier default version (see the audit record)", "set",
                              f'# aws_iam_policy "{label}": set policy to the earlier default version\'s document')]  # fmt: skip
    return [TemplatePatch("AWS::IAM::ManagedPolicy", "PolicyDocument", json.loads(document), "set",
                          f'resource "aws_iam_policy" "{label}" {{\n  policy = jsonencode({document})\n}}')]  # fmt: skip


IAM_TYPES = {"user": "AWS::IAM::User", "role": "AWS::IAM::Role", "group": "AWS::IAM::Group"}


def _inline_policy(finding: Finding, before: dict[str, Any], changes: list[dict[str, Any]]) -> list[TemplatePatch]:
    kind = finding.resource_arn.split(":")[-1].split("/")[0]
    patches = []
    for change in changes:
        params = change.get("params") or {}
        policy = params.get("PolicyName")
        terraform = f'# aws_iam_{kind}_policy "{_label(policy or "policy")}"'
        if change["action"].startswith("iam:Delete"):
            patches.append(TemplatePatch(IAM_TYPES[kind], f"Policies[PolicyName={policy}]", policy, "remove",
                                         terraform + ": delete the resource (or its inline_policy block)"))  # fmt: skip
        elif "PolicyDocument" in params:
            patches.append(TemplatePatch(IAM_TYPES[kind], f"Policies[PolicyName={policy}].PolicyDocument", json.loads(params["PolicyDocument"]), "set",
                                         terraform + f": policy = jsonencode({params['PolicyDocument']})",
                                         note="or AWS::IAM::Policy / AWS::IAM::RolePolicy PolicyDocument, where the template declares it apart"))  # fmt: skip
    return patches


def _attached_policies(finding: Finding, before: dict[str, Any], changes: list[dict[str, Any]]) -> list[TemplatePatch]:
    kind = finding.resource_arn.split(":")[-1].split("/")[0]
    arns = [(c.get("params") or {}).get("PolicyArn") for c in changes]
    return [TemplatePatch(IAM_TYPES[kind], "ManagedPolicyArns", arn, "remove",
                          f'# aws_iam_{kind}_policy_attachment attaching {arn}: delete it (or drop it from managed_policy_arns)')
            for arn in arns if arn]  # fmt: skip


def _access_key(finding: Finding, before: dict[str, Any], changes: list[dict[str, Any]]) -> list[TemplatePatch]:
    key = (finding.details or {}).get("access_key_id", "the key")
    return [TemplatePatch("AWS::IAM::AccessKey", "Status", "Inactive", "set",
                          f'resource "aws_iam_access_key" "{_label(key)}" {{\n  status = "Inactive"\n}}',
                          note=f"only if the template declares access key {key}; otherwise rotate it out of the pipeline")]  # fmt: skip


# remediation name -> its patcher, or why no template change makes its fix permanent.
PATCHES: dict[str, Patcher | str] = {
    "s3-quarantine-public-bucket": _public_bucket,
    "s3-bucket-block-public-access": _public_bucket,  # the same changes: the block, and the quarantine if it was public
    "s3-account-block-public-access": _account_block,
    "s3-restore-default-encryption": _bucket_encryption,
    "sqs-restore-queue-encryption": _queue_encryption,
    "sns-restore-topic-encryption": _topic_encryption,
    "ec2-enable-ebs-encryption-by-default": _ebs_default,
    "kms-keep-key-usable": _key_usable,
    "kms-enable-key-rotation": _one_setting("AWS::KMS::Key", "EnableKeyRotation", True, "aws_kms_key", "enable_key_rotation"),
    "cloudtrail-restart-logging": _one_setting("AWS::CloudTrail::Trail", "IsLogging", True, "aws_cloudtrail", "enable_logging"),
    "sagemaker-stop-exposed-notebook": _notebook,
    "iam-restrict-managed-policy": _managed_policy,
    "iam-strip-inline-policy": _inline_policy,
    "iam-detach-admin-policies": _attached_policies,
    "iam-deactivate-access-key": _access_key,
    "iam-revoke-role-sessions": "revoking sessions answers an incident; it is not configuration a template holds",
    "apigw-throttle-stage": "the throttle is temporary: Warden lifts it when the abuse ends; a deploy that resets it only ends it early",
    "sagemaker-report-abused-endpoint": "nothing was changed",
    "sagemaker-needs-recreate": "nothing was changed: the message names the new resource's settings",
    "bedrock-restore-invocation-logging": _bedrock_logging,
}


def patches_for(remediation: str, finding: Finding, before: dict[str, Any], changes: list[dict[str, Any]]) -> list[TemplatePatch]:
    """The template changes that keep this fix; empty when none applies (or no change was planned)."""
    patcher = PATCHES.get(remediation)
    if not changes or patcher is None or isinstance(patcher, str):
        return []
    return patcher(finding, before, changes)


def render(owner: Owner, patches: list[dict[str, Any]]) -> list[str]:
    """The message's lines for a managed resource: who owns it, that the next deploy reverts the fix,
    and per patch the CloudFormation change (CloudFormation and CDK owners) or the Terraform snippet."""
    deploy = {"terraform": "terraform apply", "cdk": "cdk deploy"}.get(owner.kind, "deploy of that stack")
    lines = [f"  Owned by {owner.describe()} ({owner.evidence}).",
             f"  The next {deploy} will REVERT this fix unless the template changes:"]  # fmt: skip
    for patch in patches:
        if owner.kind == "terraform":
            lines += [f"    {line}" for line in patch["terraform"].splitlines()]
        else:
            where = patch["resource_type"] or "CloudFormation"
            if patch["resource_type"] and owner.logical_id:
                where += f" for {owner.logical_id}" if patch.get("separate") else f" {owner.logical_id}"
            verb = "set" if patch["how"] == "set" else "remove from"
            lines.append(f"    {where}: {verb} {patch['property']}" + (f" = {json.dumps(patch['value'])}" if patch["how"] == "set" else ""))
            if patch["how"] == "remove":
                lines.append(f"      {json.dumps(patch['value'])[:600]}")
            if owner.kind == "cdk" and patch["resource_type"] and patch["how"] == "set":
                lines.append(f"      (CDK: set the construct's matching prop, or node.defaultChild.addPropertyOverride('{patch['property']}', ...))")
        if patch.get("note"):
            lines.append(f"      Note: {patch['note']}")
    if not patches:
        lines.append("    (no template property for this change: see the decision above)")
    return lines
