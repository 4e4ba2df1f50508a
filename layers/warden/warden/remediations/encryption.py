"""Put encryption back where it was turned off: S3 default encryption, SQS and SNS server-side
encryption, EBS encryption by default.

Each fix restores protection in place and never destroys data or keys. Where the right KMS key is
not in the event, it is looked up, in order: AWS Config's configuration history of the resource,
Warden's own audit history, a `warden:kms-key` tag on the resource, the DefaultKmsKeyArn
parameter. A candidate key is used only if it exists and is enabled. When no source knows a key
for S3 (where falling back to SSE-S3 would keep the very exposure), Warden does not guess.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable

from botocore.exceptions import ClientError

from warden.finding import ACCOUNT_RESOURCE_TYPE, Finding
from warden.remediations.base import (
    Change,
    NeedsDecision,
    Remediation,
    ToggleRemediation,
    Triggers,
    apply_in_order,
    aws_errors,
    error_code,
    register,
)

KEY_TAG = "warden:kms-key"
# Where a previous key is looked for, in this order; each label is what messages call that source.
KEY_SOURCES = ("AWS Config history", "Warden's audit history", f"the {KEY_TAG} tag", "the DefaultKmsKeyArn parameter")
# The calls the lookup makes (Config history, KMS DescribeKey of each candidate, the audit history's
# query of the by-resource index and BatchGetItem of the records it lists),
# and the snapshot keys it adds: a lookup, not the resource's state, so not compared for drift.
KEY_LOOKUP_PERMISSIONS = ("config:GetResourceConfigHistory", "kms:DescribeKey", "dynamodb:Query", "dynamodb:BatchGetItem")
KEY_LOOKUP_SNAPSHOT_KEYS = ("kms_key", "kms_key_source", "skipped", "current_key_owner")
AWS_MANAGED_ALIAS_PREFIX = "alias/aws/"  # alias/aws/s3, alias/aws/sqs, alias/aws/sns: AWS-managed keys


def key_owner(aws, key: str | None, account: str) -> str | None:
    """Who manages the key a resource is encrypted with now: "customer" (an enabled customer-managed
    key of this account), "aws" (an AWS-managed key), "other" (another account's, disabled or
    unreadable), or None (no key). Moving from one customer key to another is a team's choice;
    anything else is a downgrade Warden reverts."""
    if not key:
        return None
    if AWS_MANAGED_ALIAS_PREFIX in key:
        return "aws"
    try:
        metadata = aws.client("kms").describe_key(KeyId=key)["KeyMetadata"]
    except ClientError:
        return "other"
    if metadata.get("KeyManager") == "AWS":
        return "aws"
    return "customer" if metadata.get("AWSAccountId") == account and metadata.get("KeyState") == "Enabled" else "other"


# --- where the previous key comes from ---------------------------------------------------------


def _config_history(aws, resource_type: str, resource_id: str, key_of: Callable[[dict], str | None]) -> str | None:
    """The newest key in the resource's AWS Config history (newest item first), if Config records it."""
    try:
        items = aws.client("config").get_resource_config_history(
            resourceType=resource_type, resourceId=resource_id, limit=10
        )["configurationItems"]
    except ClientError:
        return None  # Config off, resource not recorded, or no permission: just one source fewer
    for item in items:
        key = key_of(item)
        if key:
            return key
    return None


def _audit_history(remediation: str, resource_arn: str) -> str | None:
    from warden import audit

    for record in audit.history(resource_arn):
        after = record.get("after") or {}
        if record.get("remediation") == remediation and after.get("kms_key"):
            return after["kms_key"]
    return None


def _usable_key(aws, key: str) -> tuple[bool, str]:
    """Only an existing, enabled key may be put back; returns (usable, why not)."""
    try:
        metadata = aws.client("kms").describe_key(KeyId=key)["KeyMetadata"]
    except ClientError as error:
        return False, f"{key}: {error_code(error)}"
    if metadata["KeyState"] != "Enabled":
        return False, f"{key}: key is {metadata['KeyState']}"
    return True, ""


