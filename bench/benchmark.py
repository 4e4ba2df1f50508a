"""Warden vs Cloud Custodian, measured in one run: `make bench` (about 15 minutes on 2 cores).

Prints Markdown tables (docs/evidence.md's "Performance and cost" section is a copy of one run):
  (a) cold-start proxy: import time of each Warden handler in a fresh interpreter vs `import c7n.handler`
  (b) AWS API calls per remediation event at 20, 100 and 1,000 buckets in the account, Warden vs
      Custodian's event mode doing the same fix (public bucket -> Block Public Access on)
  (c) warm time per event on the same moto fixtures: Warden's four handlers (and the whole
      workflow on the twin) vs Custodian's handler.dispatch_event
  (d) deployment size: `sam build` of template.yaml (layer and functions) vs Custodian's policy archive
  (e) cost per 1,000 remediations, from the counts measured on the twin
  (f) the 1,000-event storm for 50 buckets (the suite runs a smaller one)
  (g) what reflecting every outcome in Security Hub adds: the same events, SecurityHub disabled vs enabled

Both run in the same venv (.venv/bench): same boto3, botocore and moto. Everything AWS is moto,
in-process, so times are relative (CPU work of each program plus moto), not Lambda's.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "warden"
sys.path[:0] = [str(LAYER), str(ROOT)]
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["C7N_DEBUG_EVENT"] = "no"  # read when c7n.handler is imported: no event dump per call

from local import scenarios  # noqa: E402
from local.faults import attribute_calls_to_functions, record_api_calls  # noqa: E402
from local.twin import Twin  # noqa: E402
from tests.robustness.test_storm import STORM_PARAMETERS, account, storm  # noqa: E402
from tests.robustness.world import event_for_bucket, quarantined  # noqa: E402

ACCOUNT, REGION = scenarios.ACCOUNT, "us-east-1"
EVENT = "cloudtrail-s3-putbucketpolicy-public.json"
PRICES = {  # us-east-1 list prices
    "sfn_transition": 0.025 / 1000,
    "lambda_gb_s_arm": 0.0000133334,
    "lambda_request": 0.20 / 1_000_000,
    "ddb_wru": 0.625 / 1_000_000,
    "ddb_rru": 0.125 / 1_000_000,
    "sns_publish": 0.50 / 1_000_000,
}
AUDIT_INDEXES = len(
    __import__("cfnlint.decode", fromlist=["decode"]).decode(str(ROOT / "template.yaml"))[0]["Resources"]["AuditTable"]["Properties"].get(
        "GlobalSecondaryIndexes", []
    )
)
CUSTODIAN_POLICY = {
    "name": "s3-public-block",
    "resource": "s3",
    "mode": {
        "type": "cloudtrail",
        "role": f"arn:aws:iam::{ACCOUNT}:role/custodian-s3-public-block",
        "events": [
            {"source": "s3.amazonaws.com", "event": name, "ids": "requestParameters.bucketName"}
            for name in ("PutBucketPolicy", "PutBucketAcl", "DeleteBucketPublicAccessBlock", "PutBucketPublicAccessBlock")
        ],
    },
    "filters": [{"type": "check-public-block"}],  # any of the four settings off
    "actions": [{"type": "set-public-block"}],  # all four on
}
# The same policy tuned as its docs suggest: fetch only the bucket sub-documents the filters use.
CUSTODIAN_TUNED = {**CUSTODIAN_POLICY, "name": "s3-public-block-tuned", "query": [{"augment-keys": "detect"}]}


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# --- (a) import time in a fresh interpreter ------------------------------------------------------


def function_specs() -> dict[str, dict]:
    """Each function's code dir, handler module and environment, as the twin reads template.yaml."""
    with Twin() as twin:
        return {spec["logical"]: spec for spec in twin.functions.values()}


