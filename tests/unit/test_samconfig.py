"""No saved setting flips the mode: samconfig.toml saves no parameter values, so a plain `sam deploy`
(or `make deploy`) sends Mode and IamMode as UsePreviousValue and the stack keeps the mode the
operator last deployed. Checked with SAM CLI's own config reader and parameter merge."""

from __future__ import annotations

import re
from pathlib import Path

from cfnlint.decode import decode
from samcli.cli.types import CfnParameterOverridesType
from samcli.lib.config.samconfig import SamConfig
from samcli.commands.deploy.deploy_context import DeployContext

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE, _ = decode(str(ROOT / "template.yaml"))
MODES = ("Mode", "IamMode")


def saved_deploy_parameters() -> dict:
    """What `sam deploy` reads from samconfig.toml (environment default, section deploy)."""
    return dict(SamConfig(ROOT, "samconfig.toml").get_all(["deploy"], "parameters", env="default"))


def test_samconfig_saves_no_parameter_values():
    saved = saved_deploy_parameters()
    assert saved["stack_name"] == "warden"
    assert "parameter_overrides" not in saved, "a saved parameter would be re-sent on every deploy"


def test_a_plain_deploy_keeps_the_deployed_mode():
    saved = saved_deploy_parameters().get("parameter_overrides", "")
    overrides = dict(CfnParameterOverridesType().convert(saved, None, None)) if saved else {}
    overrides["DeployerPrincipalArn"] = "arn:aws:iam::123456789012:user/alice"  # what `make deploy` always passes
    sent = {p["ParameterKey"]: p for p in DeployContext.merge_parameters(TEMPLATE, overrides)}
    for mode in MODES:
        assert sent[mode] == {"ParameterKey": mode, "UsePreviousValue": True}


def test_the_first_deploy_is_a_dry_run():
    for mode in MODES:
        assert TEMPLATE["Parameters"][mode]["Default"] == "dry-run"


def test_make_deploy_names_no_mode_and_uses_the_venvs_sam():
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^deploy:.*?\n((?:\t.*\n)+)", makefile, flags=re.MULTILINE).group(1)
    assert "--guided" not in recipe, "--guided saves every answer, Mode included, into samconfig.toml"
    assert not re.search(r"\bMode=", recipe)
    assert re.findall(r"(\S*) (?:build|deploy)\b", recipe) == ["$(SAM)", "$(SAM)"]
    (sam,) = re.findall(r"^SAM := (.*)$", makefile, flags=re.MULTILINE)
    assert sam.endswith(" $(VENV)/bin/sam"), "the venv's sam, not whichever is on the path"
