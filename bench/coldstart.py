"""Cold starts measured the way Lambda bills them and the caller waits for them: a fresh python3.13
interpreter that imports the handler and runs its first invocation on the benchmark's fixture.

- Warden runs from its `sam build` artifact, as `make build` leaves it (functions, and the layer with
  its bytecode). On a machine that is not arm64 the layer is its x86_64 twin (same Makefile, wheels for
  x86_64): the arm64 wheels of pydantic_core and wrapt cannot load here; every other file is the same.
- Custodian runs from .venv/custodian (bench/requirements-custodian.txt): the c7n package without
  bytecode, as c7n.mu's archive ships it, and boto3 as the runtime provides it.
- Each hop of Warden's workflow is a fresh interpreter when the twin's Step Functions calls its
  function; its AWS calls go over HTTP to moto's server, which shares the twin's state, so every hop
  finds the account exactly as the workflow left it. Custodian's calls go to the same server.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
REGION, ACCOUNT = "us-east-1", "123456789012"

# Runs in the fresh interpreter: import, then the first invocation, each timed (wall and CPU); the
# figures go to a file, as the handlers print logs and metrics on stdout.
CHILD = r"""
import json, sys, time
spec = json.loads(sys.stdin.read())
sys.path[:0] = spec["path"]
clock = lambda: (time.perf_counter(), time.process_time())
begin = clock()
module = __import__(spec["module"])
imported = clock()

class Context:
    function_name = spec["function_name"]
    function_version = "$LATEST"
    invoked_function_arn = spec["function_arn"]
    memory_limit_in_mb = spec["memory"]
    aws_request_id = "cold-start"
    log_group_name = "/aws/lambda/" + spec["function_name"]
    log_stream_name = "bench"
    @staticmethod
    def get_remaining_time_in_millis():
        return 30000

try:
    result, error = getattr(module, spec["handler"])(spec["event"], Context()), None
except Exception as exception:
    result, error = None, {"errorType": type(exception).__name__, "errorMessage": str(exception), "stackTrace": []}
done = clock()
with open(spec["report"], "w") as report:
    json.dump({"result": result, "error": error,
               "import_s": imported[0] - begin[0], "import_cpu_s": imported[1] - begin[1],
               "invoke_s": done[0] - imported[0], "invoke_cpu_s": done[1] - imported[1]}, report, default=str)
"""

CUSTODIAN_ENTRY = "from c7n import handler\n\n\ndef run(event, context):\n    return handler.dispatch_event(event, context)\n"


BUILD = ROOT / ".aws-sam" / "build"  # `make build`: the artifact as deployed (python3.13, arm64)
# ... and on a machine that is not arm64, the layer's x86_64 twin that `make build` makes beside it
LAYER = (BUILD if platform.machine() in ("aarch64", "arm64") else ROOT / ".aws-sam" / "x86_64" / "build") / "WardenLayer" / "python"


@functools.cache
def python313() -> str:
    """The python3.13 `sam build` uses (`make python313`)."""
    found = subprocess.run(["make", "-s", "python313"], cwd=ROOT, capture_output=True, text=True)
    if found.returncode:
        raise SystemExit(f"bench: the cold starts need python3.13, the Lambda runtime: {found.stderr.strip()}")
    return found.stdout.strip()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server in this process, answering from the same state as the twin: its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _lambda_env(endpoint: str, function_name: str, task_root: str, memory: int) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task and /opt are read-only in Lambda: nothing compiled is kept
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "LAMBDA_TASK_ROOT": task_root,
    }


def run_cold(python: str, spec: dict[str, Any], env: dict[str, str], cwd: str | None = None) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        spec = {**spec, "report": report.name}
        done = subprocess.run([python, "-c", CHILD], input=json.dumps(spec), env=env, cwd=cwd, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"cold start of {spec['module']} crashed: {done.stderr[-2000:]}")
        figures = json.loads(Path(report.name).read_text())
    figures["cold_s"] = figures["import_s"] + figures["invoke_s"]
    figures["cold_cpu_s"] = figures["import_cpu_s"] + figures["invoke_cpu_s"]
    return figures


@contextmanager
def warden_hops_cold(twin, endpoint: str) -> Iterator[list[tuple[str, dict]]]:
    """While active, each function the twin's workflow invokes runs as a cold start from the build:
    yields the (function logical id, figures) of every hop, in order."""
    python, hops, layer = python313(), [], str(LAYER)
    invoke = twin._invoke

    def cold(function, event=None):
        spec_ = twin.functions[function.function_name]
        logical = spec_["logical"]
        code = str(BUILD / logical)
        env = {**spec_["env"], "POWERTOOLS_LOG_LEVEL": twin.parameters.get("LogLevel", "INFO")}
        env.update(_lambda_env(endpoint, function.function_name, code, spec_["memory"]))
        module, handler = spec_["handler"].rsplit(".", 1)
        event = json.loads(event or "{}") if isinstance(event, str) else event
        figures = run_cold(python, {
            "path": [code, layer], "module": module, "handler": handler, "event": event, "memory": spec_["memory"],
            "function_name": function.function_name, "function_arn": twin.attributes[(logical, "Arn")],
        }, env, cwd=code)  # fmt: skip
        hops.append((logical, figures))
        if figures["error"]:
            return json.dumps(figures["error"]), True, ""
        return json.dumps(figures["result"]), False, ""

    twin._invoke = cold
    try:
        yield hops
    finally:
        twin._invoke = invoke


def custodian_cold(policy: dict, event: dict, endpoint: str, memory: int = 512) -> dict[str, Any]:
    """One cold start of Custodian's policy Lambda: its entry module and config.json in the task root."""
    python = str(ROOT / ".venv" / "custodian" / "bin" / "python")
    with tempfile.TemporaryDirectory() as task_root:
        name = f"custodian-{policy['name']}"
        config = {"execution-options": {"account_id": ACCOUNT, "region": REGION, "output_dir": "/tmp"}, "policies": [policy]}
        Path(task_root, "config.json").write_text(json.dumps(config))
        Path(task_root, "custodian_policy.py").write_text(CUSTODIAN_ENTRY)
        env = _lambda_env(endpoint, name, task_root, memory)
        return run_cold(python, {
            "path": [task_root], "module": "custodian_policy", "handler": "run", "event": event, "memory": memory,
            "function_name": name, "function_arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        }, env, cwd=task_root)  # fmt: skip

