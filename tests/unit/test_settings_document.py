"""The run-time settings document: validation names the bad key, and a bad document never makes
Warden enforce more than the last good settings or the template parameters."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from warden import settings as runtime
from warden.aws import reset_clients
from warden.policy import Settings

NAME = "/warden/settings"
TEMPLATE_ENV = {"WARDEN_MODE": "dry-run", "WARDEN_MODE_IAM": "dry-run", "WARDEN_EXEMPT_RESOURCES": "arn:aws:s3:::site-*",
                "WARDEN_PROTECTED_PRINCIPAL_ARNS": "arn:aws:iam::123456789012:role/BreakGlass",
                "WARDEN_SETTINGS_PARAMETER": NAME, "WARDEN_SETTINGS_MAX_AGE": "0"}  # fmt: skip

GOOD = {
    "mode": "enforce",
    "modes": {"iam": "dry-run", "sagemaker-stop-exposed-notebook": "off", "s3-account-block-public-access": "dry-run"},
    "exempt_resources": ["arn:aws:s3:::public-*", {"resource": "arn:aws:s3:::ml-demo-*", "until": "2027-01-31", "reason": "demo"}],
    "protected_principals": ["arn:aws:iam::123456789012:role/Auditor"],
    "dedupe_window_seconds": 600,
    "approval_timeout_seconds": 3600,
    "comment": "changed by alice for the Q1 rollout",
}


def test_a_good_document_is_valid():
    assert runtime.validate(GOOD) == []
    assert runtime.validate({}) == []


@pytest.mark.parametrize(
    "document, message",
    [
        ({"mdoe": "enforce"}, "mdoe: unknown key; the keys are mode, modes,"),
        ({"mode": "enforcing"}, "mode: 'enforcing' is not a mode; use one of enforce, dry-run, approve, off"),
        ({"mode": "ENFORCE"}, "mode: 'ENFORCE' is not a mode"),
        ({"mode": "approved"}, "mode: 'approved' is not a mode; use one of enforce, dry-run, approve, off"),
        ({"approval_timeout_seconds": 0}, "approval_timeout_seconds: 0 is not a whole number of seconds from 1 to 604800"),
        ({"approval_timeout_seconds": "1h"}, "approval_timeout_seconds: '1h' is not a whole number"),
        ({"modes": {"s3-quarantine-bucket": "off"}}, "modes.s3-quarantine-bucket: no remediation or family has this name; families: "),
        ({"modes": {"iam": True}}, "modes.iam: True is not a mode"),
        ({"modes": ["iam"]}, "modes: must be an object"),
        ({"exempt_resources": "arn:aws:s3:::x"}, "exempt_resources: must be a list"),
        ({"exempt_resources": ["", "arn:aws:s3:::x"]}, "exempt_resources[0]: an empty pattern would match nothing"),
        ({"exempt_resources": [{"arn": "arn:aws:s3:::x"}]}, "exempt_resources[0]: must be an ARN or pattern, or an object with a non-empty 'resource'"),
        ({"exempt_resources": [{"resource": "arn:aws:s3:::x", "until": "31/01/2027"}]}, "exempt_resources[0].until: '31/01/2027' is not a date"),
        ({"exempt_resources": [{"resource": "arn:aws:s3:::x", "expires": "2027-01-31"}]}, "exempt_resources[0].expires: unknown key"),
        ({"protected_principals": ["BreakGlass"]}, "protected_principals[0]: 'BreakGlass' is not an IAM principal ARN"),
        ({"protected_principals": "arn:aws:iam::123456789012:role/x"}, "protected_principals: must be a list"),
        ({"dedupe_window_seconds": "600"}, "dedupe_window_seconds: '600' is not a whole number of seconds from 1 to 86400"),
        ({"dedupe_window_seconds": 0}, "dedupe_window_seconds: 0 is not a whole number"),
        ({"dedupe_window_seconds": True}, "dedupe_window_seconds: True is not a whole number"),
        (["mode", "enforce"], "the document must be a JSON object, not list"),
    ],
)
def test_a_bad_key_or_type_is_named(document, message):
    errors = runtime.validate(document)
    assert any(message in error for error in errors), errors


def test_the_document_overrides_the_template_parameters_key_by_key():
    base = Settings.from_env(TEMPLATE_ENV)
    merged = runtime.apply(base, GOOD)
    assert merged.mode_of("s3-quarantine-public-bucket", "s3_public") == ("enforce", "Mode")
    assert merged.mode_of("s3-account-block-public-access", "s3_public")[0] == "dry-run"
    assert merged.mode_of("sagemaker-stop-exposed-notebook", "encryption")[0] == "off"
    assert merged.mode_of("iam-strip-inline-policy", "iam") == ("dry-run", "the iam family's mode")
    assert merged.exempt_resource_patterns == ("arn:aws:s3:::public-*", "arn:aws:s3:::ml-demo-*")
    assert merged.exempt_terms["arn:aws:s3:::ml-demo-*"] == "until=2027-01-31 reason=demo"
    # protection is only ever added at run time
    assert merged.protected_principal_arns == ("arn:aws:iam::123456789012:role/BreakGlass", "arn:aws:iam::123456789012:role/Auditor")
    assert merged.dedupe_window_seconds == 600
    assert merged.approval_timeout_seconds == 3600
    assert runtime.apply(base, {}) == base


@pytest.fixture
def ssm(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        reset_clients()
        client = boto3.client("ssm", region_name="us-east-1")
        client.put_parameter(Name=NAME, Value="{}", Type="String")
        yield lambda document: client.put_parameter(
            Name=NAME, Value=document if isinstance(document, str) else json.dumps(document), Type="String", Overwrite=True
        )
        reset_clients()


def test_loaded_from_parameter_store(ssm):
    ssm(GOOD)
    loaded = runtime.load(TEMPLATE_ENV)
    assert loaded.mode == "enforce" and loaded.notes == ()


def test_a_rejected_document_keeps_the_last_good_settings_and_says_so(ssm):
    ssm({"mode": "dry-run", "modes": {"s3_public": "enforce"}})
    assert runtime.load(TEMPLATE_ENV).mode_of("s3-quarantine-public-bucket", "s3_public")[0] == "enforce"

    ssm({"mode": "dry-run", "modes": {"s3_public": "enforce", "s3-quarantine-bucket": "off"}})  # a typo
    loaded = runtime.load(TEMPLATE_ENV)

    assert loaded.mode_of("s3-quarantine-public-bucket", "s3_public")[0] == "enforce", "the last good settings stay"
    (note,) = loaded.notes
    assert note.startswith(f"the settings parameter {NAME} was rejected: modes.s3-quarantine-bucket: no remediation or family")
    assert note.endswith("Warden uses the last good settings it read")


def test_without_good_settings_the_template_parameters_apply_never_enforce_everything(ssm):
    ssm('{"mode": "enforce", ')  # truncated JSON
    loaded = runtime.load(TEMPLATE_ENV)
    assert loaded.mode == "dry-run" and loaded.family_modes == {"iam": "dry-run"}
    (note,) = loaded.notes
    assert f"the settings parameter {NAME} is not valid JSON" in note and note.endswith("Warden uses the template parameters")


def test_a_missing_parameter_falls_back_to_the_template_parameters(ssm):
    loaded = runtime.load({**TEMPLATE_ENV, "WARDEN_SETTINGS_PARAMETER": "/warden/missing"})
    assert loaded.mode == "dry-run"
    assert "the settings parameter /warden/missing could not be read" in loaded.notes[0]


def _exempting(count: int) -> dict:
    return {"exempt_resources": [f"arn:aws:s3:::team-{i:04d}-public-website-bucket" for i in range(count)]}


def test_a_document_parameter_store_cannot_hold_is_named_with_its_size():
    """8 KB is the Advanced tier's limit; the message says how big it is and how to shorten it."""
    (error,) = runtime.validate(_exempting(200))
    assert error.startswith("the document is ") and "Parameter Store holds at most 8,192 (Advanced tier)" in error
    assert runtime.validate(_exempting(150)) == [], "over 4 KB but within the Advanced tier"


