"""The sweep's API calls and time for 1,000 resources per source, on the twin, at its default pace:
`.venv/bin/python bench/sweep_1000.py` (about half a minute). docs/evidence.md copies one run.

1,000 NON_COMPLIANT Config evaluations, 1,000 active GuardDuty findings and 1,000 FAILED Security Hub
control findings; `python -m warden_ops sweep` (no --apply) reads them all. Calls are counted per
operation by the sweep's token bucket, which every call passes (botocore's before-call event).
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "warden")]

from local import scenarios as S  # noqa: E402
from local.twin import Twin  # noqa: E402
from warden_ops import sweep  # noqa: E402
from warden_ops.target import TwinTarget  # noqa: E402

COUNT = 1000


def event_detail(name: str) -> dict:
    return json.loads((ROOT / "events" / name).read_text())["detail"]


def main() -> int:
    with Twin(parameters={"Mode": "dry-run", "SecurityHub": "enabled"}) as twin:
        S.config_rule(twin.client("config"))
        S.config_finds_non_compliant(S.PUBLIC_READ_RULE, "AWS::S3::Bucket", [f"ml-data-{i:04d}" for i in range(COUNT)])
        trail = event_detail("guardduty-stealth-cloudtrailloggingdisabled.json")
        S.guardduty_reported(twin.client, [{**copy.deepcopy(trail), "id": f"{i:032x}"} for i in range(COUNT)])
        control = event_detail("securityhub-kms-4-key-rotation.json")["findings"][0]
        S.security_hub_holds(twin.client("securityhub"), [{**control, "Id": f"{control['Id']}-{i}"} for i in range(COUNT)])

        pacer = sweep.Pacer()  # the default: 5 calls a second, bursts of 5
        started = time.monotonic()
        found = sweep.run(TwinTarget(twin), pacer)
        seconds = time.monotonic() - started

    print(f"| {COUNT:,} resources per source (Config, GuardDuty, Security Hub) | |")
    print("|---|---|")
    print(f"| exposures listed | {len(found.exposures):,} |")
    for operation, calls in sorted(pacer.calls.items()):
        print(f"| `{operation}` | {calls} |")
    print(f"| API calls in all | {sum(pacer.calls.values())} |")
    print(f"| time (pace {pacer.rate:g} calls/s, burst {pacer.burst}) | {seconds:.1f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
