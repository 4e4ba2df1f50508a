"""The README's local commands: `python -m local demo` (what `make demo` runs) and
`python -m local replay`, as a person runs them, output included."""

from __future__ import annotations

import json

from local.__main__ import main
from tests.conftest import EVENTS


def test_the_quick_start_demo_ends_with_the_training_data_private(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "training data no longer public; exempt bucket untouched; no object touched" in out
    assert "UNEXPECTED END STATE" not in out


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
