"""SageMaker notebook instances: root access and IMDSv1 fixed in place; direct internet access stopped.

UpdateNotebookInstance can turn root access off and require IMDSv2, but only on a stopped notebook.
So a running notebook is stopped, updated and started again; nothing on its ML storage volume is
touched. Direct internet access (and a missing KMS key) cannot be changed on an existing notebook:
a notebook with direct internet access is stopped and left stopped, and the message names the
recreate steps and what they cost; one whose only gap is its KMS key is left alone with the same
steps (outcome needs-decision). In dry-run Warden only says so.
"""

from __future__ import annotations

import time
from typing import Any

from warden.finding import Finding
from warden.remediations.base import (
    Change,
    NeedsDecision,
    PartiallyApplied,
    Remediation,
    RetryLater,
    Triggers,
    apply_in_order,
    aws_errors,
    register,
)

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
# How long apply waits for a stop, and then for the update, to settle (Stopped) before going on. A
# notebook usually stops in one to three minutes; the Encryption function's timeout leaves room for both.
SETTLE_SECONDS = 360
POLL_SECONDS = 10


def _exposures(settings: dict[str, Any]) -> dict[str, bool]:
    """Which exposures a notebook's settings show; absent values are AWS's defaults (Enabled, IMDSv1 allowed)."""
    return {
        "direct internet access": (settings.get("direct_internet_access") or "Enabled") == "Enabled",
        "root access": (settings.get("root_access") or "Enabled") == "Enabled",
        "IMDSv1": str(settings.get("minimum_imds_version") or "1") != "2",
        "no KMS key": not settings.get("kms_key_id"),
    }


