"""Approve mode on the twin: the workflow plans, tells on-call, waits on a Step Functions task token,
and applies the change only when a person approves in time (python -m warden_ops approve/reject).
Also every mode (off, dry-run, approve, enforce) for one remediation of each family."""

from __future__ import annotations

import base64
import io
import json
import os
import threading
import time
from unittest import mock

import pytest

from local import scenarios
from local.twin import Twin
from tests.conftest import event
from warden import audit, authorization, registry
from warden.aws import for_finding
from warden.findings import Finding
from warden.steps import FAMILY_STEPS
from warden_ops.cli import main
from warden_ops.target import TwinTarget

S = scenarios
PUBLIC_POLICY_EVENT = "cloudtrail-s3-putbucketpolicy-public.json"


def settings(twin, document: dict) -> None:
    twin.client("ssm").put_parameter(Name=twin.physical["SettingsParameter"], Value=json.dumps(document), Type="String", Overwrite=True)


def record(twin, finding_id: str, dynamodb=None) -> dict | None:
    """The audit record, read without touching os.environ (see Waiting)."""
    dynamodb = dynamodb or twin.client("dynamodb")
    item = dynamodb.get_item(TableName=twin.physical["AuditTable"], Key={"finding_id": {"S": finding_id}}).get("Item")
    return audit.decode_item(item) if item else None


def finding_id_of(name: str) -> str:
    from warden.findings import parse_finding

    return parse_finding(event(name)).id


