"""The first-day sweep (issue 13): exposures that existed before Warden, which no event reports again,
listed from what Config, GuardDuty and Security Hub hold, and with --apply sent through the same
workflow (modes, exemptions, dedupe). Run as an operator would: python -m warden_ops on the twin."""

from __future__ import annotations

import copy
import io
import json
import math

import pytest

from local import moto_guardduty
from local import scenarios as S
from tests.conftest import event
from warden_ops.cli import main
from warden_ops.sweep import Pacer
from warden_ops.target import TwinTarget

TRAIL_FINDING = "guardduty-stealth-cloudtrailloggingdisabled.json"


def sweep(twin, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["sweep", *args], target=TwinTarget(twin), out=out)
    return code, out.getvalue()


def detail(name: str, **changes) -> dict:
    held = copy.deepcopy(event(name)["detail"])
    held.update(changes)
    return held


def exposed_before_warden(twin) -> None:
    """Config found the public training bucket and the exempt website bucket; GuardDuty holds the
    stopped trail's finding, an archived one and a sample."""
    S.config_rule(twin.client("config"))
    S.config_finds_non_compliant(S.PUBLIC_READ_RULE, "AWS::S3::Bucket", [S.TRAINING_BUCKET, S.EXEMPT_BUCKET])
    archived = detail(TRAIL_FINDING, id="0" * 32)
    archived["service"] = {**archived["service"], "archived": True}
    sample = detail("guardduty-sample-s3-bucketpublicaccessgranted.json")
    moto_guardduty.forget(S.ACCOUNT, S.REGION, S.GUARDDUTY_DETECTOR)  # the fixture's GuardDuty holds every event file's finding
    S.guardduty_reported(twin.client, [detail(TRAIL_FINDING), archived, sample])


def wait_for(twin, arns: list[str]) -> list:
    """The sweep's executions once they ended (Express ones: the twin reads what AWS shows in the
    workflow's log group, as their API keeps no record)."""
    return [twin.execution(arn) for arn in arns]


def test_the_sweep_lists_what_exists_now_and_changes_nothing(twin):
    exposed_before_warden(twin)
    s3 = twin.client("s3")
    policy_before = s3.get_bucket_policy(Bucket=S.TRAINING_BUCKET)["Policy"]

    code, text = sweep(twin)

    assert code == 0
    lines = text.splitlines()
    assert lines[0].split() == ["ACCOUNT", "RESOURCE", "FINDING", "WHAT", "WARDEN", "WOULD", "DO", "MODE"]
    training = next(line for line in lines if f"arn:aws:s3:::{S.TRAINING_BUCKET}" in line)
    assert f"config {S.PUBLIC_READ_RULE}" in training and "turn on all four Block Public Access settings of the bucket" in training
    assert training.split()[0] == S.ACCOUNT and training.rstrip().endswith("enforce")
    trail = next(line for line in lines if f"trail/{S.TRAIL}" in line)
    assert "guardduty Stealth:IAMUser/CloudTrailLoggingDisabled" in trail and "start the trail logging again" in trail
    assert len([line for line in lines if line.startswith(S.ACCOUNT)]) == 3, "the archived finding is not active"
    assert "skipped: GuardDuty Policy:S3/BucketPublicAccessGranted sample finding: a wiring test, never acted on" in lines
    assert lines[-1].startswith("3 exposure(s) from ") and lines[-1].endswith("Nothing was changed; --apply sends each through the workflow (its mode decides).")
    assert s3.get_bucket_policy(Bucket=S.TRAINING_BUCKET)["Policy"] == policy_before
    assert twin._execution_threads == {}, "the sweep started an execution"


def test_sweep_apply_fixes_them_through_the_workflow_with_exemptions_and_dedupe(twin):
    exposed_before_warden(twin)

    code, text = sweep(twin, "--apply", "--json")

    assert code == 0
    answer = json.loads(text)
    executions = wait_for(twin, [row["execution"] for row in answer["exposures"]])
    assert [e.status for e in executions] == ["SUCCEEDED"] * 3
    assert all(e.arn.split(":")[7].startswith("sweep-") for e in executions)
    # the public bucket is quarantined, the trail logs again, the exempt bucket is left alone
    s3 = twin.client("s3")
    assert all(s3.get_public_access_block(Bucket=S.TRAINING_BUCKET)["PublicAccessBlockConfiguration"].values())
    assert twin.client("cloudtrail").get_trail_status(Name=S.TRAIL)["IsLogging"] is True
    messages = {m["attributes"]["outcome"]: m for m in twin._drain_inbox()}
    assert set(messages) == {"remediated", "exempt"}
    assert "config reported s3-bucket-public-read-prohibited-conformance-pack-x1y2z3 at " in messages["exempt"]["body"]
    assert "(found by python -m warden_ops sweep)" in messages["exempt"]["body"]
    history_out = io.StringIO()
    assert main(["--json", "history"], target=TwinTarget(twin), out=history_out) == 0
    records = json.loads(history_out.getvalue())
    assert len(records) == 3 and {r["found_by"] for r in records} == {"sweep"}

    # A second sweep within the dedupe window: nothing is done twice. The Config evaluation comes back as a
    # new finding (a duplicate within the dedupe window); the GuardDuty finding is the same finding, which
    # Warden already fixed: a redelivery, recorded as an attempt and never re-applied (a duplicate too).
    code, text = sweep(twin, "--apply", "--json")
    again = wait_for(twin, [row["execution"] for row in json.loads(text)["exposures"]])
    outputs = [e.output for e in again]
    assert sorted(o.get("decision") for o in outputs) == ["duplicate", "duplicate", "exempt"]
    duplicates = sorted(o["reason"] for o in outputs if o["decision"] == "duplicate")
    assert "within the 300s dedupe window" in duplicates[0] and "never re-applied" in duplicates[1]
    assert sorted(m["attributes"]["outcome"] for m in twin._drain_inbox()) == ["duplicate", "duplicate", "exempt"]
    assert twin.client("cloudtrail").get_trail_status(Name=S.TRAIL)["IsLogging"] is True


