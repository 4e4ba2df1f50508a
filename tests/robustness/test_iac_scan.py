"""IaC scanning: checkov over template.yaml finds nothing but the reviewed, justified suppressions.
`make scan` runs the same scan with tests/robustness/.checkov.yaml as its config file.

checkov runs from its own venv (.venv/scan, made by `make test`): it pins boto3==1.35.49,
packaging<24 and networkx<2.7, which conflict with requirements-dev.txt. The suppressions and
their reasons are in tests/robustness/.checkov.yaml; each comment names the resource type (or the
one resource, "... only") it may cover, and this test holds it to that.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest
import yaml
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).resolve().parent / ".checkov.yaml"
CHECKOV = ROOT / ".venv" / "scan" / "bin" / "checkov"
SKIPS = yaml.safe_load(CONFIG.read_text())["skip-check"]
# "# CKV_AWS_28 (AWS::DynamoDB::Table.DedupeTable only) reason..." -> which resources it may cover
SCOPES = {
    check: (tuple(scope.split(" and ")), bool(only))
    for check, scope, only in re.findall(r"^\s*# (CKV_\w+) \(([\w:.]+(?: and [\w:.]+)*)( only)?\)", CONFIG.read_text(), re.MULTILINE)
}


def _start(*extra: str) -> subprocess.Popen:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make test` (or `make .venv/scan/.installed`) to create the scanner venv")
    return subprocess.Popen(
        [str(CHECKOV), "-f", "template.yaml", "--framework", "cloudformation", "--skip-download", "-o", "json", *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )


@lru_cache(maxsize=None)
def unsuppressed() -> dict:
    """One scan with no suppression; the tests apply .checkov.yaml's skip-check list themselves, so
    they can also see what each suppression hides (`make scan` runs with the config file)."""
    process = _start()
    out, err = process.communicate(timeout=300)
    assert process.returncode in (0, 1), err[-2000:]  # 1 = some check failed
    report = json.loads(out)
    return report[0] if isinstance(report, list) else report


def failures(report: dict) -> set[tuple[str, str]]:
    return {(f["check_id"], f["resource"]) for f in report["results"]["failed_checks"]}


def test_template_passes_checkov_with_the_reviewed_suppressions():
    report = unsuppressed()
    assert report["summary"]["parsing_errors"] == 0
    template, _ = decode(str(ROOT / "template.yaml"))
    assert report["summary"]["resource_count"] == len(template["Resources"]), "checkov saw every resource"
    assert report["summary"]["passed"] >= 10, "checkov really ran its CloudFormation checks"
    new = {(check, resource) for check, resource in failures(report) if check not in SKIPS}
    assert new == set(), "new findings: fix the template, or justify a suppression in .checkov.yaml"


def test_every_suppression_is_justified_scoped_and_still_needed():
    assert sorted(SCOPES) == sorted(SKIPS), "each skip-check id needs a '# <id> (<resource type>) reason' comment"
    found = failures(unsuppressed())
    for check in SKIPS:
        hits = {resource for check_id, resource in found if check_id == check}
        assert hits, f"{check} no longer fails anywhere: remove its suppression"
        scopes, only = SCOPES[check]
        outside = {r for r in hits if (r not in scopes if only else not any(r.startswith(scope + ".") for scope in scopes))}
        assert not outside, f"{check} is suppressed for {' and '.join(scopes)} but also hides findings on {sorted(outside)}"


def test_the_sqs_false_positive_is_really_encrypted():
    template, _ = decode(str(ROOT / "template.yaml"))
    assert template["Resources"]["DeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True
