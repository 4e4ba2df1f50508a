"""The message a person paged at night reads: what was found, where, what was done, how to undo.

One message per outcome. Message attributes `severity`, `outcome` and `remediation` let
subscribers filter (e.g. an SNS filter policy that drops `duplicate` and `exempt`).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from warden.macie import describe as sensitive_data_lines
from warden.ownership import Owner
from warden.prevention import summary_lines as prevention_lines
from warden.reverts import message_lines as revert_lines
from warden.template_patches import render as render_patches

OUTCOMES = (
    "remediated",
    "would-remediate",
    "exempt",
    "duplicate",
    "resource-gone",
    "needs-decision",
    "awaiting-approval",
    "approval-rejected",
    "expired",
    "restored",
    "escalated",
    "failed",
    "rejected",
    "settings-changed",
    "wiring-test",
)
SUBJECT_LIMIT = 99  # SNS allows fewer than 100 characters

HEADLINES = {
    "remediated": "Fixed",
    "would-remediate": "DRY RUN, would fix",
    "exempt": "Exempt, left alone",
    "duplicate": "Duplicate suppressed",
    "resource-gone": "Resource gone, nothing to fix",
    "needs-decision": "NEEDS A DECISION",
    "awaiting-approval": "APPROVAL NEEDED",
    "approval-rejected": "Change rejected by a person, left as is",
    "expired": "APPROVAL EXPIRED, nothing changed",
    "restored": "Throttle lifted, limits restored",
    "escalated": "STILL ABUSED, throttle stays on",
    "failed": "FAILED to fix",
    "rejected": "Rejected event",
    "settings-changed": "SETTINGS SWITCH PROTECTION OFF",
    "wiring-test": "Wiring test received, nothing changed",
}

# What the finding means, per remediation, in the words of the subject line.
EXPOSURES = {
    "s3-quarantine-public-bucket": "public S3 bucket",
    "s3-bucket-block-public-access": "S3 bucket Block Public Access off",
    "s3-account-block-public-access": "account S3 Block Public Access off",
    "s3-restore-default-encryption": "S3 default encryption weakened",
    "sqs-restore-queue-encryption": "SQS queue encryption off",
    "sns-restore-topic-encryption": "SNS topic encryption off",
    "ec2-enable-ebs-encryption-by-default": "EBS encryption by default off",
    "kms-keep-key-usable": "KMS key disabled or pending deletion",
    "kms-enable-key-rotation": "KMS key rotation off",
    "cloudtrail-restart-logging": "CloudTrail logging stopped",
    "sagemaker-stop-exposed-notebook": "SageMaker notebook exposed",
    "apigw-throttle-stage": "abused API stage",
    "sagemaker-report-abused-endpoint": "abused SageMaker endpoint",
    "sagemaker-needs-recreate": "SageMaker resource must be recreated",
    "bedrock-restore-invocation-logging": "Bedrock invocation logging off",
}


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    attributes: dict[str, str]

    def sns_attributes(self) -> dict[str, dict[str, str]]:
        return {k: {"DataType": "String", "StringValue": v} for k, v in self.attributes.items()}


# --- what came from the account is shown, never rendered ----------------------------------------
# Tags, names, policy text and the reasons quoting them reach on-call's chat and e-mail. A tag value
# such as `[approve](https://evil)` or `<!channel>` must read as text there, not act as a link or a
# mention, and no value may start a line of its own (a fake command or a fake console link).
_COMMAND = re.compile(r"^\s+(aws|python -m warden_ops) ")
_URL_SCHEME = re.compile(r"(?i)\b(h)tt(ps?)://")
_ANGLE = re.compile(r"<(?=[!@#]|[a-z][a-z0-9+.-]*:)", re.IGNORECASE)  # Slack's <url|text>, <!channel>, <@user>


def inert(line: str) -> str:
    """One line of a message made inert: no line breaks, no markdown link (`](` split), no Slack
    link or mention (`<` replaced), no clickable URL outside a command (`https://` -> `hxxps://`;
    commands keep theirs so they still run). It reads the same to a person."""
    line = line.replace("\r", " ").replace("\n", " ").replace("](", "] (")
    line = _ANGLE.sub("\u2039", line)
    if not _COMMAND.match(line) or "`" in line:  # a backtick would end the command's code span in chat
        line = _URL_SCHEME.sub(lambda m: f"{m.group(1)}xx{m.group(2)}://", line).replace("www.", "www[.]")
    return line


def _subject(text: str) -> str:
    # SNS subjects: printable ASCII, no line breaks.
    clean = re.sub(r"[^\x20-\x7e]", "?", text)
    return clean if len(clean) <= SUBJECT_LIMIT else clean[: SUBJECT_LIMIT - 3] + "..."


def console_link(finding: dict) -> str:
    region = finding["region"]
    if finding["resource_type"] == "AWS::S3::Bucket":
        bucket = finding["resource_arn"].split(":::", 1)[1]
        return f"https://s3.console.aws.amazon.com/s3/buckets/{quote(bucket)}?region={region}&tab=permissions"
    if finding["resource_type"] == "AWS::SageMaker::Endpoint":
        name = (finding.get("details") or {}).get("endpoint_name") or finding["resource_arn"].split("/")[-1]  # ARNs are lower case
        return f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/endpoints/{quote(name)}"
    if finding["resource_type"] == "AWS::::Account":
        return f"https://s3.console.aws.amazon.com/s3/bap?region={region}"
    if finding["resource_type"] == "AWS::IAM::Policy" and ":policy/" in finding["resource_arn"]:
        return f"https://console.aws.amazon.com/iam/home#/policies/details/{quote(finding['resource_arn'], safe='')}?section=permissions"
    api_id = (finding.get("details") or {}).get("api_id")
    if finding["resource_type"] in ("AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage") and api_id:
        return f"https://{region}.console.aws.amazon.com/apigateway/main/apis/{quote(api_id)}/stages?api={quote(api_id)}&region={region}"
    return f"https://{region}.console.aws.amazon.com/console/home?region={region}"


def resource_label(finding: dict) -> str:
    """The resource in a few words for a subject line: a bucket or key name, an API's name and stage."""
    details = finding.get("details") or {}
    if details.get("stage") and (details.get("api_name") or details.get("api_id")):
        return f"{details.get('api_name') or details['api_id']} stage {details['stage']}"
    return finding["resource_arn"].split(":")[-1]


