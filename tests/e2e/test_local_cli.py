"""The documented local commands: `python -m local demo` (what `make demo` runs) and
`python -m local replay`, as a person runs them, output included; and every replay command that
README.md or docs/*.md shows, run as written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from local.__main__ import main
from tests.conftest import EVENTS
from tests.documented import ROOT, blocks, commands, python_module


def _as_local_arguments(command) -> list[str] | None:
    """The arguments of `python -m local` that a documented command runs: `make replay EVENT=.. MODE=..`
    runs `python -m local replay $(EVENT) --mode $(MODE)` (see the Makefile)."""
    if command.argv[:2] == ["make", "replay"]:
        variables = dict(a.split("=", 1) for a in command.argv[2:])
        return ["replay", variables["EVENT"], "--mode", variables.get("MODE", "enforce")]
    module = python_module(command)
    if module and module[0] == "local" and module[1][:1] == ["replay"]:
        return module[1]
    return None


DOCUMENTED_REPLAYS = sorted({tuple(a) for c in commands() if (a := _as_local_arguments(c))})


@pytest.mark.parametrize("arguments", DOCUMENTED_REPLAYS, ids=" ".join)
def test_every_documented_replay_runs(arguments, tmp_path, monkeypatch, capsys):
    """Run from the repository's root, as the docs say; 'my-event.json' stands for your own event,
    here a copy of a sample."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "events", tmp_path / "events")
    shutil.copy(EVENTS / "cloudtrail-s3-putbucketpolicy-public.json", tmp_path / "my-event.json")
    assert main(list(arguments)) == 0
    out = capsys.readouterr().out
    if "--json" in arguments:
        assert json.loads(out)["notifications"], "someone is told"
    else:
        assert "decision" in out and "workflow" in out


def test_the_quick_start_demo_ends_with_the_training_data_private(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "training data no longer public; exempt bucket untouched; no object touched; the sweep fixed the older exposure" in out
    assert "UNEXPECTED END STATE" not in out
    # the first day: the sweep lists the exposure older than Warden, then fixes it through the workflow
    assert "$ python -m warden_ops sweep\n    ACCOUNT" in out
    assert "arn:aws:s3:::ml-eval-results-2025  config s3-bucket-public-read-prohibited-conformance-pack-x1y2z3" in out
    assert "Started 1 workflow execution(s)" in out
    assert "[HIGH/remediated] [Warden] Fixed: public S3 bucket ml-eval-results-2025" in out


def test_replay_of_a_security_hub_finding_shows_what_security_hub_now_shows(capsys):
    path = EVENTS / "securityhub-s3-8-bucket-public-access.json"
    assert main(["replay", str(path), "--param", "SecurityHub=enabled", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    (message,) = result["notifications"]
    finding_id = json.loads(path.read_text())["detail"]["findings"][0]["Id"]
    assert message["attributes"]["outcome"] == "remediated"
    assert f"SECURITY HUB\n  finding {finding_id} set to RESOLVED, with a note" in message["body"]


def test_replay_in_dry_run_changes_nothing_and_says_what_it_would_do(capsys):
    path = EVENTS / "cloudtrail-s3-putbucketpolicy-public.json"
    assert main(["replay", str(path), "--mode", "dry-run"]) == 0
    out = capsys.readouterr().out
    assert "decision   dry-run" in out and "DRY RUN, would fix" in out


@pytest.mark.parametrize(
    ("file", "outcomes"),
    [
        ("cloudtrail-kms-disablekey.json", ["remediated"]),
        ("guardduty-iam-maliciousipcaller-accesskey.json", ["remediated"]),
        ("cloudwatch-alarm-apigw-rest-4xx.json", ["remediated", "escalated"]),
    ],
)
def test_replay_of_each_family_finds_its_resources_with_the_default_scenario(capsys, file, outcomes):
    """Without --scenario, the replay creates what the event's remediation acts on: the key, the
    user's access key, the abused API (not only the demo's buckets, where these ended resource-gone)."""
    assert main(["replay", str(EVENTS / file), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [n["attributes"]["outcome"] for n in result["notifications"]] == outcomes


def test_the_python_example_runs_as_documented(tmp_path):
    """docs/developers.md's Python example, saved as the script its command names, run by that
    command in a fresh interpreter: PYTHONPATH=. .venv/bin/python my_scenario.py (from the
    repository's root; here PYTHONPATH names the root, and the event file is a sample's copy)."""
    (command,) = [c for c in commands() if c.argv[-1].endswith(".py") and c.page == "docs/developers.md"]
    (example,) = blocks((ROOT / "docs" / "developers.md").read_text(), "python")
    (tmp_path / command.argv[-1]).write_text(example + "\nprint(result.decision, result.status, len(result.notifications))\n")
    shutil.copy(EVENTS / "cloudtrail-s3-putbucketpolicy-public.json", tmp_path / "my-event.json")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    ran = subprocess.run([sys.executable, command.argv[-1]], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    # the sample names ml-training-data-prod, which this scenario (my-bucket only) did not create
    assert ran.stdout.split()[-3:] == ["resource-gone", "SUCCEEDED", "1"]
