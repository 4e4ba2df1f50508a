"""Recording, once, every AWS call each Warden function makes for every file in events/ (and for
rolling back every fix), with what IAM authorizes it against: action, resource ARN, condition keys.

The recording is the expensive part (two twins, every event through the real rules and workflow);
tests/robustness/test_least_privilege.py re-evaluates it against the roles, and against each role
with one statement or one resource removed, which costs microseconds per evaluation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from warden_ops import rollback as operator_rollback
from warden_ops.target import TwinTarget
from local import scenarios
from local.faults import attribute_calls_to_functions, record_api_calls, role_statements
from local.twin import Twin
from tests.conftest import ENFORCING, bedrock_logging_deleted_after_warden_saw_it, guardduty_holds_the_findings_of_the_event_files
from tests.robustness.world import EVENTS, FINDINGS, event_files, forget_claims


@dataclass(frozen=True)
class Request:
    """One authorization AWS makes for a Warden function."""

    twin: str  # which recording twin ("plain" or "security-hub"): its roles are the ones to evaluate against
    function: str  # template logical id
    action: str
    resource: str | None
    context: dict[str, Any] = field(compare=False, hash=False)
    source: str = ""  # the event file (or rollback) that caused it
    implied_by: str | None = None  # e.g. "sns:Publish to a topic under this key": authorized, never called


@dataclass
class Recording:
    requests: list[Request]
    statements: dict[tuple[str, str], list[dict]]  # (twin, function logical id) -> its role's statements
    ran: set[str]  # functions that ran at least once


def _twin_parameters(security_hub: bool) -> dict[str, str]:
    # QuarantineTag=enabled: the bucket's tags are read and written too, so those grants are proven as well
    # ThrottleAlarmNames: the scenario's alarms are designated, so the throttle's events run its function too
    parameters = {**ENFORCING, "Macie": "enabled", "QuarantineTag": "enabled", "ThrottleAlarmNames": scenarios.DESIGNATED_ALARMS}
    return {**parameters, "SecurityHub": "enabled"} if security_hub else parameters


def _set_up(twin: Twin, security_hub: bool) -> None:
    scenarios.public_training_bucket(twin.client("s3"))
    scenarios.exempt_website_bucket(twin.client("s3"))
    scenarios.account_block_off(twin.client("s3control"))
    scenarios.encryption_turned_off(twin.client)
    scenarios.iam_over_broad(twin.client)
    scenarios.abused_apis(twin.client)
    scenarios.partner_shared_bucket(twin.client("s3"))
    # Macie found personal and financial data in the training bucket: Triage reads it before a fix
    macie = json.loads((EVENTS / "macie-sensitivedata-s3object-multiple.json").read_text())["detail"]
    scenarios.macie_found_sensitive_data(macie)
    bedrock_logging_deleted_after_warden_saw_it(twin)
    guardduty_holds_the_findings_of_the_event_files(twin)  # Triage confirms a GuardDuty finding before acting
    if security_hub:
        findings = [f for path in sorted(EVENTS.glob("securityhub-*.json")) for f in json.loads(path.read_text())["detail"]["findings"]]
        scenarios.security_hub_holds(twin.client("securityhub"), list({f["Id"]: f for f in findings}.values()))


def _iam_paths(twin: Twin) -> dict[tuple[str, str], str]:
    iam = twin.client("iam")
    paths = {("role", r["RoleName"]): r["Path"] for r in iam.list_roles(MaxItems=1000)["Roles"]}
    paths.update({("user", u["UserName"]): u["Path"] for u in iam.list_users(MaxItems=1000)["Users"]})
    paths.update({("group", g["GroupName"]): g["Path"] for g in iam.list_groups(MaxItems=1000)["Groups"]})
    return paths


def _topic_keys(twin: Twin) -> dict[str, str]:
    """Topic ARN -> the ARN of the KMS key SNS encrypts its messages with."""
    sns, kms = twin.client("sns"), twin.client("kms")
    keys = {}
    for topic in sns.list_topics()["Topics"]:
        key = sns.get_topic_attributes(TopicArn=topic["TopicArn"])["Attributes"].get("KmsMasterKeyId")
        if key:
            keys[topic["TopicArn"]] = kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
    return keys


def _record(security_hub: bool, files: list[str], roll_back: bool) -> tuple[list[Request], dict, set[str]]:
    label = "security-hub" if security_hub else "plain"
    requests: list[Request] = []
    with Twin(parameters=_twin_parameters(security_hub), aws_managed_policies=True) as twin:
        _set_up(twin, security_hub)
        functions = list(twin._function_specs())  # the functions this twin's parameters deploy
        statements = {logical: json.loads(json.dumps(role_statements(twin, logical))) for logical in functions}  # plain data
        roles = {logical: twin.attributes[(f"{logical}Role", "Arn")] for logical in functions}
        ran: set[str] = set()
        rolled_back: set[str] = set()
        first_of_each_remediation = {found[0][0] for found in FINDINGS.values()}

        def roll_back_new_fixes() -> None:  # as the operator (python -m warden_ops rollback): not a function's call
            for finding_id in sorted(set(_fixed_findings(twin)) - rolled_back) if roll_back else ():
                operator_rollback.run(TwinTarget(twin), finding_id, force=True, exempt_for=None)
                rolled_back.add(finding_id)

        with attribute_calls_to_functions(twin):
            for name in files:
                # Each event on its own: no claim of an earlier one makes it a duplicate, and each fix is
                # rolled back at once, so the next event about the same resource finds it exposed again.
                forget_claims(twin)
                event = json.loads((EVENTS / name).read_text())
                with record_api_calls() as calls:
                    twin.send(event)
                    roll_back_new_fixes()
                    if name in first_of_each_remediation:  # another report of it, inside the window: re-checked
                        again = _another_report(event)
                        if again.get("source") == "aws.guardduty":  # GuardDuty holds it too, so Warden can confirm it
                            scenarios.guardduty_reported(twin.client, [again["detail"]])
                        twin.send(again)
                        roll_back_new_fixes()
                requests += _requests(label, twin, calls, roles, name)
                ran |= {c.function for c in calls if c.function}
    return requests, statements, ran


def _another_report(event: dict) -> dict:
    """The same exposure reported again (new event, CloudTrail event and GuardDuty finding ids), so
    Triage finds it inside the dedupe window of the first and re-checks the resource."""
    again = json.loads(json.dumps(event))
    again["id"] = f"again-{event.get('id', '')}"
    detail = again.get("detail")
    if isinstance(detail, dict) and "eventID" in detail:
        detail["eventID"] = f"again-{detail['eventID']}"
    if again.get("source") == "aws.guardduty" and isinstance(detail, dict):
        detail["id"] = f"again{detail['id']}"
        detail["arn"] = detail.get("arn", "").replace(event["detail"]["id"], detail["id"])
    return again


def _fixed_findings(twin: Twin) -> list[str]:
    dynamodb = twin.client("dynamodb")
    items = dynamodb.scan(TableName=twin.physical["AuditTable"])["Items"]
    return sorted(i["finding_id"]["S"] for i in items if json.loads(i.get("applied", {}).get("S") or "[]"))  # audit stores lists as JSON


def _requests(label: str, twin: Twin, calls, roles: dict[str, str], source: str) -> list[Request]:
    paths, topic_keys = _iam_paths(twin), _topic_keys(twin)
    found = []
    for call in (c for c in calls if c.function):
        context = call.condition_context(roles[call.function])
        if call.action == "dynamodb:TransactWriteItems":  # no IAM action: each item is authorized as its own write
            found += [Request(label, call.function, action, table, context, source, f"dynamodb:TransactWriteItems ({action})")
                      for action, table in call.authorized_as(twin.account)]  # fmt: skip
            continue
        found.append(Request(label, call.function, call.action, call.resource(twin.account, iam_paths=paths), context, source))
        key = topic_keys.get(call.params.get("TopicArn", "")) if call.action == "sns:Publish" else None
        if key:  # SNS encrypts the message with the topic's key on the publisher's behalf
            implied = f"sns:Publish to {call.params['TopicArn']}"
            found += [Request(label, call.function, action, key, context, source, implied) for action in ("kms:GenerateDataKey", "kms:Decrypt")]
    return found


def record_every_event() -> Recording:
    """Every events/ file through the twin (Security Hub's on a twin with SecurityHub enabled, the
    rest on one without), each fix rolled back (forced) right after its event."""
    names = [p.name for p in event_files()]
    security_hub = [n for n in names if n.startswith("securityhub-")]
    plain, plain_statements, plain_ran = _record(False, [n for n in names if n not in security_hub], roll_back=True)
    # and one finding of another source, which Warden reports to Security Hub as its own finding
    hub, hub_statements, hub_ran = _record(True, [*security_hub, "cloudtrail-s3-putbucketpolicy-public.json"], roll_back=True)
    statements = {("plain", f): s for f, s in plain_statements.items()} | {("security-hub", f): s for f, s in hub_statements.items()}
    return Recording(plain + hub, statements, plain_ran | hub_ran)
