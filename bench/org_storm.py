"""Organization mode at scale, on the twin: a storm of events across many member accounts.

    .venv/bin/python bench/org_storm.py [--accounts 20] [--events 1000] [--buckets 100]   (make bench-org)

Prints what issue 12 asks to measure: exactly one fix per exposed bucket, the hub's API calls per
event by operation (AssumeRole included), the credential cache's hit rate, and the fixed monthly cost
of a member account. The twin runs one execution at a time, so 1,000 events take 10-20 minutes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "warden")]

from tests.robustness.test_org_storm import org_storm  # noqa: E402

# EventBridge bills an event put on another account's bus as a custom event, to the sender:
# $1.00 per million (https://aws.amazon.com/eventbridge/pricing/). IAM roles and rules are free.
CUSTOM_EVENT_PRICE = 1.00 / 1_000_000
HEARTBEATS_A_MONTH = 24 * 30


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--buckets", type=int, default=100)
    args = parser.parse_args()
    started = time.monotonic()
    result = org_storm(args.accounts, args.events, args.buckets)
    elapsed = time.monotonic() - started
    fixes_ok = sorted(result.remediated) == result.expected_remediations and result.all_quarantined
    calls = sum(result.api_calls.values())
    print(f"Organization storm: {args.accounts} member accounts, {args.events} events, {args.buckets} public buckets ({elapsed:.0f} s on the twin)")
    print(f"  outcomes: {dict(result.tally)}")
    print(f"  one fix per exposed bucket, each in its own account: {'yes' if fixes_ok else 'NO'} ({len(result.remediated)} fixes)")
    print(f"  hub API calls: {calls} in all, {calls / args.events:.2f} per event; by operation:")
    for operation, count in result.api_calls.most_common():
        print(f"    {operation:<45} {count:>6}  {count / args.events:6.3f}/event")
    print(f"  AssumeRole: {result.assumed} calls; credential cache hit rate {result.cache_hit_rate:.1%} "
          f"({result.reused} reuses); at most one per (account, spoke role) per hour")
    print("  member account's fixed cost: $0.00 a month (IAM roles and EventBridge rules only; no Lambda, KMS key, table, queue)")
    print(f"  member account's heartbeat: {HEARTBEATS_A_MONTH} events a month = ${HEARTBEATS_A_MONTH * CUSTOM_EVENT_PRICE:.5f}; "
          f"each forwarded finding ${CUSTOM_EVENT_PRICE:.6f}")
    return 0 if fixes_ok else 1


if __name__ == "__main__":
    sys.exit(main())