def resolve_key(aws, candidates: list[tuple[str, str | None]]) -> dict[str, Any]:
    """The first usable key of (source, key) candidates, with the reasons others were skipped."""
    skipped = []
    for source, key in candidates:
        if not key:
            continue
        usable, why = _usable_key(aws, key)
        if usable:
            return {"kms_key": key, "kms_key_source": source, "skipped": skipped}
        skipped.append(f"{source}: {why}")
    return {"kms_key": None, "kms_key_source": None, "skipped": skipped}


def _default_key() -> str | None:
    return os.environ.get("WARDEN_DEFAULT_KMS_KEY_ARN") or None


def key_candidates(
    aws,
    remediation: Remediation,
    finding: Finding,
    config_resource_id: str,
    key_of_config_item: Callable[[dict], str | None],
    with_default_key: bool = False,
) -> list[tuple[str, str | None]]:
    """The (source label, key or None) pairs to try, in KEY_SOURCES order. Every source is read, and
    the DefaultKmsKeyArn parameter only when `with_default_key` (S3, where no key means no fix)."""
    tagged_key = remediation.resource_tags(finding, aws).get(KEY_TAG)  # first: it raises ResourceGone
    keys = [
        _config_history(aws, remediation.resource_type, config_resource_id, key_of_config_item),
        _audit_history(remediation.name, finding.resource_arn),
        tagged_key,
    ]
    if with_default_key:
        keys.append(_default_key())
    return list(zip(KEY_SOURCES, keys))


# --- S3 default encryption --------------------------------------------------------------------


def _s3_rule(config: dict | None) -> dict:
    rules = (config or {}).get("Rules") or [{}]
    return rules[0]


def _s3_key_of_config_item(item: dict) -> str | None:
    raw = (item.get("supplementaryConfiguration") or {}).get("ServerSideEncryptionConfiguration")
    try:
        rules = (json.loads(raw) if isinstance(raw, str) else raw or {}).get("rules") or []
    except ValueError:
        return None
    for rule in rules:
        default = rule.get("applyServerSideEncryptionByDefault") or {}
        if default.get("sseAlgorithm") in ("aws:kms", "aws:kms:dsse") and default.get("kmsMasterKeyID"):
            return default["kmsMasterKeyID"]
    return None


def _s3_current_key(config: dict | None) -> str | None:
    default = _s3_rule(config).get("ApplyServerSideEncryptionByDefault") or {}
    return default.get("KMSMasterKeyID") if default.get("SSEAlgorithm", "").startswith("aws:kms") else None


def _same_key(a: str | None, b: str | None) -> bool:
    """Key ARNs and bare key ids name the same key."""
    return bool(a and b) and a.split("/")[-1] == b.split("/")[-1]