def test_a_sweep_of_1000_resources_per_source_pages_and_paces_its_calls_securityhub(twin):
    """1,000 NON_COMPLIANT evaluations, 1,000 GuardDuty findings, 1,000 Security Hub control findings:
    the calls are pages and batches, counted per operation through botocore's before-call event."""
    S.config_rule(twin.client("config"))
    S.config_finds_non_compliant(S.PUBLIC_READ_RULE, "AWS::S3::Bucket", [f"ml-data-{i:04d}" for i in range(1000)])
    moto_guardduty.forget(S.ACCOUNT, S.REGION, S.GUARDDUTY_DETECTOR)
    S.guardduty_reported(twin.client, [detail(TRAIL_FINDING, id=f"{i:032x}") for i in range(1000)])
    control = event("securityhub-kms-4-key-rotation.json")["detail"]["findings"][0]
    twin.client("securityhub").batch_import_findings(
        Findings=[{**control, "Id": f"{control['Id']}-{i}", "Workflow": {"Status": "NEW"}} for i in range(1000)]
    )

    pacer = Pacer(rate=1000.0, burst=1000)  # the pace is Pacer's own test; here the count of calls
    from warden_ops import sweep as sweeping

    found = sweeping.run(TwinTarget(twin), pacer)

    by_source = {source: sum(e.finding.startswith(source) for e in found.exposures) for source in ("config", "guardduty", "securityhub")}
    assert by_source["config"] == 1000 and by_source["guardduty"] == 1000
    assert by_source["securityhub"] >= 1000  # and the control findings of events/ the fixture holds
    assert pacer.calls["config:DescribeComplianceByConfigRule"] == 1
    assert pacer.calls["config:GetComplianceDetailsByConfigRule"] == 10  # 100 a page
    assert pacer.calls["guardduty:ListFindings"] == 20 and pacer.calls["guardduty:GetFindings"] == 20  # 50 a page and batch
    legacy = [e for e in found.exposures if e.finding.startswith("securityhub") and "SecurityControlId" not in e.event["detail"]["findings"][0].get("Compliance", {})]
    assert legacy, "findings from before consolidated controls are read too (the fixture holds three)"
    consolidated = by_source["securityhub"] - len(legacy)
    # 100 a page; then the legacy GeneratorIds in two queries (23 ids, at most 20 values a filter), one page each
    assert pacer.calls["securityhub:GetFindings"] == math.ceil(consolidated / 100) + 2
    assert sum(pacer.calls.values()) <= 72


def test_the_pacer_never_lets_more_than_rate_calls_a_second_through():
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    pacer = Pacer(rate=5.0, burst=5, clock=lambda: clock[0], sleep=sleep)
    for _ in range(25):
        pacer.take("config:GetComplianceDetailsByConfigRule")
    assert len(slept) == 20 and slept == pytest.approx([0.2] * 20)  # the burst of 5 is free, then one call every 1/5 s
    assert clock[0] == pytest.approx(4.0) and pacer.calls == {"config:GetComplianceDetailsByConfigRule": 25}


def test_a_rate_of_zero_is_one_line_and_exit_2(twin, capsys):
    assert sweep(twin, "--rate", "0")[0] == 2
    assert capsys.readouterr().err.strip() == "error: --rate must be above 0 calls a second, not 0"


def test_account_lists_only_that_accounts_exposures_and_reads_config_only_for_this_account(twin):
    """In an organization the administrator account's GuardDuty and Security Hub hold the members'
    findings: --account narrows the list (and --apply) to some accounts."""
    exposed_before_warden(twin)
    other = "111122223333"

    code, own = sweep(twin, "--account", S.ACCOUNT)
    assert code == 0 and own.splitlines()[-1].startswith("3 exposure(s) from "), "this account's three"

    code, printed = sweep(twin, "--account", other, "--json")
    answer = json.loads(printed)
    assert code == 0 and answer["exposures"] == []
    assert answer["left_out_other_accounts"] == 1, "GuardDuty's finding, read and left out"
    assert not [call for call in answer["api_calls"] if call.startswith("config:")], "Config reports this account only"

    code, text = sweep(twin, "--account", f"{other},{S.ACCOUNT}")
    assert code == 0 and text.splitlines()[-1].startswith("3 exposure(s) from ")


def test_an_account_that_is_not_12_digits_is_one_line_and_exit_2(twin, capsys):
    assert sweep(twin, "--account", "12345")[0] == 2
    assert capsys.readouterr().err.strip() == "error: --account takes 12-digit AWS account ids, not 12345"


def test_findings_from_before_consolidated_controls_are_swept_too_securityhub(twin):
    """An account without consolidated control findings names the control per standard in GeneratorId:
    the sweep reads those by GeneratorId, and triage maps them (docs/security-hub.md)."""
    from warden_ops import sweep as sweeping

    found = sweeping.run(TwinTarget(twin), Pacer(rate=1000.0, burst=1000))

    generators = {e.event["detail"]["findings"][0]["GeneratorId"]: e for e in found.exposures if e.finding.startswith("securityhub")}
    fsbp = generators["aws-foundational-security-best-practices/v/1.0.0/S3.8"]
    assert fsbp.remediation == "s3-bucket-block-public-access" and fsbp.resource.startswith("arn:aws:s3:::")
    assert generators["pci-dss/v/3.2.1/PCI.KMS.1"].remediation == generators["security-control/KMS.4"].remediation