def import_once(module: str, path: list[str], env: dict[str, str]) -> float:
    """Seconds the import statement takes in a fresh interpreter with a Lambda-like environment."""
    code = (
        "import sys, time; sys.path[:0] = %r; t = time.perf_counter(); import %s; print(time.perf_counter() - t)"
        % (path, module)
    )
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    lambda_env = {
        **base,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **env,
    }
    out = subprocess.run([sys.executable, "-c", code], env=lambda_env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def heaviest_imports(module: str, path: list[str], env: dict[str, str], top: int = 6) -> str:
    """Import time by top-level package (self time of each of its modules, summed), from
    `python -X importtime`."""
    code = "import sys; sys.path[:0] = %r; import %s" % (path, module)
    lambda_env = {"PATH": os.environ["PATH"], "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, **env}
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=lambda_env, capture_output=True, text=True, check=True)
    own: Counter = Counter()
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[0].split(":")[-1].strip().isdigit():
            own[parts[2].strip().split(".")[0]] += int(parts[0].split(":")[-1]) / 1000
    return ", ".join(f"{name} {ms:.0f} ms" for name, ms in own.most_common(top))


def import_times(repeat: int) -> tuple[str, dict]:
    """Round-robin over the modules, `repeat` rounds after one that writes the bytecode caches (as
    a deployed package has them): load on the machine then affects every module alike."""
    bare = []
    for _ in range(repeat):
        begin = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - begin)
    startup = median_ms(bare)
    specs = function_specs()
    targets = {
        logical: (spec["handler"].rsplit(".", 1)[0], [str(spec["code"]), str(LAYER)], {**spec["env"], "AWS_LAMBDA_FUNCTION_NAME": logical})
        for logical, spec in sorted(specs.items())
    }
    targets["c7n"] = ("c7n.handler", [], {"AWS_LAMBDA_FUNCTION_NAME": "custodian-s3-public-block"})
    samples: dict[str, list[float]] = {name: [] for name in targets}
    for round_ in range(repeat + 1):
        for name, (module, path, env) in targets.items():
            elapsed = import_once(module, path, env)
            if round_:
                samples[name].append(elapsed)
    figures = {name: median_ms(values) for name, values in samples.items()}
    fastest = {name: min(values) * 1000 for name, values in samples.items()}
    rows = [
        [f"Warden `{logical}` (functions/{specs[logical]['code'].name}/{targets[logical][0]}.py)", f"{figures[logical]:.0f}", f"{fastest[logical]:.0f}"]
        for logical in sorted(specs)
    ]
    rows.append(["Cloud Custodian `import c7n.handler`", f"{figures['c7n']:.0f}", f"{fastest['c7n']:.0f}"])
    slowest_name = max((k for k in figures if k != "c7n"), key=figures.get)
    heavy = heaviest_imports(*targets[slowest_name])
    c7n_heavy = heaviest_imports(*targets["c7n"])
    text = table(["module imported in a fresh interpreter", f"median ms of {repeat}", "fastest ms"], rows)
    text += (
        f"\n\nTime of the import statement alone; starting the interpreter ({startup:.0f} ms here) comes on top for both. "
        f"Slowest Warden handler / c7n.handler = {figures[slowest_name] / figures['c7n']:.2f} (median), "
        f"{fastest[slowest_name] / fastest['c7n']:.2f} (fastest). Where the time goes (`python -X importtime`, self time "
        f"summed by top-level package, one run): {slowest_name}: {heavy}; c7n.handler: {c7n_heavy}."
    )
    return text, figures


# --- (b, c) API calls and warm time per event, Warden vs Custodian -----------------------------


def make_account(s3, size: int, public: list[str]) -> None:
    """`size` buckets: the public ones (the demo's training bucket, made public three ways) and
    private fillers, as in an ML account with many datasets."""
    for bucket in public:
        scenarios.public_training_bucket(s3, name=bucket)
    for index in range(size - len(public)):
        s3.create_bucket(Bucket=f"dataset-{index:05d}")


def counts(calls) -> Counter:
    return Counter(call.service for call in calls)


@contextmanager
def handler_clock(twin):
    """(function logical id, seconds) of every handler invocation on the twin while active."""
    times: list[tuple[str, float]] = []
    invoke = twin._invoke

    def timed(function, event=None):
        begin = time.perf_counter()
        try:
            return invoke(function, event)
        finally:
            times.append((twin.functions[function.function_name]["logical"], time.perf_counter() - begin))

    twin._invoke = timed
    try:
        yield times
    finally:
        twin._invoke = invoke