def execution_link(execution_arn: str | None) -> str | None:
    """Where on-call can see the execution: the console page of a Standard one. An Express one has
    none (the console shows Express executions only from logs with execution data, which Warden's
    workflow does not keep), so its ARN and where its record is."""
    if not execution_arn or execution_arn.count(":") < 5:
        return None
    fields = execution_arn.split(":")
    if fields[5] == "express":
        return f"{execution_arn} (an Express execution has no console page: python -m warden_ops history shows its record)"
    region = fields[3]
    return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}"


def _urgent(finding: dict | None) -> bool:
    """Macie (or the security team's tag) says the exposed bucket holds sensitive data."""
    return bool(((finding or {}).get("details") or {}).get("sensitive_data"))


def _severity(outcome: str, finding: dict | None, revert: bool = False, escalated: bool = False) -> str:
    if revert and outcome == "remediated":
        return "CRITICAL" if _urgent(finding) else "HIGH"  # the owner's deploy undid the fix: the escalation pages
    if outcome in ("failed", "rejected", "needs-decision", "escalated", "awaiting-approval", "expired", "settings-changed"):
        return "CRITICAL" if _urgent(finding) else "HIGH"
    if escalated:  # e.g. a resource re-exposed right after Warden fixed it: someone is working against the fix
        return "CRITICAL" if _urgent(finding) else "HIGH"
    if outcome in ("exempt", "duplicate", "resource-gone", "approval-rejected"):
        return "INFO"
    if outcome == "wiring-test":
        return "LOW"
    return (finding or {}).get("severity", "MEDIUM")


def switch_role_link(member: dict) -> str:
    """The console's switch-role page for a member account (MemberConsoleRoleName). Every part is
    URL-quoted (the account's name too), so the line stays a plain link whatever the name holds."""
    role = os.environ.get("WARDEN_MEMBER_CONSOLE_ROLE", "OrganizationAccountAccessRole")
    return (
        f"https://signin.aws.amazon.com/switchrole?account={quote(member['account'])}&roleName={quote(role)}"
        f"&displayName={quote(member.get('name') or member['account'])}"
    )