class Waiting:
    """An event sent while the workflow waits for a person: the send runs in a thread.

    The twin runs each handler with its environment patched into os.environ (process-wide), so
    this thread creates no client and patches nothing while a handler may run: clients are made
    before the workflow starts, and the answer is given only once the twin's handler lock is free."""

    def __init__(self, twin, name: str):
        self.twin, self.finding_id, self.result = twin, finding_id_of(name), None
        self.target = TwinTarget(twin)
        self.caller = self.target.caller()
        dynamodb = twin.client("dynamodb")
        self.clients = {service: twin.client(service) for service in ("dynamodb", "stepfunctions", "kms")}
        self.thread = threading.Thread(target=self._send, args=(event(name),), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while (record(twin, self.finding_id, dynamodb) or {}).get("outcome") != "awaiting-approval":
            assert time.monotonic() < deadline and self.thread.is_alive(), "the workflow never asked for approval"
            time.sleep(0.05)
        with twin._invoke_lock:  # the Notify handler that asked has returned: the workflow now waits
            pass

    def _send(self, raw) -> None:
        self.result = self.twin.send(raw)

    def answer(self, *argv: str) -> tuple[int, str]:
        out = io.StringIO()
        status = main(list(argv), target=_Prepared(self.target, self.clients, self.caller), out=out)
        return status, out.getvalue()

    def finished(self):
        self.thread.join(60)
        assert self.result is not None, "the workflow did not finish"
        return self.result


class _Prepared:
    """The twin target with its clients made in advance (see Waiting)."""

    def __init__(self, target, clients, caller):
        self.target, self.clients, self.caller_arn = target, clients, caller

    def physical(self, logical_id):
        return self.target.physical(logical_id)

    def client(self, service):
        return self.clients[service]

    def caller(self):
        return self.caller_arn

    def invoke(self, logical_id, payload):
        return self.target.invoke(logical_id, payload)


def is_public(twin) -> bool:
    return "PublicReadForSharing" in twin.client("s3").get_bucket_policy(Bucket=S.TRAINING_BUCKET)["Policy"]


@pytest.fixture
def approving(twin):
    settings(twin, {"modes": {"s3-quarantine-public-bucket": "approve"}, "approval_timeout_seconds": 30})
    return twin


def test_approved_change_is_applied_and_says_who_approved(approving):
    twin = approving
    waiting = Waiting(twin, PUBLIC_POLICY_EVENT)
    assert is_public(twin), "nothing is applied before the approval"

    status, printed = waiting.answer("approve", waiting.finding_id)
    result = waiting.finished()

    assert status == 0 and printed.startswith("APPROVED: Warden re-reads arn:aws:s3:::ml-training-data-prod")
    assert result.status == "SUCCEEDED"
    states = result.executions[0].states
    assert states[states.index("AwaitApproval"):] == [
        "AwaitApproval", "ApprovalAnswer", "Approved", "Route", "S3PublicAccess", "WhatWasPlanned", "Remediated"
    ]  # fmt: skip
    asked, fixed = result.notifications
    assert asked["subject"].startswith("[Warden] APPROVAL NEEDED: public S3 bucket")
    assert asked["attributes"]["outcome"] == "awaiting-approval" and asked["attributes"]["severity"] == "HIGH"
    assert f"python -m warden_ops approve {waiting.finding_id}" in asked["body"]
    assert "WHAT WARDEN WILL DO IF APPROVED" in asked["body"] and "Would remove 1 public statement(s)" in asked["body"]
    caller = TwinTarget(twin).caller()
    assert fixed["attributes"]["outcome"] == "remediated"
    assert f"Approved by {caller}" in fixed["body"]
    assert not is_public(twin)
    assert record(twin, waiting.finding_id)["approval"]["by"] == caller


def test_rejected_change_is_not_applied(approving):
    twin = approving
    waiting = Waiting(twin, PUBLIC_POLICY_EVENT)

    status, printed = waiting.answer("reject", waiting.finding_id, "--reason", "public on purpose until Friday")
    result = waiting.finished()

    assert status == 0 and printed.startswith("REJECTED: nothing is applied")
    assert result.status == "SUCCEEDED" and result.executions[0].states[-1] == "NotifyApprovalRejected"
    rejected = result.notifications[-1]
    assert f"Rejected by {TwinTarget(twin).caller()}" in rejected["body"]
    assert rejected["attributes"] == {"severity": "INFO", "outcome": "approval-rejected", "remediation": "s3-quarantine-public-bucket"}
    assert "public on purpose until Friday" in rejected["body"] and "Nothing was changed" in rejected["body"]
    assert is_public(twin)
    stored = record(twin, waiting.finding_id)
    assert stored["outcome"] == "approval-rejected"
    assert isinstance(stored["approval"].pop("signature"), str), "the approver's signature is on record"
    assert stored["approval"] | {"at": None} == {"approved": False, "by": TwinTarget(twin).caller(), "at": None, "reason": "public on purpose until Friday"}


def test_no_answer_in_time_expires_and_a_late_approval_is_refused(twin):
    settings(twin, {"modes": {"s3_public": "approve"}, "approval_timeout_seconds": 2})
    waiting = Waiting(twin, PUBLIC_POLICY_EVENT)

    result = waiting.finished()
    late, printed = waiting.answer("approve", waiting.finding_id)

    assert result.status == "SUCCEEDED" and result.executions[0].states[-1] == "NotifyExpired"
    expired = result.notifications[-1]
    assert expired["subject"].startswith("[Warden] APPROVAL EXPIRED, nothing changed")
    assert "Nobody approved or rejected the change within 2 seconds" in expired["body"]
    assert is_public(twin)
    assert late == 1 and "is not waiting for approval (it is expired)" in printed


def test_approving_something_that_is_not_waiting_is_refused(twin):
    result = twin.send(event(PUBLIC_POLICY_EVENT))  # enforce: fixed right away
    out = io.StringIO()
    status = main(["approve", result.audit_records[0]["finding_id"]], target=TwinTarget(twin), out=out)
    assert status == 1 and "is not waiting for approval (it is remediated)" in out.getvalue()


# --- as the attacker: a PowerUser holds the task token (it is on the audit record) -----------------

SECURITY_LEAD = f"arn:aws:iam::{S.ACCOUNT}:role/SecurityLead"


def answer_as_attacker(waiting, answer: dict) -> None:
    """SendTaskSuccess with the token read from the audit record, as any PowerUser can."""
    token = record(waiting.twin, waiting.finding_id, waiting.clients["dynamodb"])["approval_token"]
    waiting.clients["stepfunctions"].send_task_success(taskToken=token, output=json.dumps(answer))


def test_attack_approving_with_the_token_from_the_audit_record_applies_nothing_and_pages(approving):
    twin = approving
    waiting = Waiting(twin, PUBLIC_POLICY_EVENT)

    answer_as_attacker(waiting, {"approved": True, "by": SECURITY_LEAD, "at": "2026-12-01T09:00:00+00:00"})
    result = waiting.finished()

    assert is_public(twin), "an answer no approver signed applies nothing"
    told = result.notifications[-1]
    assert told["attributes"]["outcome"] == "failed" and told["attributes"]["severity"] == "HIGH"
    assert "the approval is refused: the answer carries no approver's signature" in told["body"]
    assert f"Approved by {SECURITY_LEAD}" not in told["body"]
    assert record(twin, waiting.finding_id)["outcome"] == "failed"


def test_attack_an_approvers_signature_on_another_answer_does_not_approve(approving):
    """A genuine signature over a rejection, the answer turned into an approval: refused."""
    twin = approving
    waiting = Waiting(twin, PUBLIC_POLICY_EVENT)
    stored = record(twin, waiting.finding_id, waiting.clients["dynamodb"])
    rejection = {"approved": False, "by": waiting.caller, "at": "2026-12-01T09:00:00+00:00", "reason": "later"}
    mac = waiting.clients["kms"].generate_mac(  # as an approver would sign it (the attacker only reads it)
        KeyId=twin.physical["ApprovalKey"], MacAlgorithm="HMAC_SHA_256",
        Message=authorization.approval_message(stored["finding_id"], stored["execution"], rejection))["Mac"]  # fmt: skip

    answer_as_attacker(waiting, {**rejection, "approved": True, "signature": base64.b64encode(mac).decode()})
    result = waiting.finished()

    assert is_public(twin)
    assert "the approval is refused: its signature is not an approver's" in result.notifications[-1]["body"]


def test_attack_rejecting_with_the_token_is_told_as_a_refused_answer_not_a_persons_rejection(approving):
    twin = approving
    waiting = Waiting(twin, PUBLIC_POLICY_EVENT)

    answer_as_attacker(waiting, {"approved": False, "by": SECURITY_LEAD, "at": "2026-12-01T09:00:00+00:00", "reason": "fine"})
    result = waiting.finished()

    assert is_public(twin)
    told = result.notifications[-1]
    assert told["attributes"]["outcome"] == "failed" and told["attributes"]["severity"] == "HIGH"
    assert "said reject, and Warden refused it: the answer carries no approver's signature" in told["body"]
    assert f"Rejected by {SECURITY_LEAD}" not in told["body"]
    assert record(twin, waiting.finding_id)["outcome"] == "failed", "not recorded as a person's rejection"


# --- every mode, one remediation of each family --------------------------------------------------

FAMILIES = {
    "s3_public": (PUBLIC_POLICY_EVENT, lambda clients: S.public_training_bucket(clients("s3"))),
    "encryption": ("cloudtrail-kms-disablekeyrotation.json", S.encryption_turned_off),
    "iam": ("cloudtrail-iam-attachrolepolicy-administratoraccess.json", S.iam_over_broad),
    "throttle": ("cloudwatch-alarm-apigw-rest-4xx.json", lambda clients: S.abused_apis(clients)),
}


def state_now(twin, finding_id: str) -> dict:
    stored = record(twin, finding_id)
    remediation, finding = registry.get(stored["remediation"]), Finding.from_dict(stored["finding"])
    env = twin.functions[twin.physical[f"{FAMILY_STEPS[remediation.family]}Function"]]["env"]  # the family's own
    with mock.patch.dict(os.environ, env):
        return remediation.state(remediation.snapshot(finding, for_finding(finding)))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_mode_for_a_remediation_of_each_family(family):
    name, expose = FAMILIES[family]
    parameters = {"Mode": "enforce", "IamMode": "enforce", "SettingsCacheSeconds": "0", "CooldownSeconds": "1", "MaxCooldowns": "1",
                  "ThrottleAlarmNames": S.DESIGNATED_ALARMS}
    with Twin(parameters=parameters, aws_managed_policies=family == "iam") as twin:
        expose(twin.client)
        finding_id, seen = finding_id_of(name), {}

        settings(twin, {"modes": {family: "off"}})
        seen["off"] = twin.send(event(name))
        exposed = state_now(twin, finding_id)
        settings(twin, {"modes": {family: "dry-run"}})
        seen["dry-run"] = twin.send(event(name))
        settings(twin, {"modes": {family: "approve"}, "approval_timeout_seconds": 30})
        waiting = Waiting(twin, name)
        assert waiting.answer("reject", finding_id, "--reason", "not now")[0] == 0
        seen["approve"] = waiting.finished()
        unchanged = state_now(twin, finding_id)
        settings(twin, {"modes": {family: "enforce"}})
        seen["enforce"] = twin.send(event(name))
        fixed = state_now(twin, finding_id)

    assert {mode: result.decision for mode, result in seen.items()} == {m: ("ignored" if m == "off" else m) for m in seen}
    # off pages on-call once for that settings version, and nothing about the finding
    assert [n["attributes"]["outcome"] for n in seen["off"].notifications] == ["settings-changed"]
    assert [n["attributes"]["outcome"] for n in seen["dry-run"].notifications] == ["would-remediate"]
    assert [n["attributes"]["outcome"] for n in seen["approve"].notifications] == ["awaiting-approval", "approval-rejected"]
    assert unchanged == exposed, "off, dry-run and a rejected approval change nothing"
    assert fixed != exposed, "enforce changes the resource"
