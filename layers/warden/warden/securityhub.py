"""Every outcome reflected in Security Hub (when the SecurityHub parameter is enabled).

- A finding that came from Security Hub (a control finding) or whose copy Security Hub holds (a
  GuardDuty finding: same id) gets its workflow status and a note (BatchUpdateFindings).
- Any other outcome is imported as Warden's own ASFF finding (BatchImportFindings), one per
  finding id, so the later outcomes of one finding (approved, restored) update the same record.

Organization mode: the hub is meant to be Security Hub's administrator, which holds every member's
findings (aggregated by Security Hub itself) and may update them with BatchUpdateFindings from its
own account. An import is different: with the default product, AWS accepts only findings whose
AwsAccountId is the importing account (BatchImportFindings, "the identifier of the account that you
are calling BatchImportFindings from needs to be the same as the AwsAccountId attribute"). So
Warden's own finding about a member is imported in the hub's product with the hub's AwsAccountId,
and names the member account in its resources (AwsAccount) and in ProductFields warden/account.

Security Hub is told before the SNS message goes out, so the message can say what Security Hub
now shows, or that updating it failed: a Security Hub problem never hides the notification.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from warden.aws import client, own_account
from warden.finding import partition_of
from warden.observability import logger, outcome_metric

NOTE_LIMIT = 512  # BatchUpdateFindings Note.Text
DESCRIPTION_LIMIT = 1024  # ASFF Description
SCHEMA_VERSION = "2018-10-08"

# The exposure is gone: Security Hub shows RESOLVED (and compliance PASSED on Warden's own findings).
GONE = frozenset({"remediated", "restored", "resource-gone"})
# A rejected event has no finding. A duplicate is reflected only on a finding Security Hub holds (it
# says which finding is being handled); Warden does not import a second finding of its own for it.
SILENT = frozenset({"rejected", "wiring-test"})  # a wiring test is a sample: nothing to record
# A throttle contains abuse rather than ending it: resolved only when the limits are restored.
STILL_OPEN = {("throttle", "remediated")}

# CloudFormation type -> ASFF resource type; the first five are the types warden.findings reads
# (SECURITY_HUB_RESOURCES, checked by a test), kept here as data so that Notify never loads the parser.
ASFF_TYPE_OF = {
    "AWS::S3::Bucket": "AwsS3Bucket",
    "AWS::KMS::Key": "AwsKmsKey",
    "AWS::SageMaker::NotebookInstance": "AwsSageMakerNotebookInstance",
    "AWS::IAM::Policy": "AwsIamPolicy",
    "AWS::::Account": "AwsAccount",
    "AWS::SQS::Queue": "AwsSqsQueue",
    "AWS::SNS::Topic": "AwsSnsTopic",
    "AWS::CloudTrail::Trail": "AwsCloudTrailTrail",
    "AWS::IAM::Role": "AwsIamRole",
    "AWS::IAM::User": "AwsIamUser",
    "AWS::IAM::AccessKey": "AwsIamAccessKey",
    "AWS::ApiGateway::Stage": "AwsApiGatewayStage",
    "AWS::ApiGatewayV2::Stage": "AwsApiGatewayV2Stage",
}
FINDING_TYPES = {
    "s3_public": "Effects/Data Exposure",
    "encryption": "Software and Configuration Checks/AWS Security Best Practices",
    "iam": "Software and Configuration Checks/AWS Security Best Practices",
    "throttle": "Effects/Denial of Service",
}


class SecurityHubRefused(Exception):
    """Security Hub answered, but did not take the update or the import (the reason is its own)."""


def enabled() -> bool:
    return os.environ.get("WARDEN_SECURITY_HUB", "disabled") == "enabled"


def _resolved(outcome: str, family: str | None) -> bool:
    return outcome in GONE and (family, outcome) not in STILL_OPEN


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def source_finding(finding: dict) -> dict[str, str] | None:
    """The Security Hub finding this finding is a copy of: {Id, ProductArn}, or None."""
    partition, region = partition_of(finding["region"]), finding["region"]
    if finding["source"] == "securityhub":
        return {"Id": finding["raw_ref"], "ProductArn": f"arn:{partition}:securityhub:{region}::product/aws/securityhub"}
    if finding["source"] == "guardduty" and finding["raw_ref"].startswith("arn:"):
        # GuardDuty's Security Hub integration keeps the GuardDuty finding ARN as the ASFF Id.
        return {"Id": finding["raw_ref"], "ProductArn": f"arn:{partition}:securityhub:{region}::product/aws/guardduty"}
    return None


def note(outcome: str, subject: str, state: dict) -> str:
    finding = state["finding"]
    text = f"Warden {outcome}: {subject.removeprefix('[Warden] ')}. "
    if outcome in ("exempt", "duplicate") and state.get("reason"):
        text += f"{state['reason']}. "  # which exemption, or which finding is being handled
    text += f"Audit record finding_id={finding['id']}"
    if outcome == "remediated":
        text += f"; undo: python -m warden_ops rollback {finding['id']}"
    return _cut(text, NOTE_LIMIT)


def warden_finding(outcome: str, state: dict[str, Any], subject: str, body: str) -> dict[str, Any]:
    """Warden's own ASFF finding for a finding that Security Hub does not hold."""
    finding = state["finding"]
    region = finding["region"]
    account = own_account()  # the importing account: the only AwsAccountId AWS accepts (module docstring)
    partition = partition_of(region)
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    resolved = _resolved(outcome, state.get("family"))
    remediation = state.get("remediation") or "none"
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": f"warden/{finding['id']}",
        "ProductArn": f"arn:{partition}:securityhub:{region}:{account}:product/{account}/default",
        "GeneratorId": f"warden/{remediation}",
        "AwsAccountId": account,
        "Types": [FINDING_TYPES.get(state.get("family") or "", FINDING_TYPES["encryption"])],
        "CreatedAt": finding["time"],
        "UpdatedAt": now,
        "FirstObservedAt": finding["time"],
        "LastObservedAt": now,
        "Severity": {"Label": finding["severity"]},
        "Title": _cut(subject, 256),
        "Description": _cut(body, DESCRIPTION_LIMIT),
        "Resources": [{
            "Type": ASFF_TYPE_OF.get(finding["resource_type"], "Other"),
            "Id": finding["resource_arn"],
            "Partition": partition,
            "Region": region,
        }, *_member(finding["account"], account, partition, region)],
        # Workflow is set only when the finding is created; later, Security Hub itself moves it to
        # RESOLVED when compliance turns PASSED (and back to NEW if it fails again).
        "Compliance": {"Status": "PASSED" if resolved else "FAILED"},
        "Workflow": {"Status": "RESOLVED" if resolved else "NOTIFIED"},
        "RecordState": "ACTIVE",
        "ProductFields": {
            "warden/outcome": outcome,
            "warden/remediation": remediation,
            "warden/findingId": _cut(finding["id"], 1024),
            "warden/source": finding["source"],
            "warden/account": finding["account"],
        },
    }