def _account_lines(finding: dict, member: dict | None) -> list[str]:
    """Where, by account: in organization mode also the account's name, its OU and a link that
    switches the console into it."""
    if not member:
        return [f"  Account {finding['account']}, region {finding['region']}"]
    ou = f", OU {member['ou']}" if member.get("ou") else ", directly under the organization's root"
    return [
        f"  Account {finding['account']} ({member.get('name') or 'no name'}{ou}), region {finding['region']}",
        f"  Switch into it: {switch_role_link(member)}",
    ]


def _what_found(finding: dict, member: dict | None = None) -> list[str]:
    actor = finding.get("actor") or "not stated by the source"
    return [
        "WHAT WAS FOUND",
        f"  {finding['source']} reported {finding['type']} at {finding['time']}"
        + (" (found by python -m warden_ops sweep)" if (finding.get("details") or {}).get("found_by") == "sweep" else ""),
        f"  Caused by: {actor}",
        f"  Severity: {finding['severity']}   Source reference: {finding['raw_ref']}",
        "",
        "WHERE",
        *_account_lines(finding, member),
        f"  Resource: {finding['resource_arn']}",
        f"  Console:  {console_link(finding)}",
        "",
        *sensitive_data_lines(finding),
    ]


def _changes(title: str, changes: list[dict]) -> list[str]:
    lines = [title]
    lines += [f"  - {c['summary']}" for c in changes] or ["  (nothing)"]
    return lines + [""]


# A change's summary says what was done ("Removed ...", "Key enabled: Disabled -> Enabled"); a dry
# run says the same as what Warden would do.
_DONE_VERBS = {"Removed": "remove", "Tagged": "tag", "Deleted": "delete", "Detached": "detach", "Revoked": "revoke", "Added": "add"}
_DONE_PARTICIPLE = re.compile(r"\b(turned on|turned off|restored|enabled|disabled|cancelled|deactivated|rewritten|stopped|throttled|lowered|detached|deleted)\b")


def would(summary: str) -> str:
    """'Removed 1 public statement(s)' -> 'Would remove 1 public statement(s)'; 'Key enabled: Disabled
    -> Enabled' -> 'Key would be enabled: Disabled -> Enabled'; anything else -> 'Would change: ...'."""
    first, _, rest = summary.partition(" ")
    if first in _DONE_VERBS:
        return f"Would {_DONE_VERBS[first]} {rest}"
    head = re.split(r"[:(]", summary, maxsplit=1)[0]
    match = _DONE_PARTICIPLE.search(head)
    if match and match.start() > 0:
        return f"{summary[: match.start()]}would be {summary[match.start():]}".replace(" now ", " then ")
    return f"Would change: {summary}"


def _how_to_let_warden_fix(remediation: str) -> list[str]:
    mode_parameter = "IamMode" if remediation.startswith("iam-") else "Mode"
    return [
        "TO FIX IT",
        "  By hand: make the changes listed under WHAT WARDEN WOULD DO; the console link under WHERE opens the resource.",
        f"  Or let Warden make them, for this remediation only: add \"{remediation}\": \"enforce\" to \"modes\" in the",
        "  run-time settings (applies within a minute):",
        "    python -m warden_ops settings show > settings.json      # then edit settings.json",
        "    python -m warden_ops settings set settings.json",
        f"  Or for every {'IAM remediation' if mode_parameter == 'IamMode' else 'remediation'}: make deploy PARAMS=\"{mode_parameter}=enforce\"",
        "  Warden then fixes it when the exposure is next reported (AWS Config re-evaluation, a repeated",
        "  GuardDuty finding, the next CloudTrail change).",
        "",
    ]


def _advice(result: dict) -> list[str]:
    advice = result.get("advice") or []
    return ["WHAT YOU NEED TO DO", *[f"  {line}" for line in advice], ""] if advice else []


