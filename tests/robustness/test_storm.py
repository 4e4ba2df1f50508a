"""An event storm through the twin: many events from all three sources about a set of public
buckets, shuffled, plus Warden's own changes and malformed events. Each bucket is fixed exactly
once and every event is accounted for.

The twin runs one execution at a time at 0.5-0.9 s an event on 2 cores, so 1,000 events take
10-15 minutes: the issue's storm (1,000 events for 50 buckets) runs in `make bench`
(bench/benchmark.py uses the same storm()), and the suite runs a smaller one.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from local import scenarios
from local.twin import Twin
from tests.robustness.world import event_for_bucket, quarantined

# event file -> what it must end as, for a public bucket inside the dedupe window
FIXES = [  # each reports the exposure: the first one per bucket fixes it, the rest are duplicates
    "cloudtrail-s3-putbucketpolicy-public.json",
    "cloudtrail-s3-putbucketacl-public.json",
    "cloudtrail-s3-deletebucketpublicaccessblock.json",
    "config-s3-bucket-public-read-prohibited.json",
    "config-s3-bucket-public-write-prohibited.json",
    "guardduty-s3-bucketpublicaccessgranted.json",
    "guardduty-s3-bucketanonymousaccessgranted.json",
]
IGNORED = [  # Warden's own change (loop prevention), and a call that made the bucket safer
    "cloudtrail-s3-putbucketacl-by-warden.json",
    "cloudtrail-s3-putbucketpublicaccessblock-enabled.json",
]
REJECTED = ["malformed-cloudtrail-missing-bucketname.json", "malformed-cloudtrail-hostile-bucketname.json"]


@dataclass(frozen=True)
class StormEvent:
    event: dict
    bucket: str
    kind: str  # "fix", "ignored" or "rejected": what the sender meant


def storm(events: int, buckets: int, seed: int = 7) -> tuple[list[str], list[StormEvent]]:
    """`events` events about `buckets` buckets: one real report per bucket guaranteed, the rest a
    seeded mix (about 80% reports, 12% ignorable, 8% malformed), shuffled."""
    rng = random.Random(seed)
    names = [f"ml-storm-{i:04d}" for i in range(buckets)]
    plan = [(bucket, rng.choice(FIXES), "fix") for bucket in names]
    while len(plan) < events:
        roll = rng.random()
        files, kind = (FIXES, "fix") if roll < 0.8 else (IGNORED, "ignored") if roll < 0.92 else (REJECTED, "rejected")
        plan.append((rng.choice(names), rng.choice(files), kind))
    rng.shuffle(plan)
    return names, [
        StormEvent(event_for_bucket(file, bucket, f"storm-{index:05d}"), bucket, kind)
        for index, (bucket, file, kind) in enumerate(plan)
    ]


def account(result) -> str:
    """What became of one event, as on-call and the audit table see it."""
    outcomes = [n["attributes"]["outcome"] for n in result.notifications]
    if len(result.executions) != 1:
        return f"{len(result.executions)} executions"
    return {
        ("enforce", ("remediated",)): "remediated",
        ("duplicate", ("duplicate",)): "duplicate",
        ("ignored", ()): "ignored",
        ("rejected", ("rejected",)): "rejected",
    }.get((result.decision, tuple(outcomes)), f"unaccounted: {result.decision} {outcomes} {result.status}")


def run_storm(twin: Twin, events: list[StormEvent]) -> list[tuple[StormEvent, str, object]]:
    return [(item, account(result), result) for item in events for result in [twin.send(item.event)]]


EVENTS, BUCKETS = 60, 6
# A real storm arrives within seconds, executions running side by side; the twin runs them one at a
# time (0.5 s each), so the dedupe window is widened to keep the whole storm inside one window.
STORM_PARAMETERS = {"Mode": "enforce", "DedupeWindowSeconds": "3600"}


def test_storm_fixes_each_bucket_once_and_accounts_for_every_event():
    names, events = storm(events=EVENTS, buckets=BUCKETS)
    with Twin(parameters=STORM_PARAMETERS) as twin:
        s3 = twin.client("s3")
        for bucket in names:
            scenarios.public_training_bucket(s3, name=bucket)
        # GuardDuty holds what it reports (Warden confirms each of its findings with GetFindings).
        scenarios.guardduty_reported(twin.client, [item.event["detail"] for item in events if item.event["source"] == "aws.guardduty"])

        outcomes = run_storm(twin, events)

        tally = Counter(outcome for _, outcome, _ in outcomes)
        assert set(tally) <= {"remediated", "duplicate", "ignored", "rejected"}, tally
        assert sum(tally.values()) == len(events) == EVENTS
        remediated = [item.bucket for item, outcome, _ in outcomes if outcome == "remediated"]
        assert sorted(remediated) == sorted(names), "exactly one remediation per bucket"
        assert tally["ignored"] == sum(item.kind == "ignored" for item in events)
        assert tally["rejected"] == sum(item.kind == "rejected" for item in events)
        assert tally["duplicate"] == sum(item.kind == "fix" for item in events) - len(names)
        assert sum(1 for m in twin.emitted_metrics if "Remediations" in m) == len(names), "the metric agrees"
        assert all(quarantined(s3, bucket) for bucket in names)
        # every duplicate names the finding that holds the claim, so on-call can find the fix
        for _item, outcome, result in outcomes:
            if outcome == "duplicate":
                assert "already started by" in result.executions[0].triage["reason"]