def test_a_document_over_4_kb_is_saved_compact_so_long_lists_fit():
    saved = runtime.stored_form(_exempting(150))
    assert 4096 < len(saved) <= 8192 and "\n" not in saved
    assert json.loads(saved) == _exempting(150)
    assert runtime.stored_form(GOOD) == json.dumps(GOOD, indent=1), "small documents stay readable"


def test_accounts_entries_are_validated_with_the_keys_an_account_may_set():
    from warden.settings import validate

    errors = validate({"accounts": {"12345": {"mode": "on"}, "111111111111": {"dedupe_window_seconds": 5}, "ou-ab12-cdefgh34": []}})
    assert any("accounts.12345: '12345' is not an account id" in e for e in errors)
    assert any("accounts.12345.mode: 'on' is not a mode" in e for e in errors)
    assert any("accounts.111111111111.dedupe_window_seconds: not settable per account" in e for e in errors)
    assert any("accounts.ou-ab12-cdefgh34: must be an object" in e for e in errors)
    assert validate({"accounts": {"111111111111": {"mode": "enforce", "modes": {"iam": "dry-run"}}}}) == []


def test_an_account_entry_that_switches_protection_off_is_flagged():
    from warden.settings import protection_removed

    removed = protection_removed({"accounts": {"111111111111": {"mode": "off"}}}, "123456789012", "us-east-1")
    assert removed == ["accounts.111111111111: mode is off: every family that has no mode of its own is off"]