def _ownership(state: dict[str, Any]) -> list[str]:
    """Who owns the resource; for a managed one, that its next deploy reverts the fix and the template change that keeps it."""
    owner = Owner.from_dict(state.get("owner"))
    if owner is None:
        return []
    if not owner.managed:
        return ["WHO OWNS IT", f"  Owner: {owner.describe()}", ""]
    return ["WHO OWNS IT (make the fix permanent)", *render_patches(owner, (state.get("result") or {}).get("template_patch") or []), ""]


def _undo(changes: list[dict], finding_id: str) -> list[str]:
    lines = ["HOW TO UNDO (newest change first)"]
    lines += [f"  {c['undo']}" for c in reversed(changes)]
    lines += [f"  Or all at once, exactly as before: python -m warden_ops rollback {finding_id}"]
    lines += [f"  The exact before-state is in the audit table, record finding_id={finding_id}.", ""]
    return lines


def compose(outcome: str, state: dict[str, Any], execution_arn: str | None = None) -> Message:
    """The message for one workflow outcome. `state` is the workflow state at that point."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; expected one of {OUTCOMES}")
    finding = state.get("finding")
    remediation = state.get("remediation") or "none"
    if outcome == "settings-changed":
        return _settings_alert(state.get("settings_alert") or {}, remediation, execution_arn)
    result = state.get("result") or {}
    changes = result.get("changes") or []
    lines: list[str] = []

    if finding is None:
        # Rejected events, or triage itself failing: there is no finding to describe, only the event.
        reason = state.get("reason") or _error_text(state)
        subject = f"[Warden] {HEADLINES[outcome]}: {reason}"
        opening = (
            "Warden could not act on an event because it is malformed, truncated or of a kind it does not know."
            if outcome == "rejected"
            else "Warden's triage step failed on an event; the event was not acted on."
        )
        lines += [
            opening,
            "",
            "REASON",
            f"  {reason}",
            "",
            "EVENT",
            f"  {state.get('event_summary') or _summary_of_raw(state)}",
            "",
            "WHAT TO DO",
            "  Nothing was changed. If the event came from AWS, check the EventBridge rule patterns;",
            "  otherwise find who sent it to the bus. The execution input holds the full event.",
            "",
        ]
    else:
        exposure = EXPOSURES.get(remediation, finding["resource_type"])
        headline = "REVERTED BY A DEPLOY, fixed again" if state.get("revert") and outcome == "remediated" else HEADLINES[outcome]
        if _urgent(finding):
            exposure += " with sensitive data"
            headline = f"URGENT {headline}" if outcome == "awaiting-approval" else headline
        subject = f"[Warden] {headline}: {exposure} {resource_label(finding)}"
        if state.get("revert") and outcome in ("remediated", "would-remediate", "awaiting-approval"):
            owner = Owner.from_dict(state.get("owner"))
            patches = (state.get("result") or {}).get("template_patch") or []
            lines += revert_lines(state["revert"], render_patches(owner, patches)[2:] if owner and owner.managed else [])
        if state.get("escalation"):
            lines += ["ESCALATED", f"  {state['escalation']}: find out who and why.", ""]
        lines += _what_found(finding, state.get("member"))
        if outcome == "remediated":
            # Why Warden acted (which mode), and what else on-call should know, e.g. an expired exemption.
            lines += ["DECISION", f"  {state.get('decision', '-')}: {state.get('reason', '')}"]
            approval = state.get("approval") or {}
            if approval:
                lines += [f"  Approved by {approval.get('by') or 'an unnamed caller'} at {approval.get('at', '?')}"]
            lines += [""]
            lines += _changes("WHAT WARDEN DID (before -> after)", changes)
            verification = result.get("verification") or {}  # the family function's re-read after its fix
            found = "; ".join(verification.get("exposed") or []) or verification.get("verified") or "nothing left exposed"
            lines += ["VERIFICATION", f"  Re-read the resource after the change: {found}.", ""]
            lines += _advice(result)
            lines += _ownership(state)
            lines += prevention_lines(remediation)
            lines += _undo(changes, finding["id"])
        elif outcome == "would-remediate":
            lines += [f"DRY RUN: nothing was changed ({state.get('reason') or 'Mode is dry-run'}).", ""]
            lines += _changes("WHAT WARDEN WOULD DO", [{**c, "summary": would(c["summary"])} for c in changes])
            lines += _advice(result)
            lines += _ownership(state)
            lines += prevention_lines(remediation)
            lines += _how_to_let_warden_fix(remediation)
        elif outcome == "restored":
            cooldown = state.get("cooldown") or {}
            lines += [
                f"The alarm is {cooldown.get('alarm_state', 'no longer in ALARM')} after {cooldown.get('round', '?')} "
                "cool-down check(s): the limits from before the throttle are back.",
                "",
            ]
            lines += _changes("WHAT WARDEN RESTORED", [{"summary": s} for s in (state.get("restore") or {}).get("restored", [])])
        elif outcome == "escalated":
            cooldown = state.get("cooldown") or {}
            lines += [
                f"The alarm is still {cooldown.get('alarm_state', 'ALARM')} after {cooldown.get('round', '?')} cool-down "
                "checks. Warden stopped waiting and LEFT THE THROTTLE ON. It will not lift it by itself: a person decides.",
                "",
                "KEEP IT (the abuse goes on)",
                "  Nothing to run: the stage stays throttled until someone lifts it. Meanwhile block the abusive",
                "  callers (WAF rate-based rule, API keys, the authorizer).",
                "",
                "LIFT IT (the callers are blocked, or the alarm was wrong)",
                f"  python -m warden_ops rollback {finding['id']}",
                "  or by hand, newest change first:",
                *[f"  {c['undo']}" for c in reversed(changes)],
                "",
            ]
        elif outcome == "awaiting-approval":
            expires = state.get("approval_expires_at", "the approval timeout")
            lines += [f"APPROVAL NEEDED: nothing was changed yet ({state.get('reason') or 'Mode is approve'}).", ""]
            if _urgent(finding):
                lines += ["URGENT: the bucket holds sensitive data (above) and stays exposed until someone answers.", ""]
            lines += _changes("WHAT WARDEN WILL DO IF APPROVED", [{**c, "summary": would(c["summary"])} for c in changes])
            lines += _advice(result)
            lines += _ownership(state)
            lines += [
                f"APPROVE OR REJECT BEFORE {expires}",
                f"  python -m warden_ops approve {finding['id']}",
                f"  python -m warden_ops reject {finding['id']} --reason 'why'",
                "  Warden re-reads the resource and plans again when approved. Without an answer in time nothing is",
                "  applied and you are told (expired).",
                "",
            ]
        elif outcome == "approval-rejected":
            approval = state.get("approval") or {}
            why = f": {approval['reason']}" if approval.get("reason") else " (no reason given)"
            lines += [
                "DECISION",
                f"  Rejected by {approval.get('by') or 'an unnamed caller'} at {approval.get('at', '?')}{why}",
                "",
                "  Nothing was changed; the exposure is still there. Fix it by hand, or exempt the resource if it is intended.",
                "",
            ]
            lines += _changes("THE CHANGE THAT WAS REJECTED", changes)
        elif outcome == "expired":
            lines += [
                "WHY NOTHING WAS CHANGED",
                f"  Nobody approved or rejected the change within {state.get('approval_timeout_seconds', '?')} seconds.",
                "  The exposure is still there: fix it by hand, or replay the event to ask again.",
                "",
            ]
            lines += _changes("THE CHANGE THAT WAS NOT APPROVED", changes)
        elif outcome == "needs-decision":
            lines += [
                "WHY WARDEN DID NOT ACT",
                f"  {_error_text(state).split(': ', 1)[-1]}",
                "",
                "  Nothing was changed. Decide the fix, apply it by hand or give Warden what it needs and replay.",
                "",
            ]
            lines += prevention_lines(remediation)
        elif outcome == "wiring-test":
            lines += [
                "WIRING TEST",
                f"  {state.get('reason', '')}",
                "",
                "  Events from this source reach Warden. Nothing else to do: a sample is never acted on.",
                "",
            ]
        elif outcome == "rejected":  # a finding triage would not trust: unconfirmed, or from another account
            lines += [
                "WHY WARDEN DID NOT ACT",
                f"  {state.get('reason', '')}",
                "",
                "  Nothing was changed. If the source did not send this finding, find who started the workflow",
                "  (CloudTrail: states:StartExecution, events:PutEvents) with the execution below.",
                "",
            ]
        elif outcome in ("exempt", "duplicate", "resource-gone"):
            why = _error_text(state) if state.get("error") else state.get("reason", "")
            lines += ["DECISION", f"  {HEADLINES[outcome]}: {why}", ""]
            if outcome == "exempt":
                lines += ["  The exposure is still there. Remove the exemption if it is no longer intended.", ""]
        elif outcome == "failed":
            lines += [
                "WHAT WENT WRONG",
                f"  {_error_text(state)}",
                "",
                "  The resource may still be exposed. Check it now in the console link above.",
                "  Any change listed below as applied was made; the rest were not.",
                "",
            ]
            if changes:
                lines += _changes("PLANNED CHANGES", changes)
                lines += _undo(changes, finding["id"])
        if state.get("security_hub"):
            lines += ["SECURITY HUB", f"  {state['security_hub']}", ""]
        lines += [f"Remediation: {remediation}   Decision: {state.get('decision', '-')}   Finding id: {finding['id']}"]

    trusted = {f"  Console:  {console_link(finding)}"} if finding is not None else set()
    if state.get("member"):  # Warden's own link, every part quoted
        trusted.add(f"  Switch into it: {switch_role_link(state['member'])}")
    lines = [line if line in trusted else inert(line) for line in lines]  # tags, names, policy text, reasons
    link = execution_link(execution_arn)
    if link:
        lines.append(f"Workflow execution: {link}")
    return Message(
        subject=_subject(inert(subject)),
        body="\n".join(lines),
        attributes={
            "severity": _severity(outcome, finding, bool(state.get("revert")), bool(state.get("escalation"))),
            "outcome": outcome,
            "remediation": remediation,
        },
    )


def _settings_alert(alert: dict, remediation: str, execution_arn: str | None) -> Message:
    """The run-time settings switch protection off (warden.settings.protection_removed)."""
    parameter, version = alert.get("parameter", "the settings parameter"), alert.get("version", "?")
    lines = [
        f"Warden's run-time settings ({parameter}, version {version}) switch protection off:",
        "",
        "WHAT IS OFF",
        *[f"  - {item}" for item in alert.get("removed") or ["(not stated)"]],
        "",
        "WHO CAN DO THIS",
        f"  Anyone allowed ssm:PutParameter on {parameter}. Warden's tamper alert for the same change names",
        "  who made it; CloudTrail has the PutParameter call.",
        "",
        "WHAT TO DO",
        "  If nobody planned this, put the previous document back and find out who changed it:",
        f"  aws ssm get-parameter-history --name {parameter}",
        "  python -m warden_ops settings set previous-settings.json",
        "",
        "This message is sent once per settings version; findings meanwhile follow these settings.",
    ]
    link = execution_link(execution_arn)
    if link:
        lines.append(f"Workflow execution: {link}")
    return Message(
        subject=_subject(f"[Warden] {HEADLINES['settings-changed']}: {parameter} version {version}"),
        body="\n".join(lines),
        attributes={"severity": "HIGH", "outcome": "settings-changed", "remediation": remediation},
    )


def _summary_of_raw(state: dict) -> str:
    fields = ("id", "source", "detail-type", "account", "region", "time")
    return ", ".join(f"{k}={str(state[k])[:80]!r}" for k in fields if k in state) or "not readable"


def _error_text(state: dict) -> str:
    error = state.get("error") or {}
    name, cause = error.get("Error", "Error"), error.get("Cause", "")
    # Lambda errors arrive as a JSON cause with errorMessage; show the message, not the JSON.
    match = re.search(r'"errorMessage"\s*:\s*"((?:[^"\\]|\\.)*)"', cause or "")
    return f"{name}: {match.group(1) if match else cause}"[:2000]


def compose_alarm(event: dict[str, Any]) -> Message:
    """A CloudWatch alarm's Lambda action (failed executions, DLQ depth) as an on-call message."""
    data = event.get("alarmData") or {}
    name = data.get("alarmName", "unknown alarm")
    state = (data.get("state") or {}).get("value", "UNKNOWN")
    reason = (data.get("state") or {}).get("reason", "")
    description = (data.get("configuration") or {}).get("description", "")
    region = event.get("region", "")
    body = "\n".join(
        [
            inert(f"Warden's alarm {name} is {state}."),
            "",
            "WHAT IT MEANS",
            inert(f"  {description}"),
            "",
            "WHY",
            inert(f"  {reason}"),
            "",
            f"Alarm: https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{quote(name)}",
        ]
    )
    return Message(
        subject=_subject(inert(f"[Warden] ALARM {state}: {name}")),
        body=body,
        attributes={"severity": "HIGH" if state == "ALARM" else "INFO", "outcome": "alarm", "remediation": "none"},
    )


