"""Stop SageMaker notebook instances with direct internet access or root access.

Neither setting can be changed on an existing instance, so the smallest safe step is to stop it:
the ML storage volume (and everything on it) is kept; nothing is deleted. The message says how to
recreate the notebook inside a VPC. In dry-run Warden only says so.
"""

from __future__ import annotations

from typing import Any

from warden.finding import Finding
from warden.remediations.base import Change, RetryLater, Remediation, Triggers, apply_in_order, aws_errors, register

# SageMaker has no not-found error for notebook instances (botocore's model lists none for these
# calls): DescribeNotebookInstance and StopNotebookInstance answer a missing notebook with
# ValidationException "RecordNotFound". The same code also means "wrong state" (stopping a stopped
# notebook), which is not "gone", so the message decides.
NOTEBOOK_GONE = (("ValidationException", "RecordNotFound"),)
# ListTags on a deleted SageMaker resource answers ValidationException with no documented message
# (aws/amazon-sagemaker-feedback#108); the ARN is built from a validated name, so there the code alone decides.
TAGS_GONE = ("ValidationException",)
RUNNING = ("InService",)
TRANSITIONAL = ("Pending", "Updating", "Stopping")


def _exposures(direct_internet: str | None, root: str | None) -> list[str]:
    found = []
    if (direct_internet or "Enabled") == "Enabled":  # AWS's default when the call leaves it out
        found.append("direct internet access")
    if (root or "Enabled") == "Enabled":
        found.append("root access")
    return found


@register
class StopExposedNotebook(Remediation):
    name = "sagemaker-stop-exposed-notebook"
    family = "encryption"
    resource_type = "AWS::SageMaker::NotebookInstance"
    triggers = Triggers(
        cloudtrail_events=("CreateNotebookInstance", "UpdateNotebookInstance"),
        config_rules=("sagemaker-notebook-no-direct-internet-access",),
        securityhub_controls=("SageMaker.1",),
    )
    permissions = ("sagemaker:DescribeNotebookInstance", "sagemaker:StopNotebookInstance")
    verify_permissions = ("sagemaker:DescribeNotebookInstance",)
    rollback_permissions = ("sagemaker:DescribeNotebookInstance", "sagemaker:StartNotebookInstance")
    tag_permissions = ("sagemaker:ListTags",)

    def ignore_reason(self, finding: Finding) -> str | None:
        params = finding.details.get("requestParameters")
        if params is None:
            return None
        if finding.type == "UpdateNotebookInstance" and "rootAccess" not in params:
            return "this update did not change root access, and direct internet access cannot be updated"
        if not _exposures(params.get("directInternetAccess"), params.get("rootAccess")):
            return "the notebook has neither direct internet access nor root access"
        return None

    def resource_tags(self, finding: Finding, aws) -> dict[str, str]:
        with aws_errors(TAGS_GONE, "the notebook instance"):
            tags = aws.client("sagemaker").list_tags(ResourceArn=finding.resource_arn).get("Tags", [])
        return {t["Key"]: t["Value"] for t in tags}

    def _describe(self, finding: Finding, aws) -> dict[str, Any]:
        with aws_errors(NOTEBOOK_GONE, "the notebook instance"):
            return aws.client("sagemaker").describe_notebook_instance(NotebookInstanceName=finding.resource_name)

    def snapshot(self, finding: Finding, aws) -> dict[str, Any]:
        notebook = self._describe(finding, aws)
        return {
            "status": notebook["NotebookInstanceStatus"],
            "direct_internet_access": notebook.get("DirectInternetAccess"),
            "root_access": notebook.get("RootAccess"),
            "subnet_id": notebook.get("SubnetId"),
            "instance_type": notebook.get("InstanceType"),
            "role_arn": notebook.get("RoleArn"),
        }

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        exposures = _exposures(before["direct_internet_access"], before["root_access"])
        if not exposures or before["status"] in ("Stopped", "Failed", "Deleting"):
            return []
        if before["status"] in TRANSITIONAL:
            raise RetryLater(f"the notebook instance is {before['status']}; it can be stopped once InService")
        return [
            Change(
                "sagemaker:StopNotebookInstance",
                f"Notebook instance stopped: InService -> Stopping (it has {' and '.join(exposures)}, which cannot "
                "be changed in place; its ML storage volume is kept)",
                f"aws sagemaker start-notebook-instance --notebook-instance-name {finding.resource_name}",
            )
        ]

    def advice(self, finding: Finding, before: dict[str, Any]) -> list[str]:
        name = finding.resource_name
        return [
            "Recreate the notebook inside a VPC, without direct internet access and root access:",
            "  1. Copy its work: start it in a private network, or attach its volume's data via a lifecycle script.",
            f"  2. aws sagemaker create-notebook-instance --notebook-instance-name {name}-vpc "
            f"--instance-type {before.get('instance_type')} --role-arn {before.get('role_arn')} "
            "--subnet-id <private subnet> --security-group-ids <sg> --direct-internet-access Disabled --root-access Disabled",
            f"  3. When the new one works: aws sagemaker delete-notebook-instance --notebook-instance-name {name}",
        ]

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        sagemaker = aws.client("sagemaker")
        stop = lambda c: sagemaker.stop_notebook_instance(NotebookInstanceName=finding.resource_name)  # noqa: E731
        return {"applied": apply_in_order(changes, stop, NOTEBOOK_GONE)}

    def verify(self, finding: Finding, aws, result: dict[str, Any] | None = None) -> list[str]:
        status = self._describe(finding, aws)["NotebookInstanceStatus"]
        return [] if status in ("Stopping", "Stopped") else [f"the notebook instance is {status}"]

    def state(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        # A notebook Warden stopped is Stopping, then Stopped by itself: not a change by anyone.
        settled = {"Stopping": "Stopped", "Pending": "InService"}
        return {**snapshot, "status": settled.get(snapshot["status"], snapshot["status"])}

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        if before["status"] in RUNNING:
            aws.client("sagemaker").start_notebook_instance(NotebookInstanceName=finding.resource_name)
