"""Settings that switch protection off page on-call through Triage and Notify (once per version of
the parameter), besides the tamper rule of tests/e2e/test_tamper.py that names who changed it. The
attacker holds PowerUserAccess: ssm:PutParameter on the settings parameter."""

from __future__ import annotations

import json

from local import scenarios
from local.twin import Twin
from tests.conftest import event

def test_settings_that_switch_protection_off_page_once_per_version_naming_what_is_off():
    """The attacker's PutParameter; the next findings go through Triage, which reads the new version."""
    with Twin(parameters={"Mode": "enforce", "SettingsCacheSeconds": "0"}) as deployed:
        scenarios.public_training_bucket(deployed.client("s3"))
        ssm, parameter = deployed.client("ssm"), deployed.physical["SettingsParameter"]

        def attacker_sets(document: dict) -> None:
            ssm.put_parameter(Name=parameter, Value=json.dumps(document), Type="String", Overwrite=True)

        attacker_sets({"mode": "off"})
        first = deployed.send(event("cloudtrail-s3-putbucketpolicy-public.json"))
        again = deployed.send(event("cloudtrail-s3-putbucketpolicy-public.json"))
        attacker_sets({"exempt_resources": ["*"]})
        everything = deployed.send(event("cloudtrail-s3-putbucketpolicy-public.json"))
        attacker_sets({"exempt_resources": ["arn:aws:s3:::public-website-*"], "modes": {"iam": "dry-run"}})
        ordinary = deployed.send(event("cloudtrail-s3-putbucketpolicy-public.json"))

    (alert,) = first.notifications
    assert alert["attributes"] == {"severity": "HIGH", "outcome": "settings-changed", "remediation": "s3-quarantine-public-bucket"}
    assert f"{parameter} version 2" in alert["subject"]
    assert "mode is off" in alert["body"] and f"ssm:PutParameter on {parameter}" in alert["body"]
    assert first.decision == "ignored", "the settings still apply: the alert does not undo them"
    assert again.notifications == [], "once per version"

    outcomes = [n["attributes"]["outcome"] for n in everything.notifications]
    assert outcomes == ["settings-changed", "exempt"]
    assert "exempt_resources[0] '*' exempts every S3 bucket, every KMS key" in everything.notifications[0]["body"]
    assert [n["attributes"]["outcome"] for n in ordinary.notifications] == ["remediated"], "a narrow exemption is no alert"
