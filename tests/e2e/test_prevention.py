"""Prevention proposals on the twin: the message names them (short), the audit record and history
keep them, and `python -m warden_ops prevent` groups them by how many findings each would have
prevented. Warden applies none (tests/unit/test_prevention.py checks no role could)."""

from __future__ import annotations

import io
import json

from tests.conftest import event
from warden.prevention import FAMILIES
from warden_ops.cli import main
from warden_ops.target import TwinTarget


def run(twin, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), target=TwinTarget(twin), out=out)
    return status, out.getvalue()


def test_each_family_is_proposed_and_counted_by_findings_prevented(twin):
    bucket = twin.send(event("cloudtrail-s3-putbucketpolicy-public.json"))
    config = twin.send(event("config-s3-bucket-public-read-prohibited.json"))  # the same exposure, reported again
    ebs = twin.send(event("cloudtrail-ec2-disableebsencryptionbydefault.json"))
    website = twin.send(event("cloudtrail-s3-putbucketpolicy-exempt-bucket.json"))

    body = bucket.notifications[0]["body"]
    assert "PREVENT THE NEXT ONE (proposals only: Warden applies none of them)" in body
    assert "  - [account-s3-bpa] Account-level S3 Block Public Access, all four settings on" in body
    assert "python -m warden_ops prevent" in body
    assert "[ebs-default] EBS encryption by default, in every region" in ebs.notifications[0]["body"]
    assert "scp-s3-keep-block-public-access" in bucket.audit_records[0]["prevention"]
    assert website.decision == "exempt"

    assert config.decision == "duplicate"

    status, printed = run(twin, "--json", "prevent")
    assert status == 0
    ranked = json.loads(printed)
    assert [e["prevented"] for e in ranked] == sorted((e["prevented"] for e in ranked), reverse=True)
    report = {entry["id"]: entry for entry in ranked}
    assert {entry["family"] for entry in report.values()} == set(FAMILIES)
    bpa = report["account-s3-bpa"]
    assert (bpa["prevented"], bpa["exempt"]) == (1, 1), "a duplicate is not a second exposure; the exempt website is counted apart"
    assert bpa["remediations"] == {"s3-quarantine-public-bucket": 2}
    assert report["ebs-encryption-by-default"]["prevented"] == 1
    assert json.loads(run(twin, "--json", "prevent", "--since", "30d")[1]) == ranked
    assert json.loads(run(twin, "--json", "prevent", "--since", "2099-01-01")[1]) == []

    status, printed = run(twin, "prevent", "--family", "scp")
    assert status == 0
    assert "PROPOSALS ONLY: Warden applies none." in printed
    assert "[scp] scp-s3-keep-block-public-access: SCP: deny turning S3 Block Public Access off" in printed
    assert "blast radius:" in printed and "apply in:     the management account" in printed
    assert "[rcp]" not in printed

    status, printed = run(twin, "history", "--resource", "arn:aws:s3:::ml-training-data-prod")
    assert "would have been prevented by (proposals): account-s3-bpa, scp-s3-keep-block-public-access" in printed


def test_prevent_with_nothing_to_report(twin):
    assert run(twin, "prevent") == (0, "No finding in the audit table has a preventive control to propose.\n")
