"""A deleted notebook instance is "resource gone", with the errors real SageMaker returns.

moto cannot show this (its ListTags crashes on an unknown ARN), so botocore's Stubber returns the
real shapes. SageMaker models no not-found error for these calls (botocore's sagemaker model lists
none for ListTags, DescribeNotebookInstance or StopNotebookInstance):
- DescribeNotebookInstance / StopNotebookInstance on a missing notebook: ValidationException whose
  message is "RecordNotFound" (what terraform-provider-aws matches in
  internal/service/sagemaker/notebook_instance.go, and what moto returns).
- ListTags on a deleted resource: ValidationException (aws/amazon-sagemaker-feedback#108).
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from warden.findings import parse_finding
from warden.remediations.base import ResourceGone
from warden.remediations.sagemaker import SecureNotebook

EVENTS = Path(__file__).resolve().parents[2] / "events"
REMEDIATION = SecureNotebook()


class _Aws:
    def __init__(self, sagemaker):
        self.sagemaker = sagemaker

    def client(self, service):
        assert service == "sagemaker"
        return self.sagemaker


@pytest.fixture
def finding():
    return parse_finding(json.loads((EVENTS / "cloudtrail-sagemaker-createnotebookinstance-internet.json").read_text()))


@pytest.fixture
def sagemaker():
    client = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _validation(stubber, method, message, params):
    stubber.add_client_error(method, "ValidationException", message, 400, expected_params=params)


def test_list_tags_on_a_deleted_notebook_is_resource_gone(finding, sagemaker):
    client, stubber = sagemaker
    _validation(stubber, "list_tags", f"Requested resource not found: {finding.resource_arn}", {"ResourceArn": finding.resource_arn})
    with pytest.raises(ResourceGone, match="notebook instance no longer exists"):
        REMEDIATION.resource_tags(finding, _Aws(client))


def test_describe_of_a_deleted_notebook_is_resource_gone(finding, sagemaker):
    client, stubber = sagemaker
    _validation(stubber, "describe_notebook_instance", "RecordNotFound", {"NotebookInstanceName": finding.resource_name})
    with pytest.raises(ResourceGone):
        REMEDIATION.snapshot(finding, _Aws(client))


def test_notebook_deleted_between_snapshot_and_stop_is_resource_gone(finding, sagemaker):
    client, stubber = sagemaker
    _validation(stubber, "stop_notebook_instance", "RecordNotFound", {"NotebookInstanceName": finding.resource_name})
    changes = REMEDIATION.plan(finding, {"status": "InService", "direct_internet_access": "Enabled", "root_access": "Enabled",
                                         "instance_type": "ml.t3.medium", "role_arn": "arn:aws:iam::111122223333:role/x"})
    with pytest.raises(ResourceGone, match="vanished during sagemaker:StopNotebookInstance"):
        REMEDIATION.apply(finding, changes, _Aws(client))


def test_other_validation_errors_are_not_mistaken_for_a_deleted_notebook(finding, sagemaker):
    """Stopping a notebook that is no longer InService is also a ValidationException: the error
    must reach the workflow as what it is, not be reported as "the notebook was deleted"."""
    client, stubber = sagemaker
    _validation(stubber, "stop_notebook_instance", "Status (Stopped) not in ([InService]). Unable to transition to (Stopping)",
                {"NotebookInstanceName": finding.resource_name})
    changes = REMEDIATION.plan(finding, {"status": "InService", "direct_internet_access": "Enabled", "root_access": "Enabled",
                                         "instance_type": "ml.t3.medium", "role_arn": "arn:aws:iam::111122223333:role/x"})
    with pytest.raises(ClientError, match="ValidationException"):
        REMEDIATION.apply(finding, changes, _Aws(client))


def test_triage_reports_the_deleted_notebook_as_gone(finding, sagemaker, monkeypatch):
    """Triage maps the tag lookup's ResourceGone to the decision 'resource-gone', no remediation."""
    from warden import steps
    from warden.policy import Settings

    client, stubber = sagemaker
    _validation(stubber, "list_tags", "", {"ResourceArn": finding.resource_arn})
    monkeypatch.setattr(steps, "for_finding", lambda _finding, **_: _Aws(client))
    monkeypatch.setenv("WARDEN_ACCOUNT_ID", finding.account)  # the stack's own account: guarded
    settings = Settings(mode="enforce", family_modes={}, exempt_tag_key="warden:exempt", exempt_resource_patterns=(),
                        protected_principal_arns=(), warden_role_arns=(), dedupe_window_seconds=300)
    decision, reason, _escalation = steps._decide(finding, REMEDIATION, settings)
    assert decision == "resource-gone"
    assert "notebook instance no longer exists" in reason
