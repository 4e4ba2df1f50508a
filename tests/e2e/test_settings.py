"""Run-time settings on the twin: changing the SSM parameter changes the decision without a
redeploy; `off` ignores; a bad document is rejected and the last good settings stay."""

from __future__ import annotations

import json

from local import scenarios
from local.twin import Twin
from tests.conftest import event

S = scenarios
PUBLIC_POLICY_EVENT = "cloudtrail-s3-putbucketpolicy-public.json"
ACCOUNT_EVENT = "config-s3-account-level-public-access-blocks.json"


def is_public(twin) -> bool:
    return "PublicReadForSharing" in twin.client("s3").get_bucket_policy(Bucket=S.TRAINING_BUCKET)["Policy"]


def test_changing_the_settings_parameter_changes_the_decision_without_a_redeploy():
    # Deployed in dry-run; SettingsCacheSeconds=0 so each execution reads the parameter (60 s by default).
    with Twin(parameters={"Mode": "dry-run", "SettingsCacheSeconds": "0"}) as twin:
        S.public_training_bucket(twin.client("s3"))
        S.account_block_off(twin.client("s3control"))
        ssm, name = twin.client("ssm"), twin.physical["SettingsParameter"]
        assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "{}", "the stack creates an empty document"

        def settings(document) -> None:
            ssm.put_parameter(Name=name, Value=json.dumps(document), Type="String", Overwrite=True)

        settings({"modes": {"s3-quarantine-public-bucket": "off"}})
        off = twin.send(event(PUBLIC_POLICY_EVENT))
        assert off.decision == "ignored"
        assert off.executions[0].triage["reason"].startswith("the settings' mode for s3-quarantine-public-bucket is off")
        # switching a remediation off pages on-call once for that settings version (tests/e2e/test_tamper.py)
        assert [n["attributes"]["outcome"] for n in off.notifications] == ["settings-changed"] and is_public(twin)

        settings({"modes": {"s3-quarantine-public-bucket": "enforce"}})
        enforced = twin.send(event(PUBLIC_POLICY_EVENT))
        assert enforced.decision == "enforce" and enforced.status == "SUCCEEDED"
        assert enforced.executions[0].triage["reason"] == "the settings' mode for s3-quarantine-public-bucket is enforce"
        assert not is_public(twin)

        settings({"modes": {"s3-quarantine-public-bucket": "enforce", "s3_public": "enforcing"}})  # a typo
        rejected = twin.send(event(ACCOUNT_EVENT))
        reason = rejected.executions[0].triage["reason"]
        assert rejected.decision == "dry-run", "the account fix stays dry-run: Mode, the last good settings"
        assert f"the settings parameter {name} was rejected: modes.s3_public: 'enforcing' is not a mode" in reason
        assert reason.endswith("Warden uses the last good settings it read")
        (message,) = rejected.notifications
        assert "modes.s3_public: 'enforcing' is not a mode" in message["body"], "on-call is told"


def test_exemptions_with_expiry_from_the_settings_document(twin):
    twin.client("ssm").put_parameter(
        Name=twin.physical["SettingsParameter"],
        Value=json.dumps({"exempt_resources": [{"resource": "arn:aws:s3:::ml-training-*", "until": "2099-01-31", "reason": "vendor review"}]}),
        Type="String",
        Overwrite=True,
    )
    result = twin.send(event(PUBLIC_POLICY_EVENT))
    assert result.decision == "exempt"
    assert "exemption list entry 'arn:aws:s3:::ml-training-*' (reason: vendor review; until 2099-01-31)" in result.notifications[0]["body"]


def test_the_settings_command_refuses_to_save_an_invalid_document(twin, tmp_path):
    import io

    from warden_ops.cli import main
    from warden_ops.target import TwinTarget

    def run(*argv) -> tuple[int, str]:
        out = io.StringIO()
        return main(list(argv), target=TwinTarget(twin), out=out), out.getvalue()

    bad, good = tmp_path / "bad.json", tmp_path / "good.json"
    bad.write_text(json.dumps({"modes": {"iam": "approved"}}))
    good.write_text(json.dumps({"modes": {"iam": "dry-run"}, "dedupe_window_seconds": 900}))
    name = twin.physical["SettingsParameter"]

    status, printed = run("settings", "set", str(bad))
    assert status == 2 and "INVALID: modes.iam: 'approved' is not a mode; use one of enforce, dry-run, approve, off" in printed
    assert twin.client("ssm").get_parameter(Name=name)["Parameter"]["Value"] == "{}", "nothing was saved"

    status, printed = run("settings", "set", str(good))
    assert status == 0 and printed.startswith(f"Saved to {name}")
    status, printed = run("settings", "show")
    assert status == 0 and json.loads(printed) == {"modes": {"iam": "dry-run"}, "dedupe_window_seconds": 900}


def test_a_long_settings_document_is_saved_in_the_advanced_tier_and_a_too_long_one_refused(twin, tmp_path):
    """Lists longer than the template parameters allow (800 characters) go in the settings document:
    up to 8 KB, which Parameter Store keeps in its Advanced tier (the parameter is Intelligent-Tiering)."""
    import io

    from warden_ops.cli import main
    from warden_ops.target import TwinTarget

    def run(*argv) -> tuple[int, str]:
        out = io.StringIO()
        return main(list(argv), target=TwinTarget(twin), out=out), out.getvalue()

    long, too_long = tmp_path / "long.json", tmp_path / "too-long.json"
    buckets = [f"arn:aws:s3:::team-{i:04d}-public-website-bucket" for i in range(200)]
    long.write_text(json.dumps({"exempt_resources": buckets[:120] + [f"arn:aws:s3:::{scenarios.TRAINING_BUCKET}"]}))
    too_long.write_text(json.dumps({"exempt_resources": buckets}))
    name = twin.physical["SettingsParameter"]

    status, printed = run("settings", "set", str(too_long))
    assert status == 2 and "Parameter Store holds at most 8,192 (Advanced tier)" in printed
    assert twin.client("ssm").get_parameter(Name=name)["Parameter"]["Value"] == "{}", "nothing was saved"

    status, printed = run("settings", "set", str(long))
    assert status == 0 and "bytes: the Advanced tier" in printed
    (saved,) = twin.client("ssm").describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
    assert saved["Tier"] == "Intelligent-Tiering", "Standard holds 4 KB only"
    result = twin.send(event(PUBLIC_POLICY_EVENT))
    assert result.decision == "exempt", "the 121st entry of a list no template parameter could hold"
