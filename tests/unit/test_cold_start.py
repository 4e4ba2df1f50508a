"""What a cold start loads: each handler imported in a fresh interpreter, as Lambda starts it.

Nearly every fix is a cold start of four functions in a row, so what a handler does not need it must
not import: the X-Ray SDK unless tracing is on; the event parser (pydantic) and Powertools
Idempotency, which only Triage uses, once it runs. (How long the imports take is measured by `make bench`, not here.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE, _ = decode(str(ROOT / "template.yaml"))
FUNCTIONS = {
    logical: spec["Properties"]
    for logical, spec in TEMPLATE["Resources"].items()
    if spec["Type"] == "AWS::Serverless::Function" and "InlineCode" not in spec["Properties"]
}
TRACE_SWITCH = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"]["Fn::If"]
HEAVY = {
    "X-Ray SDK": "aws_xray_sdk",
    "event parser": "pydantic",
    "Powertools parser": "aws_lambda_powertools.utilities.parser",
    "Powertools Idempotency": "aws_lambda_powertools.utilities.idempotency",
}


def heavy_modules_loaded(functions: list[str], trace_disabled: str) -> dict[str, list[str]]:
    """Import the handlers one after the other in one fresh interpreter, with Lambda's LAMBDA_TASK_ROOT
    and the POWERTOOLS_TRACE_DISABLED the template sets: the heavy modules loaded once each is imported.
    (One interpreter for all keeps this test cheap; a module is blamed on the first handler that loads it.)"""
    handlers = {
        logical: str(ROOT / FUNCTIONS[logical]["CodeUri"] / (FUNCTIONS[logical]["Handler"].rsplit(".", 1)[0] + ".py"))
        for logical in functions
    }
    script = f"""
import importlib.util, json, sys
sys.path.insert(0, {str(ROOT / "layers" / "warden")!r})
loaded = {{}}
for logical, path in {handlers!r}.items():
    spec = importlib.util.spec_from_file_location("handler_" + logical, path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    loaded[logical] = [name for name, module in {HEAVY!r}.items() if module in sys.modules]
print(json.dumps(loaded))
"""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LAMBDA_TASK_ROOT": str(ROOT / "functions"),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": trace_disabled,
    }
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_tracing_of_aws_calls_is_off_unless_the_parameter_turns_it_on():
    condition, when_enabled, when_disabled = TRACE_SWITCH
    assert TEMPLATE["Parameters"]["TraceAwsCalls"]["Default"] == "disabled"
    assert TEMPLATE["Conditions"][condition] == {"Fn::Equals": [{"Ref": "TraceAwsCalls"}, "enabled"]}
    assert (when_enabled, when_disabled) == ("false", "true")


def test_no_handler_loads_the_x_ray_sdk_the_parser_or_idempotency_at_import():
    """Triage loads the parser and Idempotency when it runs (the only function that uses them)."""
    loaded = heavy_modules_loaded(sorted(FUNCTIONS), trace_disabled=TRACE_SWITCH[2])
    assert {logical: modules for logical, modules in loaded.items() if modules} == {}


def test_with_tracing_on_the_handlers_are_traced_with_the_x_ray_sdk():
    assert "X-Ray SDK" in heavy_modules_loaded(["NotifyFunction"], trace_disabled=TRACE_SWITCH[1])["NotifyFunction"]


def test_triage_creates_the_models_of_the_one_source_it_parses():
    """A CloudTrail event loads the CloudTrail parser and what it shares, not the five other sources'
    modules (their pydantic models cost a Triage cold start about 15 ms of CPU)."""
    script = f"""
import json, sys
sys.path.insert(0, {str(ROOT / "layers" / "warden")!r})
from warden.findings import parse_finding
parse_finding(json.load(open({str(ROOT / "events" / "cloudtrail-s3-putbucketpolicy-public.json")!r})))
print(json.dumps(sorted(name for name in sys.modules if name.startswith("warden.findings."))))
"""
    out = subprocess.run([sys.executable, "-c", script], env={"PATH": os.environ.get("PATH", "")}, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == ["warden.findings.base", "warden.findings.cloudtrail", "warden.findings.locators"]