def warden_events(size: int, public: list[str], parameters: dict | None = None, prepare=None) -> dict:
    """public[0] warms up, the last one is recorded (API calls), those between are timed (not
    recorded: the recorder renews the cached clients, which makes the next event a cold one).
    `parameters` are more template parameters; `prepare(twin)` runs once the account is made."""
    with Twin(parameters={"Mode": "enforce", **(parameters or {})}) as twin:
        make_account(twin.client("s3"), size, public)
        if prepare:
            prepare(twin)
        timed = []
        for index, bucket in enumerate(public):
            event = event_for_bucket(EVENT, bucket, f"bench-{size}-{index}")
            if index == len(public) - 1:
                with attribute_calls_to_functions(twin), record_api_calls() as calls:
                    result = twin.send(event)
                recorded = [c for c in calls if c.function]
                history = twin.client("stepfunctions").get_execution_history(
                    executionArn=result.executions[0].arn, maxResults=1000
                )["events"]
                audit_bytes = _item_bytes(twin, result.executions[0].triage["finding"]["id"])
            else:
                with handler_clock(twin) as handler_times:
                    begin = time.perf_counter()
                    result = twin.send(event)
                    elapsed = time.perf_counter() - begin
                if index:
                    timed.append((elapsed, sum(t for _, t in handler_times), list(handler_times)))
            assert account(result) == "remediated" and quarantined(twin.client("s3"), bucket), account(result)
    return {"calls": recorded, "durations": timed, "history": history, "audit_item_bytes": audit_bytes,
            "last_message": result.notifications[0]["body"]}  # fmt: skip


def _item_bytes(twin, finding_id: str) -> int:
    """DynamoDB's item size: attribute names plus values (what write units are charged on)."""
    item = twin.client("dynamodb").get_item(TableName=twin.physical["AuditTable"], Key={"finding_id": {"S": finding_id}})["Item"]
    return sum(len(name) + len(json.dumps(value)) for name, value in item.items())


class _LambdaContext:
    function_name = "custodian-s3-public-block"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:custodian-s3-public-block"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/custodian-s3-public-block"
    log_stream_name = "bench"

    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


@contextmanager
def _custodian_cold_start(workdir: Path, policy: dict):
    """A fresh Custodian Lambda: config.json in the working directory, module caches empty."""
    from c7n import handler, utils

    logging.getLogger().setLevel(logging.WARNING)  # c7n.handler sets the root logger to DEBUG on import
    (workdir / "config.json").write_text(
        json.dumps({"execution-options": {"account_id": ACCOUNT, "output_dir": str(workdir / "out")}, "policies": [policy]})
    )
    handler.policy_config = handler.policy_data = None
    utils.reset_session_cache()
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        yield handler
    finally:
        os.chdir(cwd)
        logging.getLogger().setLevel(logging.WARNING)


def custodian_events(size: int, public: list[str], policy: dict) -> dict:
    """As warden_events: public[0] warms up, the last one is recorded, those between are timed."""
    from moto import mock_aws

    durations, fixed = [], True
    with mock_aws(), tempfile.TemporaryDirectory() as workdir:
        import boto3

        s3 = boto3.client("s3", region_name=REGION)
        make_account(s3, size, public)
        with _custodian_cold_start(Path(workdir), policy) as handler:
            for index, bucket in enumerate(public):
                event = event_for_bucket(EVENT, bucket, f"bench-{size}-{index}")
                if index == len(public) - 1:
                    with record_api_calls() as calls:
                        handler.dispatch_event(event, _LambdaContext())
                    recorded = list(calls)
                else:
                    begin = time.perf_counter()
                    handler.dispatch_event(event, _LambdaContext())
                    if index:
                        durations.append(time.perf_counter() - begin)
                logging.getLogger().setLevel(logging.WARNING)
                block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
                fixed = fixed and all(block.values())
    return {"calls": recorded, "durations": durations, "fixed": fixed}


def _by_service(calls) -> str:
    return ", ".join(f"{n} {service}" for service, n in counts(calls).most_common())


