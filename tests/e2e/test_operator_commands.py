"""The operator commands (python -m warden_ops rollback / history) on the twin: the same CLI code a
person runs against a deployed stack, pointed at the twin's table, key and settings parameter."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from local import scenarios
from tests.conftest import event
from tests.documented import ROOT, blocks, commands, python_module
from warden_ops.cli import main
from warden_ops.target import TwinTarget

S = scenarios
TRAINING = f"arn:aws:s3:::{S.TRAINING_BUCKET}"
WEBSITE = f"arn:aws:s3:::{S.EXEMPT_BUCKET}"


def run(twin, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), target=TwinTarget(twin), out=out)
    return status, out.getvalue()


@pytest.fixture
def worked(twin):
    """Warden has fixed the training bucket and the KMS key, left the exempt website alone, and the
    bucket fix was rolled back."""
    finding_ids = {}
    for name, file in (
        ("bucket", "cloudtrail-s3-putbucketpolicy-public.json"),
        ("website", "cloudtrail-s3-putbucketpolicy-exempt-bucket.json"),
        ("key", "cloudtrail-kms-disablekeyrotation.json"),
    ):
        result = twin.send(event(file))
        finding_ids[name] = result.audit_records[0]["finding_id"]
    status, _ = run(twin, "rollback", finding_ids["bucket"])
    assert status == 0
    return twin, finding_ids


def history_json(twin, *filters: str) -> list[dict]:
    status, printed = run(twin, "--json", "history", *filters)
    assert status == 0
    return json.loads(printed)


def test_history_lists_everything_newest_first(worked):
    twin, ids = worked
    rows = history_json(twin)
    assert [r["finding_id"] for r in rows] == [ids["key"], ids["website"], ids["bucket"]]
    assert [r["status"] for r in rows] == ["remediated", "exempt", "rolled-back"]
    assert rows[2]["rolled_back"].endswith(f"by {TwinTarget(twin).caller()}")


# filters -> which findings are listed, in this order (one twin for all: each costs seconds to build)
FILTERS = {
    ("--resource", TRAINING): ["bucket"],  # exact: the by-resource index
    ("--resource", "arn:aws:s3:::*"): ["website", "bucket"],  # pattern: a scan
    ("--remediation", "kms-*"): ["key"],
    ("--outcome", "exempt"): ["website"],
    ("--outcome", "rolled-back"): ["bucket"],
    ("--outcome", "remediated"): ["key", "bucket"],  # the bucket was remediated, then rolled back
    ("--resource", "arn:aws:s3:::*", "--outcome", "remediated"): ["bucket"],
    ("--since", "1h"): ["key", "website", "bucket"],
    ("--until", "1h"): [],
    ("--limit", "1"): ["key"],
}


def test_history_filters(worked):
    twin, ids = worked
    listed = {filters: [r["finding_id"] for r in history_json(twin, *filters)] for filters in FILTERS}
    assert listed == {filters: [ids[name] for name in expected] for filters, expected in FILTERS.items()}


def test_history_time_range_on_the_resource_index(worked):
    twin, ids = worked
    now = datetime.now(timezone.utc)
    inside = history_json(twin, "--resource", TRAINING, "--since", (now - timedelta(hours=1)).isoformat(), "--until", (now + timedelta(hours=1)).isoformat())
    later = history_json(twin, "--resource", TRAINING, "--since", (now + timedelta(hours=1)).isoformat())
    assert [r["finding_id"] for r in inside] == [ids["bucket"]]
    assert later == []


def test_history_as_text_shows_what_a_person_needs(worked):
    twin, ids = worked
    status, printed = run(twin, "history")
    assert status == 0
    header, *lines = printed.splitlines()
    assert header.split() == ["RECORDED", "(UTC)", "STATUS", "REMEDIATION", "RESOURCE", "FINDING", "ID"]
    assert any(ids["bucket"] in line and "rolled-back" in line and TRAINING in line for line in lines)
    assert any(line.strip().startswith("rolled back ") for line in lines)
    assert any("tagged warden:exempt" in line for line in lines), "why the website was left alone"
    assert lines[-1].startswith("3 record(s), newest first. Undo a fix: python -m warden_ops rollback")


def test_history_rejects_a_time_it_cannot_read(twin):
    status, printed = run(twin, "history", "--since", "last tuesday")
    assert status == 2 and printed == ""


def test_rollback_command_refuses_drift_with_exit_1_and_forces_with_exit_0(twin):
    result = twin.send(event("cloudtrail-s3-putbucketpolicy-public.json"))
    finding_id = result.audit_records[0]["finding_id"]
    s3 = twin.client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=S.TRAINING_BUCKET)["Policy"])
    added = {"Sid": "AddedSinceTheFix", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{twin.account}:root"},
             "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{S.TRAINING_BUCKET}/*"}  # fmt: skip
    s3.put_bucket_policy(Bucket=S.TRAINING_BUCKET, Policy=json.dumps({**policy, "Statement": [*policy["Statement"], added]}))

    refused, refused_text = run(twin, "rollback", finding_id)
    forced, forced_text = run(twin, "rollback", finding_id, "--force", "--exempt-for", "72h")

    assert refused == 1
    assert refused_text.startswith("REFUSED: the resource changed since Warden's fix")
    assert "policy.Statement: added" in refused_text and "AddedSinceTheFix" in refused_text
    assert forced == 0
    exempted, rolled_back, *rest = forced_text.splitlines()
    assert exempted.startswith(f"EXEMPTED: {TRAINING} until ") and f"(rolled back by {TwinTarget(twin).caller()}: {finding_id})" in exempted
    assert rolled_back.startswith("ROLLED-BACK: s3-quarantine-public-bucket on arn:aws:s3:::ml-training-data-prod rolled back")
    assert "  changed since the fix:" in rest
    assert json.loads(s3.get_bucket_policy(Bucket=S.TRAINING_BUCKET)["Policy"]) == S.TRAINING_POLICY, "the before-state, exactly"


def test_rollback_command_without_an_exemption_warns_that_warden_may_fix_it_again(twin):
    finding_id = twin.send(event("cloudtrail-s3-putbucketpolicy-public.json")).audit_records[0]["finding_id"]

    status, printed = run(twin, "rollback", finding_id, "--no-exempt")

    assert status == 0 and printed.startswith("ROLLED-BACK: ")
    assert "Note: AWS Config or GuardDuty may report this exposure again" in printed
    assert json.loads(twin.client("ssm").get_parameter(Name=twin.physical["SettingsParameter"])["Parameter"]["Value"]) == {}


def test_rollback_command_rejects_a_duration_it_cannot_read(twin, capsys):
    status, printed = run(twin, "rollback", "cloudtrail:any", "--exempt-for", "a while")
    assert status == 2 and printed == ""
    assert "--exempt-for 'a while' is not a duration such as 90m, 24h or 3d" in capsys.readouterr().err


def test_rollback_command_for_an_unknown_finding(twin):
    status, printed = run(twin, "rollback", "guardduty:nope")
    assert status == 1
    assert "no audit record has finding_id 'guardduty:nope'" in printed


DOCUMENTED = [args for c in commands() if (m := python_module(c)) and m[0] == "warden_ops" for args in [m[1]]]


def test_every_documented_operator_command_runs(worked, tmp_path, monkeypatch, capsys):
    """Each `python -m warden_ops ...` of README.md and docs/*.md, as written, against the twin:
    it answers (0 done, or 1 refused: the fixture's bucket fix was already rolled back, the other
    finding ids are examples), never an error.
    settings.json is the example document of docs/settings.md."""
    twin, _ = worked
    example = next(b for b in blocks((ROOT / "docs" / "settings.md").read_text(), "json") if '"modes"' in b)
    (tmp_path / "settings.json").write_text(example)
    monkeypatch.chdir(tmp_path)
    assert len(DOCUMENTED) >= 10
    for arguments in DOCUMENTED:
        status, printed = run(twin, *arguments)
        errors = capsys.readouterr().err
        assert (status, errors) in ((0, ""), (1, "")), f"python -m warden_ops {' '.join(arguments)}: {status} {errors}"
        if status == 1:
            assert printed.startswith("REFUSED: ")
        if "--json" in arguments:
            json.loads(printed)