def _member(member: str, hub: str, partition: str, region: str) -> list[dict[str, str]]:
    """A member's account as a resource of the hub's finding (organization mode), so that Security
    Hub's filters on resource id find it; nothing when the finding is in the hub's own account."""
    if member == hub:
        return []
    return [{"Type": "AwsAccount", "Id": f"AWS::::Account:{member}", "Partition": partition, "Region": region}]


def _update(identifier: dict[str, str], outcome: str, state: dict, subject: str) -> str | None:
    """BatchUpdateFindings; None if Security Hub does not hold that finding (then Warden imports its own)."""
    status = "RESOLVED" if _resolved(outcome, state.get("family")) else "NOTIFIED"
    response = client("securityhub").batch_update_findings(
        FindingIdentifiers=[identifier],
        Workflow={"Status": status},
        Note={"Text": note(outcome, subject, state), "UpdatedBy": "warden"},
    )
    if response.get("ProcessedFindings"):
        return f"finding {identifier['Id']} set to {status}, with a note"
    problem = (response.get("UnprocessedFindings") or [{}])[0]
    if problem.get("ErrorCode") != "FindingNotFound":
        raise SecurityHubRefused(f"{problem.get('ErrorCode', 'error')}: {problem.get('ErrorMessage', 'no reason given')}")
    logger.info("security hub holds no such finding; importing Warden's own", extra={"finding": identifier["Id"]})
    return None


def _import(outcome: str, state: dict, subject: str, body: str) -> str:
    asff = warden_finding(outcome, state, subject, body)
    response = client("securityhub").batch_import_findings(Findings=[asff])
    if response.get("FailedCount"):
        failed = (response.get("FailedFindings") or [{}])[0]
        raise SecurityHubRefused(f"{failed.get('ErrorCode', 'error')}: {failed.get('ErrorMessage', 'no reason given')}")
    done = f"Warden finding {asff['Id']} imported, compliance {asff['Compliance']['Status']}"
    if asff["AwsAccountId"] != state["finding"]["account"]:
        done += (
            f", in the hub account {asff['AwsAccountId']}'s Security Hub: AWS imports a finding only into the "
            f"account that sends it, so it names account {state['finding']['account']} as a resource"
        )
    return done


def report(outcome: str, state: dict[str, Any], subject: str, body: str) -> str | None:
    """Reflect one outcome in Security Hub. Returns the line for the notification; never raises."""
    finding = state.get("finding")
    if not enabled() or finding is None or outcome in SILENT:
        return None
    identifier = source_finding(finding)
    if outcome == "duplicate" and identifier is None:
        return None
    try:
        done = _update(identifier, outcome, state, subject) if identifier else None
        if done is None:
            done = _import(outcome, state, subject, body)
            if identifier:
                done += f" (Security Hub holds no finding {identifier['Id']})"
    except (ClientError, BotoCoreError, SecurityHubRefused) as error:
        outcome_metric("SecurityHubFailures", outcome)
        logger.warning("security hub update failed", extra={"error": str(error)})
        return f"NOT UPDATED: {_cut(str(error), 300)}"
    outcome_metric("SecurityHubUpdates", outcome)
    return done
