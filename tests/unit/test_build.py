"""The real build: `sam build` for Lambda's python3.13 on arm64 (make test runs it first, as
`make sam-build`; run alone, this module builds once per session, cached by SAM), then every
handler is imported by python3.13 from the built artifact alone: the function's folder and the
layer's python/, nothing of this repository or its venv. arm64 wheels (pydantic_core, wrapt) do not
load on an x86_64 machine, so there the import uses an x86_64 twin of the layer that `make
sam-build` builds from the same requirements and Makefile; the arm64 build is still checked to be
current and to hold arm64 binaries. Its size is the one docs/evidence.md gives."""

from __future__ import annotations

import fcntl
import json
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import decode

from slim_botocore import SERVICES

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build"
X86_TWIN = ROOT / ".aws-sam" / "x86_64" / "build"
ARM = platform.machine() in ("aarch64", "arm64")
TEMPLATE, _ = decode(str(ROOT / "template.yaml"))
FUNCTIONS = {name: r["Properties"] for name, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
LAYER_SOURCE = ROOT / "layers" / "warden"


def _pins() -> dict[str, str]:
    lines = (LAYER_SOURCE / "requirements.txt").read_text().splitlines()
    pins = (re.match(r"^([\w.-]+)(?:\[[^\]]*\])?==(\S+)", line) for line in lines)
    return {m.group(1).lower().replace("-", "_"): m.group(2) for m in pins if m}


def stale(build: Path, functions: bool = True) -> list[str]:
    """What in this build differs from the source: function code, the warden library, the pins."""
    problems = []
    pairs = [(LAYER_SOURCE / "warden", build / "WardenLayer" / "python" / "warden")]
    if functions:
        pairs += [(ROOT / props["CodeUri"], build / name) for name, props in FUNCTIONS.items()]
    for source, built in pairs:
        for file in sorted(source.rglob("*.py")):
            copy = built / file.relative_to(source)
            if not copy.is_file() or copy.read_bytes() != file.read_bytes():
                problems.append(str(copy.relative_to(ROOT)))
    installed = {p.name.lower().removesuffix(".dist-info") for p in (build / "WardenLayer" / "python").glob("*.dist-info")}
    problems += [f"{name}=={version} not in the layer" for name, version in _pins().items() if f"{name}-{version}".lower() not in installed]
    return problems


def _python313() -> str:
    found = subprocess.run(["make", "-s", "python313"], cwd=ROOT, capture_output=True, text=True)
    assert found.returncode == 0, f"sam build needs python3.13 on the path (or installed with pyenv): {found.stderr}"
    return found.stdout.strip()


@pytest.fixture(scope="session")
def built() -> Path:
    """The build of the current source; `make sam-build` first if it is missing or out of date (one
    process at a time: pytest-xdist workers wait for the first one's build)."""
    BUILD.parent.mkdir(exist_ok=True)
    with open(BUILD.parent / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stale(BUILD) or (not ARM and stale(X86_TWIN, functions=False)):
            ran = subprocess.run(["make", "-s", "sam-build"], cwd=ROOT, capture_output=True, text=True)
            assert ran.returncode == 0, f"make sam-build failed:\n{ran.stdout[-1500:]}{ran.stderr[-1500:]}"
    return BUILD


def test_the_build_is_of_the_current_source_for_python313_on_arm64(built):
    assert stale(built) == []
    template = json.loads(json.dumps(decode(str(built / "template.yaml"))[0]))
    globals_ = template.get("Globals", {}).get("Function", {})
    for name in FUNCTIONS:
        props = {**globals_, **template["Resources"][name]["Properties"]}
        assert (props["Runtime"], props["Architectures"]) == ("python3.13", ["arm64"]), name
    binaries = [p.name for p in (built / "WardenLayer" / "python").rglob("*.so")]
    assert binaries and all("cpython-313-aarch64-linux-gnu" in b for b in binaries), binaries


def _environment(name: str) -> dict[str, str]:
    """The function's environment as deployed, with each parameter at its default."""
    variables = {**TEMPLATE["Globals"]["Function"]["Environment"]["Variables"], **FUNCTIONS[name].get("Environment", {}).get("Variables", {})}
    parameters = TEMPLATE["Parameters"]

    def value(v) -> str:
        if isinstance(v, dict) and "Ref" in v and v["Ref"] in parameters:
            return str(parameters[v["Ref"]].get("Default", ""))
        return v if isinstance(v, str) else "arn:aws:iam::123456789012:role/placeholder"

    return {
        **{k: value(v) for k, v in variables.items()},
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": f"warden-{name}",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "PATH": "/usr/bin:/bin",
    }  # fmt: skip


IMPORT = """
import importlib, json, pkgutil, sys
function, layer, every_module = sys.argv[1], sys.argv[2], sys.argv[3] == "all"
sys.path[:0] = [function, layer]
import app
assert callable(app.lambda_handler)
import warden
modules = [m.name for m in pkgutil.walk_packages(warden.__path__, "warden.")] if every_module else []
for module in modules:
    importlib.import_module(module)
loaded = {n: getattr(sys.modules.get(n), "__file__", None) for n in ("app", "warden", "boto3", "pydantic_core", "aws_lambda_powertools")}
print(json.dumps({"version": sys.version_info[:2], "loaded": loaded, "modules": len(modules)}))
"""


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_handler_imports_from_the_built_artifact(built, name):
    layer = (built if ARM else X86_TWIN) / "WardenLayer" / "python"
    function = built / name
    every_module = name == "TriageFunction"  # once: every module of the library, pydantic's included
    # -I -S: no site-packages, no PYTHON* variables, not the current folder: only what Lambda would have
    ran = subprocess.run(
        [_python313(), "-I", "-S", "-c", IMPORT, str(function), str(layer), "all" if every_module else "handler"],
        cwd="/", env=_environment(name), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    report = json.loads(ran.stdout.splitlines()[-1])
    assert report["version"] == [3, 13]
    assert report["loaded"]["app"] == str(function / "app.py")
    for package in ("warden", "boto3", "aws_lambda_powertools"):
        assert report["loaded"][package].startswith(str(layer)), package
    if every_module:
        assert report["modules"] > 20 and report["loaded"]["pydantic_core"].startswith(str(layer))


# Each service's clients as botocore makes them, summed up: where its calls go and are signed for, in
# each partition, and every operation with the members of its input and output.
CLIENTS = """
import hashlib, json, sys
sys.path[:0] = sys.argv[2:]
import botocore.session

session = botocore.session.get_session()
clients = {}
for service in json.loads(sys.argv[1]):
    for region in ("us-east-1", "eu-west-1", "us-gov-west-1", "cn-north-1"):
        client = session.create_client(service, region_name=region, aws_access_key_id="x", aws_secret_access_key="y")
        signer = client._request_signer
        clients[f"{service} {region}"] = [client.meta.endpoint_url, client.meta.partition, signer.region_name, signer.signing_name, signer.signature_version]
    model = client.meta.service_model
    operations = {}
    for name in model.operation_names:
        operation = model.operation_model(name)
        operations[name] = [sorted(getattr(shape, "members", {})) for shape in (operation.input_shape, operation.output_shape)]
    clients[service] = hashlib.sha256(json.dumps([operations, [p.name for p in model.client_context_parameters]]).encode()).hexdigest()
print(json.dumps(clients))
"""


def test_the_layers_botocore_makes_the_same_clients_for_every_service_warden_calls(built):
    """The layer ships only these services' data, their models without documentation and endpoints.json
    without the other services (layers/warden/slim_botocore.py): the clients are those of botocore's
    full data, the same pinned version, in this venv."""
    layer = (built if ARM else X86_TWIN) / "WardenLayer" / "python"
    services = json.dumps(sorted(SERVICES))
    env = {"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true"}
    run = dict(cwd="/", env=env, capture_output=True, text=True, timeout=300)
    ran = subprocess.run([_python313(), "-I", "-S", "-c", CLIENTS, services, str(layer)], **run)
    assert ran.returncode == 0, ran.stderr[-3000:]
    full = subprocess.run([sys.executable, "-I", "-c", CLIENTS, services], **run)  # this venv's botocore, all its data
    assert full.returncode == 0, full.stderr[-3000:]
    slimmed, expected = json.loads(ran.stdout), json.loads(full.stdout)
    assert {key: value for key, value in slimmed.items() if expected.get(key) != value} == {}
    assert len(slimmed) == len(expected) == 5 * len(SERVICES)


def test_the_documented_layer_size_is_this_build(built):
    files = [p for p in (built / "WardenLayer").rglob("*") if p.is_file()]
    size_mb = sum(p.stat().st_size for p in files) / 1e6
    evidence = (ROOT / "docs" / "evidence.md").read_text()
    documented = re.search(r"WardenLayer, as `make build` builds it: ([\d.]+) MB unzipped", evidence)
    assert documented, "docs/evidence.md gives the layer's size from `make build`"
    assert abs(float(documented.group(1)) - size_mb) / size_mb < 0.1, f"the layer is {size_mb:.1f} MB now"


def test_the_layer_ships_python313_bytecode_that_survives_sams_zip(built):
    """/opt is read-only in Lambda, so bytecode not shipped is compiled again by every cold start.
    SAM zips files with 1980 timestamps, so only hash-based .pyc (PEP 552) are used as shipped."""
    layer = built / "WardenLayer" / "python"
    missing, timestamped = [], []
    for source in sorted(layer.rglob("*.py")):
        cached = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        if not cached.is_file():
            missing.append(str(source.relative_to(layer)))
        elif not int.from_bytes(cached.read_bytes()[4:8], "little") & 1:  # flags: bit 0 = hash-based
            timestamped.append(str(cached.relative_to(layer)))
    assert (missing[:5], timestamped[:5]) == ([], []), f"{len(missing)} without bytecode, {len(timestamped)} timestamp-based"