# --- AWS Chatbot (Amazon Q Developer in chat applications) --------------------------------------

FORMATS = ("text", "chatbot")
ACTION_NEEDED = ("failed", "rejected", "needs-decision", "escalated", "alarm", "awaiting-approval", "expired")  # a person must act: flagged in chat
CHAT_DESCRIPTION_LIMIT = 3500  # well inside what Slack and Teams show in one message
_HEADER = re.compile(r"^([A-Z][A-Z ]{3,}[A-Z])(.*)$")


def _markdown(body: str) -> str:
    """The text body in chat markdown: section headers bold, commands as code."""
    lines = []
    for line in body.splitlines():
        header = _HEADER.match(line)
        if header:
            lines.append(f"*{header.group(1)}*{header.group(2)}")
        elif re.match(r"^\s+(aws|python) ", line) and "`" not in line:  # a backtick would end the code span
            lines.append(f"{line[: len(line) - len(line.lstrip())]}`{line.strip()}`")
        else:
            lines.append(line)
    text = "\n".join(lines)
    return text if len(text) <= CHAT_DESCRIPTION_LIMIT else text[: CHAT_DESCRIPTION_LIMIT - 40] + "\n... (the e-mail has the full message)"


def chatbot_message(message: Message, finding: dict | None) -> dict[str, Any]:
    """The message in AWS Chatbot's custom notification schema (version 1.0, source custom), so a
    Slack or Teams channel subscribed through Chatbot shows it; Chatbot drops plain SNS text."""
    outcome, severity = message.attributes["outcome"], message.attributes["severity"]
    next_steps = []
    if finding is not None and outcome == "awaiting-approval":
        next_steps += [f"Approve: `python -m warden_ops approve {finding['id']}`",
                       f"Reject: `python -m warden_ops reject {finding['id']} --reason '...'`"]  # fmt: skip
    if finding is not None and outcome in ("remediated", "failed", "escalated"):
        next_steps.append(f"Undo: `python -m warden_ops rollback {finding['id']}`")
    if finding is not None:
        next_steps.append(f"Console: {console_link(finding)}")
    chat: dict[str, Any] = {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": (":rotating_light: " if outcome in ACTION_NEEDED and severity in ("HIGH", "CRITICAL") else "") + message.subject,
            "description": _markdown(message.body),
            "nextSteps": next_steps,
            "keywords": [outcome, severity, message.attributes["remediation"]],
        },
        "metadata": {"summary": message.subject, "eventType": outcome},
    }
    if finding is not None:
        chat["id"] = finding["id"]
        # One thread per resource: the fix, its duplicates and its rollback read as one conversation.
        chat["metadata"].update(
            threadId=finding["resource_arn"],
            relatedResources=[finding["resource_arn"]],
            additionalContext={"finding_id": finding["id"], "account": finding["account"], "region": finding["region"]},
        )
    return chat


def publish_arguments(message: Message, finding: dict | None, notification_format: str = "text") -> dict[str, Any]:
    """sns.publish arguments. `chatbot`: chat subscribers (and any other protocol) get the Chatbot
    JSON, e-mail subscribers still get the text."""
    arguments = {"Subject": message.subject, "Message": message.body, "MessageAttributes": message.sns_attributes()}
    if notification_format == "chatbot":
        chat = json.dumps(chatbot_message(message, finding))
        arguments.update(MessageStructure="json", Message=json.dumps({"default": chat, "email": message.body}))
    return arguments