def test_account_settings_add_exemptions_and_override_modes_nearest_last():
    from warden.policy import Settings
    from warden.settings import apply, for_account

    base = apply(
        Settings.from_env({"WARDEN_MODE": "enforce"}),
        {"exempt_resources": ["arn:aws:s3:::org-wide-*"],
         "accounts": {"ou-root-parent000": {"mode": "dry-run"}, "ou-ab12-child0000": {"mode": "approve"},
                      "111111111111": {"exempt_resources": ["arn:aws:s3:::team-*"]}}},
    )
    scoped = for_account(base, "111111111111", ("ou-ab12-child0000", "ou-root-parent000"))
    assert scoped.mode == "approve"  # the nearest OU wins over its parent
    assert scoped.exempt_resource_patterns == ("arn:aws:s3:::org-wide-*", "arn:aws:s3:::team-*")
    assert for_account(base, "222222222222").mode == "enforce"


@pytest.mark.parametrize(
    "iac, message",
    [
        ([], "iac: must be an object"),
        ({"terraform_tags": ["x"]}, "iac.terraform_tags: unknown key"),
        ({"terraform_tag_keys": "terraform:module"}, "iac.terraform_tag_keys: must be a list of non-empty strings"),
        ({"deployer_roles": ["deploy-ml"]}, "iac.deployer_roles[0]: 'deploy-ml' is not a role ARN"),
        ({"revert_window_seconds": -1}, "iac.revert_window_seconds: -1 is not a whole number of seconds from 0 to 2592000"),
    ],
)
def test_a_bad_iac_entry_is_named(iac, message):
    assert any(message in problem for problem in runtime.validate({"iac": iac}))


def test_the_iac_entry_reaches_the_settings():
    document = {"iac": {"terraform_tag_keys": ["iac-repo"], "deployer_roles": ["arn:aws:iam::123456789012:role/deploy-ml"],
                        "revert_window_seconds": 3600}}  # fmt: skip
    assert runtime.validate(document) == []
    assert runtime.apply(Settings.from_env({}), document).iac == document["iac"]
