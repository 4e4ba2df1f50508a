"""`python -m local replay` picks the resources an event needs (--scenario auto, the default), and
refuses bad input in one line, before the twin starts."""

from __future__ import annotations

import json

import pytest

import local.__main__ as cli
from local import scenarios
from tests.conftest import EVENTS
from warden import registry
from warden.findings import RejectedEvent, parse_finding

EVENT_FILES = sorted(EVENTS.glob("*.json"))


def test_the_commands_choices_are_the_scenarios():
    assert cli.SCENARIO_CHOICES == ["auto", "none", *scenarios.SCENARIOS]


def test_every_family_has_its_scenario():
    families = {r.family for r in registry.all_remediations()}
    missing = families - set(scenarios.FAMILY_SCENARIOS)
    assert not missing, f"add the resources these families act on to local.scenarios.FAMILY_SCENARIOS: {missing}"


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.name)
def test_every_sample_event_gets_the_resources_of_its_family(path):
    event = json.loads(path.read_text())
    chosen = scenarios.for_event(event)
    try:
        remediation = registry.remediation_for(parse_finding(event))
    except RejectedEvent:
        remediation = None
    expected = scenarios.FAMILY_SCENARIOS[remediation.family] if remediation else scenarios.DEFAULT
    assert chosen == expected
    assert set(chosen) <= set(scenarios.SCENARIOS)


def test_examples_of_the_choice():
    chosen = {name: scenarios.for_event(json.loads((EVENTS / name).read_text())) for name in (
        "cloudtrail-kms-disablekey.json", "guardduty-iam-maliciousipcaller-accesskey.json",
        "cloudwatch-alarm-apigw-http-count.json", "cloudtrail-s3-putbucketacl-public.json", "malformed-cloudtrail-truncated.json",
    )}  # fmt: skip
    assert chosen == {
        "cloudtrail-kms-disablekey.json": ("public-training-bucket", "encryption"),
        "guardduty-iam-maliciousipcaller-accesskey.json": ("public-training-bucket", "iam"),
        "cloudwatch-alarm-apigw-http-count.json": ("public-training-bucket", "abused-apis"),
        "cloudtrail-s3-putbucketacl-public.json": ("public-training-bucket",),
        "malformed-cloudtrail-truncated.json": ("public-training-bucket",),
    }


def test_a_security_hub_event_turns_security_hub_on():
    event = json.loads((EVENTS / "securityhub-kms-4-key-rotation.json").read_text())
    parameters = scenarios.parameters_for(scenarios.for_event(event), event)
    assert parameters == {"DefaultKmsKeyArn": scenarios.key_arn("default-key"), "SecurityHub": "enabled"}


@pytest.fixture
def no_twin(monkeypatch):
    """Bad input must be refused before the twin starts: starting it fails this test."""
    import local.demo

    def started(*args, **kwargs):
        raise AssertionError("the twin started")

    monkeypatch.setattr(local.demo, "replay", started)


@pytest.mark.parametrize(
    ("content", "argv", "message"),
    [
        (None, [], "missing.json: no such file"),
        ("", [], "event.json: the file is empty; it should hold one EventBridge event (a JSON object)"),
        ('{"detail-type": ', [], "event.json: not valid JSON (Expecting value: line 1 column 17 (char 16))"),
        ("[1, 2]", [], "event.json: holds a JSON list; it should hold one EventBridge event (a JSON object)"),
        ("{}", ["--param", "Mode"], "--param Mode: expected KEY=VALUE, e.g. --param ExemptTagKey=team:public"),
        ("{}", ["--param", "Moed=enforce"], "--param Moed=enforce: template.yaml has no parameter 'Moed'; it has Mode, IamMode,"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_the_twin_starts(no_twin, tmp_path, capsys, content, argv, message):
    path = tmp_path / ("missing.json" if content is None else "event.json")
    if content is not None:
        path.write_text(content)
    assert cli.main(["replay", str(path), *argv]) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert line.startswith("python -m local replay: error: ") and message in line
    assert captured.out == ""