def _request_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The settings a CloudTrail request sets, in the snapshot's words (absent: AWS's default)."""
    imds = (params.get("instanceMetadataServiceConfiguration") or {}).get("minimumInstanceMetadataServiceVersion")
    return {"direct_internet_access": params.get("directInternetAccess"), "root_access": params.get("rootAccess"),
            "minimum_imds_version": imds, "kms_key_id": params.get("kmsKeyId")}  # fmt: skip


def recreate_steps(name: str, before: dict[str, Any], gaps: list[str]) -> list[str]:
    """What a person does for the settings that cannot change in place, and what it costs."""
    return [
        f"{(text := ' and '.join(gaps))[0].upper()}{text[1:]} cannot be changed on an existing notebook: recreate it.",
        "  Blast radius: the notebook's URL changes, its ML storage volume (/home/ec2-user/SageMaker) is NOT carried over,",
        "  running kernels and unsaved work are lost; lifecycle configs and Git repositories must be attached again.",
        "  1. Save its work: push notebooks to Git, or copy /home/ec2-user/SageMaker to S3 (aws s3 sync) from a terminal in it.",
        f"  2. aws sagemaker create-notebook-instance --notebook-instance-name {name}-v2 "
        f"--instance-type {before.get('instance_type')} --role-arn {before.get('role_arn')} "
        "--subnet-id <private subnet> --security-group-ids <sg> --direct-internet-access Disabled --root-access Disabled "
        "--kms-key-id <key ARN> --instance-metadata-service-configuration MinimumInstanceMetadataServiceVersion=2",
        f"  3. Restore the work into {name}-v2, then: aws sagemaker delete-notebook-instance --notebook-instance-name {name}",
    ]


@register
class SecureNotebook(Remediation):
    name = "sagemaker-stop-exposed-notebook"  # kept: settings documents and audit records name it
    summary = (
        "turn root access off and require IMDSv2 in place (stop, update, start again), stop a notebook with direct "
        "internet access, and say how to recreate one that lacks a KMS key"
    )
    verified_statement = (
        "the notebook instance has no root access and no IMDSv1 where Warden changed them, and is stopped if it has direct internet access"
    )
    family = "encryption"
    long_running = True  # stop, update and start may each take minutes to settle (SETTLE_SECONDS)
    resource_type = "AWS::SageMaker::NotebookInstance"
    triggers = Triggers(
        cloudtrail_events=("CreateNotebookInstance", "UpdateNotebookInstance"),
        config_rules=(
            "sagemaker-notebook-no-direct-internet-access",
            "sagemaker-notebook-instance-root-access-check",
            "sagemaker-notebook-instance-kms-key-configured",
        ),
        securityhub_controls=("SageMaker.1", "SageMaker.3"),
    )
    permissions = (
        "sagemaker:DescribeNotebookInstance",
        "sagemaker:StopNotebookInstance",
        "sagemaker:UpdateNotebookInstance",
        "sagemaker:StartNotebookInstance",
    )
    verify_permissions = ("sagemaker:DescribeNotebookInstance",)
    rollback_permissions = (
        "sagemaker:DescribeNotebookInstance",
        "sagemaker:StartNotebookInstance",
        "sagemaker:UpdateNotebookInstance",
    )
    tag_permissions = ("sagemaker:ListTags",)

    def ignore_reason(self, finding: Finding) -> str | None:
        params = finding.details.get("requestParameters")
        if params is None or finding.source != "cloudtrail":
            return None
        exposures = _exposures(_request_settings(params))
        if finding.type == "UpdateNotebookInstance":
            enables_root = params.get("rootAccess") == "Enabled"
            enables_imdsv1 = "instanceMetadataServiceConfiguration" in params and exposures["IMDSv1"]
            if not (enables_root or enables_imdsv1):
                return "this update enabled neither root access nor IMDSv1 (direct internet access cannot be updated)"
            return None
        if not any(exposures.values()):
            return "the notebook was created without direct internet access or root access, with IMDSv2 and a KMS key"
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
            "minimum_imds_version": (notebook.get("InstanceMetadataServiceConfiguration") or {}).get("MinimumInstanceMetadataServiceVersion"),
            "kms_key_id": notebook.get("KmsKeyId"),
            "subnet_id": notebook.get("SubnetId"),
            "instance_type": notebook.get("InstanceType"),
            "role_arn": notebook.get("RoleArn"),
        }

    def plan(self, finding: Finding, before: dict[str, Any]) -> list[Change]:
        name, status = finding.resource_name, before["status"]
        exposed = _exposures(before)
        update: dict[str, Any] = {}
        if exposed["root access"]:
            update["RootAccess"] = "Disabled"
        if exposed["IMDSv1"]:
            update["InstanceMetadataServiceConfiguration"] = {"MinimumInstanceMetadataServiceVersion": "2"}
        internet = exposed["direct internet access"]
        if not update and not (internet and status in RUNNING):
            if exposed["no KMS key"] or (internet and status not in ("Stopped", "Failed", "Deleting")):
                raise NeedsDecision(f"SageMaker notebook {name} ({status}): " + " ".join(recreate_steps(name, before, self._gaps(before))))
            return []  # nothing to fix in place, and a stopped notebook with direct internet access is not reachable
        if status in TRANSITIONAL:
            raise RetryLater(f"the notebook instance is {status}; it can be changed once it is InService or Stopped")
        if status == "Deleting":
            return []
        changes = []
        running = status in RUNNING
        if running:
            why = "it has direct internet access, which cannot be changed in place" if internet else "its settings change only when stopped"
            changes.append(Change(
                "sagemaker:StopNotebookInstance",
                f"Notebook instance stopped: InService -> Stopped ({why}; its ML storage volume is kept)",
                f"aws sagemaker start-notebook-instance --notebook-instance-name {name}",
            ))  # fmt: skip
        if update:
            done = [f"root access {before.get('root_access') or 'Enabled'} -> Disabled"] if "RootAccess" in update else []
            done += ["instance metadata: IMDSv1 allowed -> IMDSv2 required"] if "InstanceMetadataServiceConfiguration" in update else []
            undo_root = f" --root-access {before.get('root_access') or 'Enabled'}" if "RootAccess" in update else ""
            undo_imds = (" --instance-metadata-service-configuration MinimumInstanceMetadataServiceVersion="
                         f"{before.get('minimum_imds_version') or '1'}") if "InstanceMetadataServiceConfiguration" in update else ""  # fmt: skip
            changes.append(Change(
                "sagemaker:UpdateNotebookInstance",
                f"Notebook updated in place: {'; '.join(done)}",
                f"aws sagemaker update-notebook-instance --notebook-instance-name {name}{undo_root}{undo_imds} (on the stopped notebook)",
                {"NotebookInstanceName": name, **update},
            ))  # fmt: skip
        if running and not internet:
            changes.append(Change(
                "sagemaker:StartNotebookInstance",
                "Notebook instance started again: Stopped -> Pending -> InService (it was running before the fix)",
                f"aws sagemaker stop-notebook-instance --notebook-instance-name {name}",
            ))  # fmt: skip
        return changes

    @staticmethod
    def _gaps(before: dict[str, Any]) -> list[str]:
        """What only a new notebook fixes, in the message's words."""
        exposed = _exposures(before)
        return [words for gap, words in (("direct internet access", "direct internet access"), ("no KMS key", "a missing KMS key"))
                if exposed[gap]]  # fmt: skip

    def advice(self, finding: Finding, before: dict[str, Any]) -> list[str]:
        gaps = self._gaps(before)
        if not gaps:
            return []
        internet = "direct internet access" in gaps
        left = ["The notebook is left stopped: starting it again gives it direct internet access."] if internet else []
        return left + recreate_steps(finding.resource_name, before, gaps)

    def apply(self, finding: Finding, changes: list[Change], aws) -> dict[str, Any]:
        sagemaker, name = aws.client("sagemaker"), finding.resource_name
        actions = [c.action for c in changes]

        def call(change: Change) -> None:
            if change.action == "sagemaker:StopNotebookInstance":
                sagemaker.stop_notebook_instance(NotebookInstanceName=name)
                if "sagemaker:UpdateNotebookInstance" in actions:
                    self._settle(sagemaker, name, "the stop", actions)
            elif change.action == "sagemaker:UpdateNotebookInstance":
                sagemaker.update_notebook_instance(**change.params)
                if "sagemaker:StartNotebookInstance" in actions:
                    self._settle(sagemaker, name, "the update", actions)
            else:
                sagemaker.start_notebook_instance(NotebookInstanceName=name)

        return {"applied": apply_in_order(changes, call, NOTEBOOK_GONE)}

    @staticmethod
    def _settle(sagemaker, name: str, after: str, actions: list[str]) -> None:
        """Wait until the notebook is Stopped; if it takes too long, say exactly what is left to do."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while (status := sagemaker.describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"]) != "Stopped":
            if status == "Failed" or time.monotonic() > deadline:
                left = ", ".join(a.split(":")[1] for a in actions[actions.index("sagemaker:StopNotebookInstance" if after == "the stop"
                                                                           else "sagemaker:UpdateNotebookInstance") + 1:])  # fmt: skip
                raise PartiallyApplied(
                    f"the notebook is {status} {SETTLE_SECONDS}s after {after}; it is not reachable while stopped. "
                    f"Still to do once it is Stopped: {left} (aws sagemaker ... --notebook-instance-name {name})"
                )
            time.sleep(POLL_SECONDS)

    def exposed_in(self, finding: Finding, fresh: dict[str, Any], result: dict[str, Any] | None = None) -> list[str]:
        after = fresh
        changes = (result or {}).get("changes") or []
        exposed = _exposures(after)
        found = []
        for change in changes:
            params = change.get("params") or {}
            if "RootAccess" in params and exposed["root access"]:
                found.append("root access is still enabled")
            if "InstanceMetadataServiceConfiguration" in params and exposed["IMDSv1"]:
                found.append("IMDSv1 is still allowed")
        if exposed["direct internet access"] and after["status"] not in ("Stopping", "Stopped"):
            found.append(f"the notebook with direct internet access is {after['status']}")
        return found

    def state(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        # A notebook Warden stopped is Stopping, then Stopped by itself: not a change by anyone.
        settled = {"Stopping": "Stopped", "Pending": "InService", "Updating": "Stopped"}
        return {**snapshot, "status": settled.get(snapshot["status"], snapshot["status"])}

    def rollback(self, finding: Finding, before: dict[str, Any], aws) -> None:
        sagemaker, name = aws.client("sagemaker"), finding.resource_name
        restore = {}
        if (before.get("root_access") or "Enabled") == "Enabled":
            restore["RootAccess"] = "Enabled"
        if str(before.get("minimum_imds_version") or "1") != "2":
            restore["InstanceMetadataServiceConfiguration"] = {"MinimumInstanceMetadataServiceVersion": before.get("minimum_imds_version") or "1"}
        if restore:  # UpdateNotebookInstance works on a stopped notebook only
            status = self._describe(finding, aws)["NotebookInstanceStatus"]
            if status not in ("Stopped", "Failed"):
                raise NeedsDecision(f"the notebook is {status}: stop it first "
                                    f"(aws sagemaker stop-notebook-instance --notebook-instance-name {name}), then roll back again")  # fmt: skip
            sagemaker.update_notebook_instance(NotebookInstanceName=name, **restore)
        if before["status"] in RUNNING:
            sagemaker.start_notebook_instance(NotebookInstanceName=name)
