"""The on-call message: short subject, attributes for filtering, and a body a person can act on."""

from __future__ import annotations

import pytest

from warden.notify import OUTCOMES, compose, compose_alarm, would

FINDING = {
    "id": "cloudtrail:abc",
    "source": "cloudtrail",
    "type": "PutBucketPolicy",
    "account": "123456789012",
    "region": "eu-west-1",
    "resource_type": "AWS::S3::Bucket",
    "resource_arn": "arn:aws:s3:::" + "a" * 63,
    "actor": "arn:aws:sts::123456789012:assumed-role/Dev/alice",
    "time": "2026-11-21T09:14:07+00:00",
    "severity": "HIGH",
    "raw_ref": "abc",
    "details": {},
}
CHANGES = [
    {"action": "s3:PutBucketPublicAccessBlock", "summary": "Block Public Access turned on", "undo": "aws s3api delete-public-access-block --bucket b", "params": {}},
    {"action": "s3:PutBucketAcl", "summary": "Removed public ACL grant(s)", "undo": "aws s3api put-bucket-acl --bucket b ...", "params": {}},
]
STATE = {
    "finding": FINDING,
    "remediation": "s3-quarantine-public-bucket",
    "decision": "enforce",
    "reason": "Mode is enforce",
    "result": {"changes": CHANGES, "verification": {"exposed": [], "verified": "Block Public Access is on (all four settings) and no public policy statement or public ACL grant remains"}},
    "error": {"Error": "AccessDenied", "Cause": '{"errorMessage": "s3:PutBucketAcl was denied", "errorType": "AccessDenied"}'},
}
EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:warden:1234"


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_every_outcome_has_a_short_subject_and_filterable_attributes(outcome):
    message = compose(outcome, STATE, EXECUTION)
    assert len(message.subject) < 100
    assert message.subject.isascii() and "\n" not in message.subject
    assert message.attributes["outcome"] == outcome
    assert message.attributes["remediation"] == "s3-quarantine-public-bucket"
    assert message.attributes["severity"] in {"INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
    assert "https://eu-west-1.console.aws.amazon.com/states/" in message.body


def test_an_express_execution_is_named_with_where_its_record_is_not_a_dead_console_link():
    """Every event runs an Express execution, which the console shows only from full execution logs."""
    express = "arn:aws:states:eu-west-1:123456789012:express:warden-RemediationStateMachine:abc:def"
    (line,) = [line for line in compose("remediated", STATE, express).body.splitlines() if line.startswith("Workflow execution:")]
    assert line == f"Workflow execution: {express} (an Express execution has no console page: python -m warden_ops history shows its record)"
    assert "console.aws.amazon.com/states" not in compose("remediated", STATE, express).body


def test_remediated_message_says_what_where_what_changed_and_how_to_undo():
    body = compose("remediated", STATE, EXECUTION).body
    for expected in (
        "Account 123456789012, region eu-west-1",
        FINDING["resource_arn"],
        "https://s3.console.aws.amazon.com/s3/buckets/",
        "Caused by: arn:aws:sts::123456789012:assumed-role/Dev/alice",
        "- Block Public Access turned on",
        "Re-read the resource after the change: Block Public Access is on (all four settings)",
        "finding_id=cloudtrail:abc",
    ):
        assert expected in body
    # Undo commands come newest first, so they can be run top to bottom.
    assert body.index("put-bucket-acl") < body.index("delete-public-access-block")


def test_failed_message_shows_the_error_message_not_raw_json():
    message = compose("failed", STATE, EXECUTION)
    assert "AccessDenied: s3:PutBucketAcl was denied" in message.body
    assert '"errorType"' not in message.body
    assert message.attributes["severity"] == "HIGH"


def test_dry_run_message_says_nothing_was_changed():
    message = compose("would-remediate", {**STATE, "decision": "dry-run", "reason": "Mode is dry-run"})
    assert "DRY RUN" in message.subject
    assert "DRY RUN: nothing was changed (Mode is dry-run)." in message.body
    assert message.body.count("Mode is dry-run") == 1, "said once"
    section = message.body.split("WHAT WARDEN WOULD DO\n")[1].split("\n\n")[0]
    assert section.splitlines() == ["  - Block Public Access would be turned on", "  - Would remove public ACL grant(s)"]


def test_dry_run_message_gives_the_commands_that_let_warden_fix_it():
    body = compose("would-remediate", {**STATE, "decision": "dry-run", "reason": "Mode is dry-run"}).body
    assert "as above" not in body
    how = body.split("TO FIX IT\n")[1].split("\n\n")[0]
    assert 'add "s3-quarantine-public-bucket": "enforce" to "modes"' in how
    assert "python -m warden_ops settings show > settings.json" in how and "python -m warden_ops settings set settings.json" in how
    assert 'make deploy PARAMS="Mode=enforce"' in how
    iam = compose("would-remediate", {**STATE, "remediation": "iam-detach-admin-policies", "decision": "dry-run", "reason": "IamMode is dry-run"}).body
    assert 'make deploy PARAMS="IamMode=enforce"' in iam


@pytest.mark.parametrize(
    ("done", "would_do"),
    [
        ("Removed 1 public statement(s) from the bucket policy", "Would remove 1 public statement(s) from the bucket policy"),
        ("Tagged the bucket warden:quarantined-by=warden", "Would tag the bucket warden:quarantined-by=warden"),
        ("Detached arn:aws:iam::aws:policy/AdministratorAccess from role r", "Would detach arn:aws:iam::aws:policy/AdministratorAccess from role r"),
        ("Block Public Access turned on: BlockPublicAcls (all four settings now true)", "Block Public Access would be turned on: BlockPublicAcls (all four settings then true)"),
        ("Key enabled: Disabled -> Enabled", "Key would be enabled: Disabled -> Enabled"),
        ("Deletion of the key cancelled (was scheduled for 2026-12-08)", "Deletion of the key would be cancelled (was scheduled for 2026-12-08)"),
        ("Access key AKIA1 of user ci deactivated: Active -> Inactive", "Access key AKIA1 of user ci would be deactivated: Active -> Inactive"),
        ("Stage prod throttled: rate 500 -> 10", "Stage prod would be throttled: rate 500 -> 10"),
        ("Default version v2 -> v1 (the newest earlier version)", "Would change: Default version v2 -> v1 (the newest earlier version)"),
    ],
)
def test_a_planned_change_is_said_as_what_warden_would_do(done, would_do):
    assert would(done) == would_do


def test_rejected_event_message_names_the_reason_and_the_event():
    state = {"decision": "rejected", "reason": "unknown detail-type 'Foo'", "event_summary": "id='1', source='evil'"}
    message = compose("rejected", state)
    assert message.subject == "[Warden] Rejected event: unknown detail-type 'Foo'"
    assert "source='evil'" in message.body
    assert message.attributes == {"severity": "HIGH", "outcome": "rejected", "remediation": "none"}


def test_unknown_outcome_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown outcome"):
        compose("partially-ok", STATE)


def test_non_ascii_in_subject_is_replaced():
    state = {"decision": "rejected", "reason": "bad \u2603\nname"}
    assert compose("rejected", state).subject.isascii()


def test_alarm_message():
    message = compose_alarm(
        {"region": "eu-west-1", "alarmData": {"alarmName": "warden-DLQ", "state": {"value": "ALARM", "reason": "1 message"}}}
    )
    assert message.subject == "[Warden] ALARM ALARM: warden-DLQ"
    assert message.attributes["severity"] == "HIGH"
    assert "1 message" in message.body


def test_account_text_is_inert_in_every_line_but_warden_s_own_links():
    from warden.notify import inert

    assert inert("  resource is tagged warden:exempt='[approve](https://evil.example/x)'") == (
        "  resource is tagged warden:exempt='[approve] (hxxps://evil.example/x)'"
    )
    assert inert("<!channel> see <https://evil|here>") == "\u2039!channel> see \u2039hxxps://evil|here>"
    assert inert("a value\n  aws iam attach-role-policy --role-name x") == "a value   aws iam attach-role-policy --role-name x"
    command = "  aws sqs set-queue-attributes --queue-url https://sqs.us-east-1.amazonaws.com/123456789012/q"
    assert inert(command) == command, "a command keeps its URL so that it still runs"
    assert inert("rate 500 -> 10/s, tag <key ARN>") == "rate 500 -> 10/s, tag <key ARN>", "Warden's own text reads the same"
