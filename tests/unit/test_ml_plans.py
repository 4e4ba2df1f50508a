"""The ML controls' plans, pure: what needs a person instead of a change."""

from __future__ import annotations

import pytest

from warden.findings import Finding
from warden.remediations.base import NeedsDecision
from warden.remediations.bedrock_logging import RestoreInvocationLogging, weakened
from warden.remediations.sagemaker import SecureNotebook

ARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-logging-configuration"
S3_LOGGING = {"s3Config": {"bucketName": "ml-audit-logs"}, "textDataDeliveryEnabled": True}


def finding(resource_type: str, arn: str) -> Finding:
    return Finding(id="f", source="cloudtrail", type="X", account="123456789012", region="us-east-1", resource_type=resource_type,
                   resource_arn=arn, actor=None, time="2026-11-21T10:00:00+00:00", severity="HIGH", raw_ref="x")  # fmt: skip


def test_bedrock_logging_with_nothing_on_record_is_a_decision_not_a_guess():
    with pytest.raises(NeedsDecision, match="no earlier good configuration on record"):
        RestoreInvocationLogging().plan(finding("AWS::Bedrock::ModelInvocationLoggingConfiguration", ARN),
                                        {"logging_config": None, "restore": None, "restore_source": None})  # fmt: skip


def test_bedrock_logging_through_cloudwatch_is_not_restored_because_that_passes_a_role():
    restore = {**S3_LOGGING, "cloudWatchConfig": {"logGroupName": "bedrock", "roleArn": "arn:aws:iam::123456789012:role/BedrockLogs"}}
    with pytest.raises(NeedsDecision, match=r"role arn:aws:iam::123456789012:role/BedrockLogs.*no iam:PassRole"):
        RestoreInvocationLogging().plan(finding("AWS::Bedrock::ModelInvocationLoggingConfiguration", ARN),
                                        {"logging_config": None, "restore": restore, "restore_source": "x"})  # fmt: skip


def test_what_counts_as_weakened():
    assert weakened(None, S3_LOGGING) == ["invocation logging is off (no configuration)"]
    assert weakened({**S3_LOGGING, "textDataDeliveryEnabled": False}, S3_LOGGING) == ["textDataDeliveryEnabled turned off"]
    assert weakened({**S3_LOGGING, "imageDataDeliveryEnabled": True}, S3_LOGGING) == []


NOTEBOOK = finding("AWS::SageMaker::NotebookInstance", "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb")
SAFE = {"status": "InService", "direct_internet_access": "Disabled", "root_access": "Disabled", "minimum_imds_version": "2",
        "kms_key_id": "arn:aws:kms:us-east-1:123456789012:key/k", "instance_type": "ml.t3.medium", "role_arn": "arn:aws:iam::123456789012:role/r"}  # fmt: skip


def test_a_notebook_whose_only_gap_is_its_kms_key_needs_a_decision():
    with pytest.raises(NeedsDecision, match="A missing KMS key cannot be changed on an existing notebook"):
        SecureNotebook().plan(NOTEBOOK, {**SAFE, "kms_key_id": None})
    assert SecureNotebook().plan(NOTEBOOK, SAFE) == []


def test_a_stopped_notebook_is_updated_and_not_started():
    changes = SecureNotebook().plan(NOTEBOOK, {**SAFE, "status": "Stopped", "root_access": "Enabled"})
    assert [c.action for c in changes] == ["sagemaker:UpdateNotebookInstance"]
    assert changes[0].params == {"NotebookInstanceName": "nb", "RootAccess": "Disabled"}