def per_event_comparison(sizes: list[int], timed_size: int, timed_events: int) -> tuple[str, str, dict]:
    rows, results = [], {}
    for size in sizes:
        timed = timed_events if size == timed_size else 3
        public = ["ml-training-data-prod"] + [f"ml-training-data-{i:03d}" for i in range(1, timed + 2)]
        log(f"account of {size} buckets: Warden on the twin")
        warden = warden_events(size, public)
        log(f"account of {size} buckets: Cloud Custodian on moto (default and tuned policy)")
        custodian = custodian_events(size, public, CUSTODIAN_POLICY)
        tuned = custodian_events(size, public, CUSTODIAN_TUNED)
        results[size] = {"warden": warden, "custodian": custodian, "tuned": tuned}
        w = counts(warden["calls"])
        rows.append(
            [
                size,
                f"**{len(warden['calls'])}** ({w['s3'] + w['s3control']} S3, {w['dynamodb']} DynamoDB, {w['sns']} SNS)",
                f"**{len(custodian['calls'])}** ({_by_service(custodian['calls'])})",
                f"**{len(tuned['calls'])}** ({_by_service(tuned['calls'])})",
                "yes" if custodian["fixed"] and tuned["fixed"] else "NO",
            ]
        )
    calls_text = table(
        ["buckets in account", "Warden", "Custodian, default policy", "Custodian, augment-keys: detect", "Custodian fixed it"],
        rows,
    )
    largest = results[sizes[-1]]
    default_ops = Counter(c.operation for c in largest["custodian"]["calls"])
    tuned_ops = Counter(c.operation for c in largest["tuned"]["calls"])
    flat = len({len(r["warden"]["calls"]) for r in results.values()}) == 1
    calls_text += (
        f"\n\nWarden's count {'does not grow' if flat else 'GROWS'} with the account: it reads and writes only the bucket named "
        "in the event. It also does more than Custodian's policy (removes public policy statements and ACL grants, tags, "
        "verifies, records a before-snapshot, claims the dedupe window and notifies). Custodian's count is flat too, but "
        f"its ListBuckets returns all {sizes[-1]} buckets before it filters by name; by default it then reads "
        f"{sum(n for op, n in default_ops.items() if op not in ('ListBuckets', 'GetPublicAccessBlock', 'PutPublicAccessBlock'))} "
        f"bucket sub-documents ({', '.join(sorted(op for op in default_ops if op.startswith('GetBucket')))}), "
        f"{sum(n for op, n in tuned_ops.items() if op.startswith('GetBucket'))} with augment-keys: detect."
    )
    timed = results[timed_size]
    w_total = [d[0] for d in timed["warden"]["durations"]]
    w_handlers = [d[1] for d in timed["warden"]["durations"]]
    c_times, t_times = timed["custodian"]["durations"], timed["tuned"]["durations"]
    time_rows = [
        ["Warden, its 4 handlers (Triage, S3PublicAccess, Verify, Notify)", f"{median_ms(w_handlers):.1f}"],
        ["Warden, whole workflow on the twin (moto's Step Functions interpreter and polling included)", f"{median_ms(w_total):.1f}"],
        ["Cloud Custodian handler.dispatch_event, default policy", f"{median_ms(c_times):.1f}"],
        ["Cloud Custodian handler.dispatch_event, augment-keys: detect", f"{median_ms(t_times):.1f}"],
    ]
    by_size = [
        f"{size} buckets: Warden handlers {median_ms([d[1] for d in r['warden']['durations']]):.1f} ms, "
        f"Custodian {median_ms(r['custodian']['durations']):.1f} ms (tuned {median_ms(r['tuned']['durations']):.1f} ms)"
        for size, r in results.items()
    ]
    time_text = table([f"warm, per event, account of {timed_size} buckets ({timed_events} events each)", "median ms"], time_rows)
    time_text += (
        f"\n\nWarden handlers / Custodian default = {median_ms(w_handlers) / median_ms(c_times):.2f}, / tuned = "
        f"{median_ms(w_handlers) / median_ms(t_times):.2f}. By account size (3 events each elsewhere): "
        + "; ".join(by_size)
        + "."
    )
    return calls_text, time_text, results


# --- (d) deployment size -------------------------------------------------------------------------


def _size(path: Path) -> tuple[int, int]:
    """(bytes on disk, bytes zipped with deflate) of a directory, as Lambda receives it."""
    files = [p for p in sorted(path.rglob("*")) if p.is_file()]
    raw = sum(p.stat().st_size for p in files)
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for p in files:
                archive.write(p, p.relative_to(path))
        zipped = handle.tell()
    return raw, zipped


def mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def package_sizes() -> str:
    work = Path(tempfile.mkdtemp(prefix="warden-sam-"))
    try:
        for name in ("functions", "layers", "statemachines"):
            shutil.copytree(ROOT / name, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        template = (ROOT / "template.yaml").read_text().replace("python3.13", "python3.11")
        (work / "template.yaml").write_text(template)
        sam = ROOT / ".venv" / "bin" / "sam"
        log("sam build (python3.11 in place of python3.13, arm64 wheels)")
        build = subprocess.run(
            [str(sam), "build", "--build-dir", str(work / "build")],
            cwd=work,
            capture_output=True,
            text=True,
            env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        )
        if build.returncode:
            return f"`sam build` failed, no sizes measured:\n\n```\n{build.stderr[-1500:]}\n```"
        rows = []
        for target in sorted(p for p in (work / "build").iterdir() if p.is_dir()):
            raw, zipped = _size(target)
            rows.append([target.name, mb(raw), mb(zipped)])
        layer = work / "build" / "WardenLayer" / "python"
        sdk = [layer / name for name in ("botocore", "boto3", "s3transfer")]
        sdk_raw = sum(_size(p)[0] for p in sdk if p.exists())
        sdk_zip = sum(_size(p)[1] for p in sdk if p.exists())
        from c7n.mu import PolicyLambda
        from c7n.policy import PolicyCollection
        from c7n.config import Config

        policy = next(iter(PolicyCollection.from_data({"policies": [CUSTODIAN_POLICY]}, Config.empty())))
        archive = PolicyLambda(policy).get_archive()
        archive.close()
        rows.append(["Cloud Custodian policy Lambda (c7n only; uses the runtime's boto3)", "-", mb(archive.size)])
        text = table(["package (sam build, arm64)", "unzipped", "zipped"], rows)
        text += (
            f"\n\nThe layer bundles boto3/botocore/s3transfer on purpose (pinned SDK): {mb(sdk_raw)} unzipped, "
            f"{mb(sdk_zip)} zipped of it. Built with python3.11 in place of python3.13 (not installed here); "
            "the packages are pure Python plus pydantic_core's aarch64 wheel, the same for both runtimes."
        )
        return text
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- (e) cost model ----------------------------------------------------------------------------


def cost_model(warden: dict, duplicate: dict) -> str:
    """Cost per 1,000 remediations from one measured remediated event (and one duplicate)."""
    rows = []

    def event_cost(label: str, history: list, calls: list, handler_times: list, item_bytes: int) -> float:
        transitions = sum(1 for e in history if "stateEnteredEventDetails" in e)
        invocations = len(handler_times)
        gb_s = sum(math.ceil(t * 1000) / 1000 * 0.25 for _, t in handler_times)  # 256 MB
        writes = [c for c in calls if c.service == "dynamodb" and c.operation in ("PutItem", "UpdateItem", "DeleteItem")]
        reads = [c for c in calls if c.service == "dynamodb" and c.operation in ("GetItem", "Query")]
        # an audit write is charged per started KB of the item, once for the table and once per
        # index that projects it (by-resource, projection ALL); dedupe claims are under 1 KB
        audit_units = math.ceil(item_bytes / 1024) * (1 + AUDIT_INDEXES)
        wru = sum(audit_units if c.params.get("TableName", "").endswith("AuditTable") else 1 for c in writes)
        rru = len(reads)
        publishes = sum(1 for c in calls if c.service == "sns" and c.operation == "Publish")
        parts = {
            "Step Functions": transitions * PRICES["sfn_transition"],
            "Lambda": gb_s * PRICES["lambda_gb_s_arm"] + invocations * PRICES["lambda_request"],
            "DynamoDB": wru * PRICES["ddb_wru"] + rru * PRICES["ddb_rru"],
            "SNS": publishes * PRICES["sns_publish"],
        }
        total = sum(parts.values())
        rows.append(
            [
                label,
                transitions,
                f"{invocations} ({sum(t for _, t in handler_times) * 1000:.0f} ms, {gb_s:.4f} GB-s)",
                f"{len(writes)} writes = {wru} WRU, {rru} reads",
                publishes,
                f"${parts['Step Functions'] * 1000:.3f}",
                f"${parts['Lambda'] * 1000:.4f}",
                f"${parts['DynamoDB'] * 1000:.4f}",
                f"${parts['SNS'] * 1000:.4f}",
                f"**${total * 1000:.3f}**",
            ]
        )
        return total

    typical = sorted(warden["durations"], key=lambda d: d[1])[len(warden["durations"]) // 2]  # median handler time
    remediated = event_cost("remediated event", warden["history"], warden["calls"], typical[2], warden["audit_item_bytes"])
    dup = event_cost("duplicate report", duplicate["history"], duplicate["calls"], duplicate["handler_times"], duplicate["audit_item_bytes"])
    text = table(
        ["per event", "state transitions", "Lambda invocations", "DynamoDB", "SNS publishes", "SFN /1k", "Lambda /1k", "DynamoDB /1k", "SNS /1k", "total /1k"],
        rows,
    )
    lambda_share = sum(t for _, t in typical[2]) * 0.25 * PRICES["lambda_gb_s_arm"] * 1000
    text += (
        f"\n\n**${remediated * 1000:.2f} per 1,000 remediations**; ${(remediated + 2 * dup) * 1000:.2f} when every exposure is "
        "reported by all three sources (one remediation, two duplicates). Write units use the audit item's final measured "
        f"size ({warden['audit_item_bytes']} bytes) for every audit write, times {1 + AUDIT_INDEXES} for the table and its "
        "index: an upper bound, as early writes are smaller. Lambda time is the twin's "
        f"in-process time; even at 20x that (real API latency, 256 MB's CPU share), Lambda adds ${lambda_share * 20:.3f} "
        "per 1,000. Step Functions transitions are most of the cost. Not included: CloudWatch Logs ingestion, the "
        "$0.20/month of the two alarms, X-Ray traces beyond the free tier."
    )
    return text


def duplicate_event() -> dict:
    """Later reports of an already-fixed exposure (another source, same bucket): one recorded for
    its calls, one timed."""
    with Twin(parameters={"Mode": "enforce"}) as twin:
        scenarios.public_training_bucket(twin.client("s3"))
        twin.send(event_for_bucket(EVENT, scenarios.TRAINING_BUCKET, "first"))
        config_event = "config-s3-bucket-public-read-prohibited.json"
        with attribute_calls_to_functions(twin), record_api_calls() as calls:
            result = twin.send(event_for_bucket(config_event, scenarios.TRAINING_BUCKET, "again"))
        with handler_clock(twin) as handler_times:
            timed = twin.send(event_for_bucket(config_event, scenarios.TRAINING_BUCKET, "and-again"))
        assert account(result) == account(timed) == "duplicate", account(result)
        arn = result.executions[0].arn
        return {
            "history": twin.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"],
            "calls": [c for c in calls if c.function],
            "handler_times": handler_times,
            "audit_item_bytes": _item_bytes(twin, result.executions[0].triage["finding"]["id"]),
        }


# --- (f) the storm -----------------------------------------------------------------------------


def run_storm(events: int, buckets: int) -> str:
    names, items = storm(events=events, buckets=buckets)
    with Twin(parameters=STORM_PARAMETERS) as twin:
        s3 = twin.client("s3")
        for bucket in names:
            scenarios.public_training_bucket(s3, name=bucket)
        start = time.perf_counter()
        tally, remediated = Counter(), []
        for n, item in enumerate(items, 1):
            outcome = account(twin.send(item.event))
            tally[outcome] += 1
            if outcome == "remediated":
                remediated.append(item.bucket)
            if n % 100 == 0:
                log(f"storm: {n}/{events} events")
        elapsed = time.perf_counter() - start
        all_fixed = all(quarantined(s3, bucket) for bucket in names)
    ok = sorted(remediated) == sorted(names) and sum(tally.values()) == events and set(tally) <= {"remediated", "duplicate", "ignored", "rejected"}
    rows = [[k, v] for k, v in sorted(tally.items())]
    text = table([f"{events} events, {buckets} buckets", "events"], rows)
    text += (
        f"\n\n{'PASS' if ok and all_fixed else 'FAIL'}: {len(remediated)} remediations for {buckets} buckets "
        f"({len(set(remediated))} distinct), every event accounted for, all buckets quarantined: {all_fixed}. "
        f"{elapsed:.0f} s on the twin ({elapsed / events * 1000:.0f} ms per event, one execution at a time; "
        f"DedupeWindowSeconds {STORM_PARAMETERS['DedupeWindowSeconds']} so that, as in a real storm, all events fall in one window)."
    )
    return text


# --- main ----------------------------------------------------------------------------------------


def security_hub_overhead(events: int, buckets: int = 20) -> str:
    """Reflecting outcomes in Security Hub, measured in one run: the same remediated events with the
    SecurityHub parameter disabled, then enabled (hub on): API calls, Notify's time, time per event."""
    rows, measured = [], {}
    public = [f"shub-bench-{i}" for i in range(events + 2)]
    hub_on = lambda twin: scenarios.security_hub_holds(twin.client("securityhub"), [])  # noqa: E731
    for setting in ("disabled", "enabled"):
        run = warden_events(buckets, public, {"SecurityHub": setting}, hub_on if setting == "enabled" else None)
        assert setting == "disabled" or "imported, compliance PASSED" in run["last_message"], run["last_message"]
        timed, recorded = run["durations"], run["calls"]
        notify = [sum(t for function, t in handlers if function == "NotifyFunction") for _, _, handlers in timed]
        measured[setting] = (median_ms([handlers for _, handlers, _ in timed]), median_ms(notify), len(recorded))
        rows.append([setting, len(recorded), sum(1 for c in recorded if c.service == "securityhub"),
                     f"{measured[setting][1]:.1f}", f"{measured[setting][0]:.1f}"])  # fmt: skip
    off, on = measured["disabled"], measured["enabled"]
    return (
        table(["SecurityHub", "API calls per event", "of which Security Hub", "Notify ms (median)", "all handlers ms (median)"], rows)
        + f"\n\nEnabled / disabled, same run: API calls x{on[2] / off[2]:.2f}, Notify time x{on[1] / off[1]:.2f}, "
        f"handler time per event x{on[0] / off[0]:.2f} ({events} warm events each; moto answers in-process, "
        "so the network round trip of that one extra call is not included)."
    )


def versions() -> str:
    import boto3
    import botocore
    import c7n.version
    import moto

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return (
        f"Warden {commit}, Cloud Custodian {c7n.version.version}, boto3 {boto3.__version__}, botocore "
        f"{botocore.__version__}, moto {moto.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs ({platform.machine()}), load average {os.getloadavg()[0]:.1f} at the start "
        f"(other work on the machine inflates times), {time.strftime('%Y-%m-%d')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="fresh interpreters per import measurement")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 100, 1000], help="buckets in the account")
    parser.add_argument("--timed-events", type=int, default=20, help="warm events timed at the middle size")
    parser.add_argument("--storm-events", type=int, default=1000)
    parser.add_argument("--storm-buckets", type=int, default=50)
    parser.add_argument("--securityhub-events", type=int, default=20, help="warm events per setting in (g)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["imports", "calls", "sizes", "cost", "storm", "securityhub"])
    args = parser.parse_args()
    logging.getLogger("moto").setLevel(logging.CRITICAL)

    print(f"## Warden vs Cloud Custodian\n\n{versions()}\n")
    start = time.perf_counter()
    if "imports" not in args.skip:
        log("import times")
        text, _ = import_times(args.repeat)
        print(f"### (a) Cold-start proxy: import time\n\n{text}\n", flush=True)
    results = None
    if "calls" not in args.skip:
        timed_size = sorted(args.sizes)[len(args.sizes) // 2]
        calls_text, time_text, results = per_event_comparison(args.sizes, timed_size, args.timed_events)
        print(f"### (b) AWS API calls per remediation event\n\n{calls_text}\n", flush=True)
        print(f"### (c) Warm time per event\n\n{time_text}\n", flush=True)
    if "sizes" not in args.skip:
        print(f"### (d) Deployment size\n\n{package_sizes()}\n", flush=True)
    if "cost" not in args.skip and results is not None:
        log("cost model: a duplicate report")
        warden = results[sorted(args.sizes)[len(args.sizes) // 2]]["warden"]
        print(f"### (e) Cost per 1,000 remediations (measured counts)\n\n{cost_model(warden, duplicate_event())}\n", flush=True)
    if "storm" not in args.skip:
        log(f"storm: {args.storm_events} events for {args.storm_buckets} buckets")
        print(f"### (f) Event storm\n\n{run_storm(args.storm_events, args.storm_buckets)}\n", flush=True)
    if "securityhub" not in args.skip:
        log("Security Hub: the same events with the parameter disabled, then enabled")
        print(f"### (g) Reflecting outcomes in Security Hub\n\n{security_hub_overhead(args.securityhub_events)}\n", flush=True)
    print(f"_Measured in one run of `make bench`, {time.perf_counter() - start:.0f} s._")


if __name__ == "__main__":
    with mock.patch.dict(os.environ):
        main()