class RestoresAKey(Remediation):
    """A fix that puts a resource's KMS key back, found by looking it up (Config history, the audit
    table, tags, the default key): the snapshot holds those lookups besides the resource's own state."""

    volatile_snapshot_keys = KEY_LOOKUP_SNAPSHOT_KEYS

    def after_fix(self, finding: Finding, aws, result: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        # Only the resource is read again: the lookups are the before-snapshot's (volatile, never
        # compared for drift), so the re-read after the fix queries no history and no key.
        fresh = {**self.read_exposure(finding, aws), **{k: result["before"][k] for k in KEY_LOOKUP_SNAPSHOT_KEYS}}
        return fresh, self.exposed_in(finding, fresh, result)


@register
class RestoreBucketEncryption(RestoresAKey):
    name = "s3-restore-default-encryption"
    verified_statement = "the bucket's default encryption is SSE-KMS with the intended key"
    family = "encryption"
    resource_type = "AWS::S3::Bucket"
    triggers = Triggers(
        cloudtrail_events=("DeleteBucketEncryption", "PutBucketEncryption"),
        config_rules=("s3-default-encryption-kms",),
        securityhub_controls=("S3.17",),
        macie_types=("Policy:IAMUser/S3BucketEncryptionDisabled",),
    )
    summary = (
        "put the bucket's default encryption back to SSE-KMS with the customer-managed key it had (from AWS Config "
        "history, Warden's audit history, the warden:kms-key tag or DefaultKmsKeyArn), S3 Bucket Key on; "
        "without a known key, ask a person instead of guessing"
    )
    permissions = (
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketTagging",
        "s3:PutEncryptionConfiguration",
        *KEY_LOOKUP_PERMISSIONS,
    )
    verify_permissions = ("s3:GetEncryptionConfiguration",)
    tag_permissions = ("s3:GetBucketTagging",)
    # snapshot looks the key up again; DeleteBucketEncryption is authorized as s3:PutEncryptionConfiguration.
    rollback_permissions = permissions

    def ignore_reason(self, finding: Finding) -> str | None:
        return None  # the request never shows the key it replaced: always compare with history

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        with aws_errors(("NoSuchBucket",), "the bucket"):
            try:
                tag_set = aws.client("s3").get_bucket_tagging(Bucket=finding.resource_name)["TagSet"]
            except ClientError as error:
                if error_code(error) != "NoSuchTagSet":
                    raise
                tag_set = []
        return {t["Key"]: t["Value"] for t in tag_set}

    def read_exposure(self, finding: Finding, aws) -> dict[str, Any]:
        with aws_errors(("NoSuchBucket",), "the bucket"):
            try:
                return {"encryption": aws.client("s3").get_bucket_encryption(Bucket=finding.resource_name)["ServerSideEncryptionConfiguration"]}
            except ClientError as error:
                if error_code(error) != "ServerSideEncryptionConfigurationNotFoundError":
                    raise
                return {"encryption": None}

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        bucket, current = finding.resource_name, self.read_exposure(finding, aws)["encryption"]
        candidates = key_candidates(aws, self, finding, bucket, _s3_key_of_config_item, with_default_key=True)
        owner = key_owner(aws, _s3_current_key(current), finding.account)
        return {"encryption": current, "current_key_owner": owner, **resolve_key(aws, candidates)}

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        default = _s3_rule(before["encryption"]).get("ApplyServerSideEncryptionByDefault") or {}
        current_key = _s3_current_key(before["encryption"])
        if current_key and before.get("current_key_owner") == "customer":
            return []  # another customer-managed key of this account: the team's choice, not a downgrade
        key = before["kms_key"]
        if key is None:
            if current_key:
                return []  # SSE-KMS with a key, and no record of another one: nothing to restore
            raise NeedsDecision(
                f"default encryption of {finding.resource_name} is {default.get('SSEAlgorithm', 'off')} and no source "
                f"knows the customer-managed key it used ({', '.join(KEY_SOURCES)} were checked"
                + (f"; skipped {'; '.join(before['skipped'])}" if before["skipped"] else "")
                + f"). Tag the bucket {KEY_TAG}=<key ARN> or set DefaultKmsKeyArn, then replay the event."
            )
        if _same_key(current_key, key) and _s3_rule(before["encryption"]).get("BucketKeyEnabled"):
            return []
        was = f"SSE-KMS with {current_key}" if current_key else (default.get("SSEAlgorithm") or "no default encryption")
        undo = (
            f"aws s3api put-bucket-encryption --bucket {finding.resource_name} "
            f"--server-side-encryption-configuration '{json.dumps(before['encryption'])}'"
            if before["encryption"]
            else f"aws s3api delete-bucket-encryption --bucket {finding.resource_name}"
        )
        return [
            Change(
                action="s3:PutEncryptionConfiguration",
                summary=f"Default encryption restored: {was} -> SSE-KMS with key {key} (key from "
                f"{before['kms_key_source']}), S3 Bucket Key on",
                undo=undo,
                params={
                    "ServerSideEncryptionConfiguration": {
                        "Rules": [
                            {
                                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                                "BucketKeyEnabled": True,
                            }
                        ]
                    }
                },
            )
        ]

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        s3 = aws.client("s3")
        put = lambda c: s3.put_bucket_encryption(Bucket=finding.resource_name, **c.params)  # noqa: E731
        applied = apply_in_order(changes, put, ("NoSuchBucket",))
        key = changes[0].params["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
        return {"applied": applied, "kms_key": key["KMSMasterKeyID"]}

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        if fresh["encryption"] is None:
            return ["the bucket has no default encryption"]
        rule = _s3_rule(fresh["encryption"])
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        expected = ((result or {}).get("before") or {}).get("kms_key")
        if default.get("SSEAlgorithm") != "aws:kms":
            return [f"default encryption is {default.get('SSEAlgorithm')}, not SSE-KMS"]
        if expected and not _same_key(default.get("KMSMasterKeyID"), expected):
            return [f"default encryption uses {default.get('KMSMasterKeyID')}, not {expected}"]
        return []

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        s3 = aws.client("s3")
        if before["encryption"]:
            s3.put_bucket_encryption(Bucket=finding.resource_name, ServerSideEncryptionConfiguration=before["encryption"])
        else:
            s3.delete_bucket_encryption(Bucket=finding.resource_name)


# --- SQS queue encryption ---------------------------------------------------------------------


def _queue_url(finding: Finding) -> str:
    _, _, _, region, account, name = finding.resource_arn.split(":", 5)
    return f"https://sqs.{region}.amazonaws.com/{account}/{name}"


def _sqs_key_of_config_item(item: dict) -> str | None:
    try:
        configuration = json.loads(item.get("configuration") or "{}")
    except ValueError:
        return None
    return (configuration.get("Attributes") or configuration).get("KmsMasterKeyId")


QUEUE_GONE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


@register
class RestoreQueueEncryption(RestoresAKey):
    name = "sqs-restore-queue-encryption"
    summary = "turn the queue's server-side encryption back on"
    verified_statement = "the queue has server-side encryption"
    family = "encryption"
    resource_type = "AWS::SQS::Queue"
    triggers = Triggers(cloudtrail_events=("SetQueueAttributes",))
    permissions = (
        "sqs:GetQueueAttributes",
        "sqs:ListQueueTags",
        "sqs:SetQueueAttributes",
        *KEY_LOOKUP_PERMISSIONS,
    )
    verify_permissions = ("sqs:GetQueueAttributes",)
    tag_permissions = ("sqs:ListQueueTags",)
    rollback_permissions = permissions

    def ignore_reason(self, finding: Finding) -> str | None:
        attributes = (finding.details.get("requestParameters") or {}).get("attributes") or {}
        key = attributes.get("KmsMasterKeyId")
        turned_off = str(attributes.get("SqsManagedSseEnabled", "")).lower() == "false" or ("KmsMasterKeyId" in attributes and not key)
        downgraded = bool(key) and AWS_MANAGED_ALIAS_PREFIX in str(key)  # from a customer key to alias/aws/sqs
        if turned_off or downgraded:
            return None
        return "this SetQueueAttributes call did not turn encryption off or down (another customer-managed key is the team's choice)"

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        with aws_errors(QUEUE_GONE, "the queue"):
            return aws.client("sqs").list_queue_tags(QueueUrl=_queue_url(finding)).get("Tags", {})

    def read_exposure(self, finding: Finding, aws) -> dict[str, Any]:
        with aws_errors(QUEUE_GONE, "the queue"):
            attributes = aws.client("sqs").get_queue_attributes(
                QueueUrl=_queue_url(finding), AttributeNames=["SqsManagedSseEnabled", "KmsMasterKeyId"]
            )["Attributes"]
        return {"attributes": {k: attributes.get(k, "") for k in ("SqsManagedSseEnabled", "KmsMasterKeyId")}}

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        attributes = self.read_exposure(finding, aws)["attributes"]
        candidates = key_candidates(aws, self, finding, _queue_url(finding), _sqs_key_of_config_item)
        owner = key_owner(aws, attributes["KmsMasterKeyId"] or None, finding.account)
        return {"attributes": attributes, "current_key_owner": owner, **resolve_key(aws, candidates)}

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        attributes = before["attributes"]
        downgraded = before.get("current_key_owner") == "aws" and before["kms_key"] and not _same_key(attributes["KmsMasterKeyId"], before["kms_key"])
        if not downgraded and (attributes["KmsMasterKeyId"] or attributes["SqsManagedSseEnabled"].lower() == "true"):
            return []  # encrypted (with a customer-managed key, or no customer key is known to go back to)
        undo = f"aws sqs set-queue-attributes --queue-url {_queue_url(finding)} --attributes SqsManagedSseEnabled=false"
        if downgraded:
            undo = f"aws sqs set-queue-attributes --queue-url {_queue_url(finding)} --attributes KmsMasterKeyId={attributes['KmsMasterKeyId']}"
        if before["kms_key"]:
            was = f"SSE-KMS with the AWS-managed {attributes['KmsMasterKeyId']}" if downgraded else "none"
            return [
                Change(
                    "sqs:SetQueueAttributes",
                    f"Queue encryption restored: {was} -> SSE-KMS with key {before['kms_key']} (key from {before['kms_key_source']})",
                    undo,
                    {"Attributes": {"KmsMasterKeyId": before["kms_key"]}},
                )
            ]
        return [
            Change(
                "sqs:SetQueueAttributes",
                "Queue encryption restored: none -> SSE-SQS (SQS-managed keys; no previous KMS key is known)",
                undo,
                {"Attributes": {"SqsManagedSseEnabled": "true"}},
            )
        ]

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        sqs = aws.client("sqs")
        applied = apply_in_order(changes, lambda c: sqs.set_queue_attributes(QueueUrl=_queue_url(finding), **c.params), QUEUE_GONE)
        return {"applied": applied, "kms_key": changes[0].params["Attributes"].get("KmsMasterKeyId")}

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        attributes = fresh["attributes"]
        if attributes["KmsMasterKeyId"] or attributes["SqsManagedSseEnabled"].lower() == "true":
            return []
        return ["the queue has no server-side encryption"]

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        aws.client("sqs").set_queue_attributes(QueueUrl=_queue_url(finding), Attributes=before["attributes"])


# --- SNS topic encryption ---------------------------------------------------------------------

SNS_MANAGED_KEY = "alias/aws/sns"
TOPIC_GONE = ("NotFound", "NotFoundException")


def _sns_key_of_config_item(item: dict) -> str | None:
    try:
        configuration = json.loads(item.get("configuration") or "{}")
    except ValueError:
        return None
    return configuration.get("KmsMasterKeyId")


@register
class RestoreTopicEncryption(RestoresAKey):
    name = "sns-restore-topic-encryption"
    summary = "encrypt the topic with its KMS key again"
    verified_statement = "the topic is encrypted with a KMS key"
    family = "encryption"
    resource_type = "AWS::SNS::Topic"
    triggers = Triggers(cloudtrail_events=("SetTopicAttributes",))
    permissions = (
        "sns:GetTopicAttributes",
        "sns:ListTagsForResource",
        "sns:SetTopicAttributes",
        *KEY_LOOKUP_PERMISSIONS,
    )
    verify_permissions = ("sns:GetTopicAttributes",)
    tag_permissions = ("sns:ListTagsForResource",)
    rollback_permissions = permissions

    def ignore_reason(self, finding: Finding) -> str | None:
        params = finding.details.get("requestParameters") or {}
        value = str(params.get("attributeValue") or "")
        if params.get("attributeName") == "KmsMasterKeyId" and (not value or AWS_MANAGED_ALIAS_PREFIX in value):
            return None  # removed, or moved to the AWS-managed alias/aws/sns
        return "this SetTopicAttributes call did not remove or downgrade the topic's encryption (another customer-managed key is the team's choice)"

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        with aws_errors(TOPIC_GONE, "the topic"):
            tags = aws.client("sns").list_tags_for_resource(ResourceArn=finding.resource_arn).get("Tags", [])
        return {t["Key"]: t["Value"] for t in tags}

    def read_exposure(self, finding: Finding, aws) -> dict[str, Any]:
        with aws_errors(TOPIC_GONE, "the topic"):
            attributes = aws.client("sns").get_topic_attributes(TopicArn=finding.resource_arn)["Attributes"]
        return {"kms_master_key_id": attributes.get("KmsMasterKeyId", "")}

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        current = self.read_exposure(finding, aws)["kms_master_key_id"]
        candidates = key_candidates(aws, self, finding, finding.resource_arn, _sns_key_of_config_item)
        return {"kms_master_key_id": current, "current_key_owner": key_owner(aws, current, finding.account), **resolve_key(aws, candidates)}

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        current = before["kms_master_key_id"]
        downgraded = before.get("current_key_owner") == "aws" and before["kms_key"] and not _same_key(current, before["kms_key"])
        if current and not downgraded:
            return []  # encrypted (with a customer-managed key, or no customer key is known to go back to)
        key, source = before["kms_key"], before["kms_key_source"]
        if not key:
            key, source = SNS_MANAGED_KEY, "the fallback: no previous key is known"
        return [
            Change(
                "sns:SetTopicAttributes",
                f"Topic encryption restored: {f'SSE with the AWS-managed {current}' if current else 'none'} -> SSE with key {key} (key from {source})",
                f"aws sns set-topic-attributes --topic-arn {finding.resource_arn} --attribute-name KmsMasterKeyId --attribute-value '{current}'",
                {"AttributeName": "KmsMasterKeyId", "AttributeValue": key},
            )
        ]

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        sns = aws.client("sns")
        applied = apply_in_order(changes, lambda c: sns.set_topic_attributes(TopicArn=finding.resource_arn, **c.params), TOPIC_GONE)
        key = changes[0].params["AttributeValue"]
        return {"applied": applied, "kms_key": None if key == SNS_MANAGED_KEY else key}

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        return [] if fresh["kms_master_key_id"] else ["the topic has no server-side encryption"]

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        aws.client("sns").set_topic_attributes(
            TopicArn=finding.resource_arn, AttributeName="KmsMasterKeyId", AttributeValue=before["kms_master_key_id"]
        )


# --- EBS encryption by default ----------------------------------------------------------------


@register
class EnableEbsEncryptionByDefault(ToggleRemediation):
    """A regional account setting: new EBS volumes (SageMaker and training instances' too) are encrypted."""

    name = "ec2-enable-ebs-encryption-by-default"
    summary = "turn EBS encryption by default on in the region"
    verified_statement = "EBS encryption by default is on in {finding.region}"
    family = "encryption"
    resource_type = ACCOUNT_RESOURCE_TYPE
    triggers = Triggers(
        cloudtrail_events=("DisableEbsEncryptionByDefault",),
        config_rules=("ec2-ebs-encryption-by-default",),
        securityhub_controls=("EC2.7",),
    )
    permissions = ("ec2:GetEbsEncryptionByDefault", "ec2:EnableEbsEncryptionByDefault")
    verify_permissions = ("ec2:GetEbsEncryptionByDefault",)
    rollback_permissions = ("ec2:GetEbsEncryptionByDefault", "ec2:DisableEbsEncryptionByDefault")

    snapshot_key = "enabled"
    change_action = "ec2:EnableEbsEncryptionByDefault"
    change_summary = (
        "EBS encryption by default turned on in {finding.region}: off -> on "
        "(new volumes only; existing ones are unchanged)"
    )
    change_undo = "aws ec2 disable-ebs-encryption-by-default --region {finding.region}"
    still_off = "EBS encryption by default is still off in {finding.region}"

    def is_on(self, finding: Finding, aws) -> bool:
        return aws.client("ec2").get_ebs_encryption_by_default()["EbsEncryptionByDefault"]

    def turn_on(self, finding: Finding, aws) -> None:
        aws.client("ec2").enable_ebs_encryption_by_default()

    def turn_off(self, finding: Finding, aws) -> None:
        aws.client("ec2").disable_ebs_encryption_by_default()
