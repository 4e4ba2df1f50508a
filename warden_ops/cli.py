"""python -m warden_ops: rollback, history, prevent, approve/reject, settings and sweep against a deployed stack (or a twin).

Exit status: 0 done, 1 refused (nothing was changed), 2 failed or bad input, 3 AWS not reachable as
configured (no credentials, no region, an expired session): one line says which and what to do.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from warden import authorization, history, prevention, settings
from warden.audit import decode_item
from warden.ownership import Owner
from warden.template_patches import render as render_patches
from warden_ops import rollback as operator_rollback
from warden_ops import sweep
from warden_ops.sweep import DEFAULT_RATE
from warden_ops.target import AwsUnreachable, Stack, Target

EXIT = {"rolled-back": 0, "refused": 1, "failed": 2}


def _global_flags(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """The flags that select the stack and the output. They are accepted before or after the
    subcommand: the subcommands get them without defaults, so one given after the subcommand wins
    and one given before it is not reset."""
    default = (lambda value: value) if defaults else (lambda value: argparse.SUPPRESS)
    parser.add_argument("--stack", default=default("warden"), help="CloudFormation stack name (default: warden)")
    parser.add_argument("--region", default=default(None), help="the stack's region (default: your AWS configuration's)")
    parser.add_argument("--profile", default=default(None), help="AWS profile to use")
    parser.add_argument("--json", action="store_true", default=default(False), help="print JSON instead of text")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m warden_ops",
        description="Operate a deployed Warden stack.",
        epilog="Exit status: 0 done, 1 refused (nothing changed), 2 failed or invalid input, "
        "3 AWS not reachable as configured (no credentials, no region, expired session).",
    )
    _global_flags(parser, defaults=True)
    shared = argparse.ArgumentParser(add_help=False)
    _global_flags(shared, defaults=False)
    commands = parser.add_subparsers(dest="command", required=True)

    undo = commands.add_parser("rollback", parents=[shared], help="restore the before-snapshot of one fix (by its finding id)")
    undo.add_argument("finding_id", help="the finding id, as in the notification and in `history`")
    undo.add_argument("--force", action="store_true", help="restore even if the resource changed since the fix")
    undo.add_argument(
        "--exempt-for", default=operator_rollback.DEFAULT_EXEMPTION,
        help="exempt the resource in the settings document for this long (default 24h; e.g. 90m, 72h, 7d), so Warden does not undo the rollback",
    )  # fmt: skip
    undo.add_argument("--no-exempt", action="store_true", help="add no exemption: Warden may fix the resource again")
    undo.add_argument("--member-role", help="organization mode: a fix in a member account is undone as this role there, assumed with your credentials (e.g. OrganizationAccountAccessRole)")
    undo.add_argument("--member-profile", help="organization mode: a fix in a member account is undone with this AWS profile (for that account)")

    listing = commands.add_parser("history", parents=[shared], help="list what Warden did, newest first")
    listing.add_argument("--resource", help="resource ARN, or a shell pattern such as 'arn:aws:s3:::ml-*'")
    listing.add_argument("--remediation", help="remediation name or pattern, e.g. s3-quarantine-public-bucket or 'iam-*'")
    listing.add_argument("--outcome", help="remediated, would-remediate, exempt, duplicate, failed, rolled-back, ignored, ...")
    listing.add_argument("--since", help="2026-11-01, 2026-11-01T08:00:00Z, or an age: 90m, 24h, 7d")
    listing.add_argument("--until", help="same forms as --since")
    listing.add_argument("--account", help="organization mode: only this member account's records (an id, or a pattern such as '1111*')")
    listing.add_argument("--limit", type=int, default=50, help="at most this many records (default 50)")

    approve = commands.add_parser("approve", parents=[shared], help="approve a change Warden waits on (approve mode): it is applied")
    approve.add_argument("finding_id", help="the finding id, as in the APPROVAL NEEDED message")
    reject = commands.add_parser("reject", parents=[shared], help="reject a change Warden waits on (approve mode): nothing is applied")
    reject.add_argument("finding_id", help="the finding id, as in the APPROVAL NEEDED message")
    reject.add_argument("--reason", default="", help="why, for the message and the audit record")

    prevent = commands.add_parser(
        "prevent", parents=[shared], help="the preventive controls that would have stopped past findings, most findings first"
    )
    prevent.add_argument("--since", help="count findings from then: 2026-11-01, or an age: 30d (default: the whole audit table)")
    prevent.add_argument("--family", choices=prevention.FAMILIES, help="only this kind of control")

    sweeping = commands.add_parser(
        "sweep", parents=[shared], help="list the exposures that exist now (Config, GuardDuty, Security Hub); --apply fixes them"
    )
    sweeping.add_argument("--apply", action="store_true", help="send each through the deployed workflow (modes, exemptions and dedupe apply)")
    sweeping.add_argument("--rate", type=float, default=DEFAULT_RATE, help=f"API calls a second, at most (default {DEFAULT_RATE:g})")
    sweeping.add_argument("--account", action="append", metavar="ID",
                          help="only this account's exposures (12 digits; repeat, or separate with commas, for several)")  # fmt: skip

    config = commands.add_parser("settings", parents=[shared], help="show, check or change the run-time settings document")
    config.add_argument("action", choices=("show", "validate", "set"))
    config.add_argument("file", nargs="?", help="the JSON document (validate, set); '-' reads standard input")
    return parser


def main(argv: list[str] | None = None, target: Target | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        if target is None and not (args.command == "settings" and args.action == "validate"):
            target = Stack(args.stack, region=args.region, profile=args.profile)
        if args.command == "rollback":
            return _rollback(args, target, out)
        if args.command == "settings":
            return _settings(args, target, out)
        if args.command in ("approve", "reject"):
            return _answer(args, target, out)
        if args.command == "prevent":
            return _prevent(args, target, out)
        if args.command == "sweep":
            return _sweep(args, target, out)
        return _history(args, target, out)
    except AwsUnreachable as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    except (BotoCoreError, ClientError) as error:
        unreachable = AwsUnreachable.from_error(error)
        print(f"error: {unreachable or error}", file=sys.stderr)
        return 3 if unreachable else 2
    except (LookupError, ValueError, RuntimeError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _rollback(args, target: Target, out: TextIO) -> int:
    """The restore runs here, under your credentials (warden_ops/rollback.py)."""
    exempt_for = None if args.no_exempt else operator_rollback.duration(args.exempt_for)
    answer = operator_rollback.run(
        target, args.finding_id, force=args.force, exempt_for=exempt_for, member_role=args.member_role, member_profile=args.member_profile
    )
    if args.json:
        print(json.dumps(answer, indent=2, default=str), file=out)
        return EXIT.get(answer.get("status"), 2)
    exemption = answer.get("exemption")
    if exemption:
        print(f"EXEMPTED: {exemption['resource']} until {exemption['until']} in {exemption['parameter']} "
              f"({exemption['reason']}), so Warden does not undo this rollback; remove the entry to let it act again.", file=out)  # fmt: skip
    print(f"{answer['status'].upper()}: {answer['message']}", file=out)
    for label, lines in (("changed since the fix", answer.get("drift")), ("still different", answer.get("differences"))):
        if lines and answer["status"] != "refused":
            print(f"  {label}:", file=out)
            for line in lines:
                print(f"    {line}", file=out)
    if answer.get("warning") and not exemption:
        print(f"Note: {answer['warning']}", file=out)
    return EXIT.get(answer.get("status"), 2)


def _answer(args, target: Target, out: TextIO) -> int:
    """Approve or reject through Step Functions' task token, which the APPROVAL NEEDED message's
    Notify call stored on the audit record: SendTaskSuccess with {"approved": true|false, "by", "at",
    "reason"}. Needs dynamodb:GetItem on the audit table and states:SendTaskSuccess; your IAM
    identity is the authentication, and who answered is recorded."""
    item = target.client("dynamodb").get_item(
        TableName=target.physical("AuditTable"), Key={"finding_id": {"S": args.finding_id}}
    ).get("Item")
    record = decode_item(item) if item else None
    if record is None:
        print(f"REFUSED: no audit record has finding_id {args.finding_id!r}", file=out)
        return 1
    if record.get("outcome") != "awaiting-approval" or not record.get("approval_token"):
        print(f"REFUSED: {args.finding_id} is not waiting for approval (it is {history.status(record)}); nothing was changed", file=out)
        return 1
    answer = {"approved": args.command == "approve", "by": target.caller(), "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if args.command == "reject":
        answer["reason"] = args.reason
    try:  # the proof that an approver answered: the task token alone is readable by more people
        answer["signature"] = _approver_signature(target, record, answer)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "AccessDeniedException":
            raise
        print("REFUSED: you are not one of the stack's approvers (ApproverPrincipalArns: kms:GenerateMac on its "
              "ApprovalKey was denied); nothing was changed", file=out)  # fmt: skip
        return 1
    try:
        target.client("stepfunctions").send_task_success(taskToken=record["approval_token"], output=json.dumps(answer))
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
            print(f"REFUSED: the approval window closed ({record.get('approval_expires_at')}, {code}); nothing was changed", file=out)
            return 1
        raise RuntimeError(f"Step Functions refused: {error}") from None
    if args.command == "approve":
        print(f"APPROVED: Warden re-reads {record['resource_arn']}, plans {record['remediation']} again and applies it; "
              "the outcome comes as a message.", file=out)  # fmt: skip
    else:
        print(f"REJECTED: nothing is applied to {record['resource_arn']}; on-call is told.", file=out)
    return 0


def _approver_signature(target: Target, record: dict[str, Any], answer: dict[str, Any]) -> str:
    """Your MAC over the answer, for this finding and the execution that waits (the stack's
    ApprovalKey: only ApproverPrincipalArns may sign with it); the family function checks it."""
    message = authorization.approval_message(record["finding_id"], record.get("execution"), answer)
    mac = target.client("kms").generate_mac(KeyId=target.physical("ApprovalKey"), MacAlgorithm=authorization.MAC_ALGORITHM, Message=message)
    return base64.b64encode(mac["Mac"]).decode()


def _settings(args, target: Target | None, out: TextIO) -> int:
    """show: the document in Parameter Store and whether it is valid; validate/set: a local file,
    checked here with the same rules triage applies (set writes it only when it is valid)."""
    if args.action == "show":
        name = target.physical("SettingsParameter")
        text = target.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    else:
        if not args.file:
            raise ValueError(f"settings {args.action} needs a FILE (or '-' for standard input)")
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    try:
        document = json.loads(text)
    except ValueError as error:
        print(f"INVALID: not JSON ({error})", file=out)
        return 2
    problems = settings.validate(document)
    if args.action == "show":
        print(json.dumps(document, indent=2), file=out)
    for problem in problems:
        print(f"INVALID: {problem}", file=out)
    if problems:
        print("Warden rejects this document and keeps its last good settings.", file=out)
        return 2
    if args.action == "set":
        name = target.physical("SettingsParameter")
        text = settings.stored_form(document)
        # Intelligent-Tiering: Standard while it fits 4 KB, Advanced (8 KB) when it does not
        target.client("ssm").put_parameter(Name=name, Value=text, Type="String", Overwrite=True, Tier="Intelligent-Tiering")
        size = len(text.encode())
        tier = f" ({size:,} bytes: the Advanced tier, $0.05 a month)" if size > settings.STANDARD_TIER_BYTES else ""
        print(f"Saved to {name}{tier}; triage uses it within SettingsCacheSeconds (60 s by default).", file=out)
    elif args.action == "validate":
        print("VALID", file=out)
    return 0


def _sweep(args, target: Target, out: TextIO) -> int:
    """The exposures Config, GuardDuty and Security Hub hold now; with --apply, one workflow execution each.
    Needs (besides reading the stack) config:DescribeComplianceByConfigRule, config:GetComplianceDetailsByConfigRule,
    guardduty:ListDetectors, guardduty:ListFindings, guardduty:GetFindings, securityhub:GetFindings,
    lambda:GetFunctionConfiguration and ssm:GetParameter (the settings), and states:StartExecution for --apply."""
    pacer = sweep.Pacer(args.rate)
    found = sweep.run(target, pacer, sweep.accounts_from(args.account))
    executions = sweep.apply(target, found.exposures, pacer) if args.apply else []
    calls = sum(pacer.calls.values())
    if args.json:
        rows = [{**e.row(), **({"execution": arn} if executions else {})} for e, arn in zip(found.exposures, executions or [None] * len(found.exposures))]
        print(json.dumps({"exposures": rows, "skipped": found.skipped, "left_out_other_accounts": found.elsewhere,
                          "api_calls": pacer.calls, "applied": bool(args.apply)}, indent=2), file=out)  # fmt: skip
        return 0
    if not found.exposures:
        print("No current exposures Warden handles.", file=out)
    else:
        rows = [e.row() for e in found.exposures]
        columns = ("account", "resource", "finding", "would_do", "mode")
        headers = ("ACCOUNT", "RESOURCE", "FINDING", "WHAT WARDEN WOULD DO", "MODE")
        widths = [max(len(h), *(len(row[c]) for row in rows)) for c, h in zip(columns, headers)]
        print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(), file=out)
        for row in rows:
            print("  ".join(row[c].ljust(w) for c, w in zip(columns, widths)).rstrip(), file=out)
    for reason in found.skipped:
        print(f"skipped: {reason}", file=out)
    summary = f"{len(found.exposures)} exposure(s) from {calls} API calls in {found.seconds:.1f} s (at most {args.rate:g} calls a second)."
    if found.elsewhere:
        summary += f" {found.elsewhere} more in other accounts, left out (--account)."
    if args.apply:
        print(f"{summary} Started {len(executions)} workflow execution(s) (sweep-...): outcomes arrive as messages; "
              "python -m warden_ops history --since 1h lists them.", file=out)  # fmt: skip
    else:
        print(f"{summary} Nothing was changed; --apply sends each through the workflow (its mode decides).", file=out)
    return 0


def _history(args, target: Target, out: TextIO) -> int:
    found = history.records(
        target.client("dynamodb"),
        target.physical("AuditTable"),
        resource=args.resource,
        remediation=args.remediation,
        outcome=args.outcome,
        since=history.parse_time(args.since) if args.since else None,
        until=history.parse_time(args.until) if args.until else None,
        account=args.account,
        limit=args.limit,
    )
    if args.json:
        print(json.dumps([_row(r) for r in found], indent=2, default=str), file=out)
        return 0
    if not found:
        print("No audit records match.", file=out)
        return 0
    rows = [_row(r) for r in found]
    columns = ("recorded_at", "status", "remediation", "resource_arn", "finding_id")
    headers = ("RECORDED (UTC)", "STATUS", "REMEDIATION", "RESOURCE", "FINDING ID")
    if args.account or len({row["account"] for row in rows}) > 1:  # a hub's records: say whose
        columns, headers = (*columns[:2], "account", *columns[2:]), (*headers[:2], "ACCOUNT", *headers[2:])
    widths = [max(len(h), *(len(str(row[c])) for row in rows)) for c, h in zip(columns, headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(), file=out)
    for row in rows:
        print("  ".join(str(row[c]).ljust(w) for c, w in zip(columns, widths)).rstrip(), file=out)
        if row["rolled_back"]:
            print(f"  rolled back {row['rolled_back']}", file=out)
        if row["reason"] and row["status"] not in ("remediated", "rolled-back"):
            print(f"  {row['reason']}", file=out)
        if row["revert"] and row["status"] in ("remediated", "would-remediate", "awaiting-approval"):
            revert = row["revert"]  # the first revert by the deployer: the escalation (warden.reverts)
            print(f"  REVERTED by {revert['by']} at {revert['at']}, after fix {revert['fixed_by']}: fixed once more, escalated", file=out)
        if row["prevention"] and row["status"] in PREVENTED_STATUSES:
            print(f"  would have been prevented by (proposals): {', '.join(row['prevention'])}", file=out)
        for line in row["template_patch"]:  # a managed resource: who owns it and the template change that keeps the fix
            print(line, file=out)
    print(f"{len(rows)} record(s), newest first. Undo a fix: python -m warden_ops rollback FINDING_ID", file=out)
    return 0


# A finding counts for a proposal when it was a real exposure Warden acted or reported on; exempt
# findings are intended exposures, counted apart: the control would have blocked them too.
PREVENTED_STATUSES = ("remediated", "would-remediate", "needs-decision", "awaiting-approval", "approval-rejected",
                      "expired", "failed", "rolled-back", "escalated")  # fmt: skip


def _prevent(args, target: Target, out: TextIO) -> int:
    """Group past findings by the preventive control that would have stopped them (warden.prevention).
    Proposals come from each record's remediation, so records written before a proposal existed count too."""
    found = history.records(
        target.client("dynamodb"), target.physical("AuditTable"),
        since=history.parse_time(args.since) if args.since else None, limit=10**9,
    )  # fmt: skip
    counts: dict[str, dict[str, Any]] = {}
    for record in found:
        status = history.status(record)
        if status not in PREVENTED_STATUSES and status != "exempt":
            continue
        for proposal in prevention.proposals_for(record.get("remediation") or ""):
            if args.family and proposal.family != args.family:
                continue
            entry = counts.setdefault(proposal.id, {"proposal": proposal, "prevented": 0, "exempt": 0, "remediations": {}})
            entry["exempt" if status == "exempt" else "prevented"] += 1
            entry["remediations"][record["remediation"]] = entry["remediations"].get(record["remediation"], 0) + 1
    ranked = sorted(counts.values(), key=lambda e: (-e["prevented"], -e["exempt"], e["proposal"].id))
    if args.json:
        print(json.dumps([{**e["proposal"].to_dict(), "prevented": e["prevented"], "exempt": e["exempt"],
                           "remediations": e["remediations"]} for e in ranked], indent=2), file=out)  # fmt: skip
        return 0
    if not ranked:
        print("No finding in the audit table has a preventive control to propose.", file=out)
        return 0
    print("Preventive controls that would have stopped past findings, most first. PROPOSALS ONLY: Warden applies none.", file=out)
    for entry in ranked:
        proposal = entry["proposal"]
        exempt = f" (+{entry['exempt']} exempt it would also have blocked)" if entry["exempt"] else ""
        print("", file=out)
        print(f"{entry['prevented']:>4} finding(s){exempt}  [{proposal.family}] {proposal.id}: {proposal.title}", file=out)
        print("  from:         " + ", ".join(f"{name} ({n})" for name, n in sorted(entry["remediations"].items())), file=out)
        for line in prevention.describe(proposal):
            print(line, file=out)
    return 0


def _row(record: dict[str, Any]) -> dict[str, Any]:
    rollback = record.get("rollback") or {}
    rolled_back = None
    owner = Owner.from_dict(record.get("owner"))
    if record.get("rolled_back_at"):
        forced = ", forced" if rollback.get("forced") else ""
        rolled_back = f"{record['rolled_back_at']} by {rollback.get('requested_by') or 'an unnamed caller'}{forced}"
    return {
        "recorded_at": str(record.get("recorded_at", ""))[:19].replace("T", " "),
        "status": history.status(record),
        "account": record.get("account"),
        "remediation": record.get("remediation"),
        "resource_arn": record.get("resource_arn"),
        "finding_id": record.get("finding_id"),
        "found_by": record.get("found_by", "event"),  # "sweep": python -m warden_ops sweep --apply sent it
        "decision": record.get("decision"),
        "reason": record.get("reason"),
        "changes": [c.get("summary") for c in record.get("changes") or []],
        "rolled_back": rolled_back,
        "owner": owner.describe() if owner else None,
        "prevention": record.get("prevention") or [],
        "revert": record.get("revert"),
        "template_patch": render_patches(owner, record.get("template_patch") or []) if owner and owner.managed else [],
    }
