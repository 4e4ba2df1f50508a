"""An event storm across an organization: the storm of test_storm.py, its buckets spread over many
member accounts, each event sent through its account's spoke to the hub. Each bucket is fixed exactly
once, in its own account, every event is accounted for, and the hub's API calls are counted,
AssumeRole included, with the credential cache's hit rate.

The issue's storm (20 accounts, 1,000 events) runs in `make bench` (bench/org_storm.py uses
org_storm()); the suite runs a smaller one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from local import scenarios
from local.organization import Organization, as_account
from tests.robustness.test_storm import STORM_PARAMETERS, account, storm
from tests.robustness.world import quarantined


@dataclass
class OrgStorm:
    accounts: int
    events: int
    buckets: int
    tally: Counter = field(default_factory=Counter)
    remediated: list[str] = field(default_factory=list)  # "account/bucket", one per fix
    all_quarantined: bool = False
    api_calls: Counter = field(default_factory=Counter)  # operation -> count, every Warden call in the hub
    assumed: int = 0
    reused: int = 0
    expected_remediations: list[str] = field(default_factory=list)
    expected_tally: Counter = field(default_factory=Counter)  # what the senders meant: fix, ignored, rejected

    @property
    def cache_hit_rate(self) -> float:
        return self.reused / max(1, self.reused + self.assumed)


def org_storm(accounts: int, events: int, buckets: int, seed: int = 7) -> OrgStorm:
    from warden import aws

    names, storm_events = storm(events=events, buckets=buckets, seed=seed)
    members = tuple(f"member-{i:02d}" for i in range(accounts))
    home = {bucket: members[i % accounts] for i, bucket in enumerate(names)}  # each bucket lives in one account
    result = OrgStorm(accounts, events, buckets)
    with Organization(members=members, parameters=STORM_PARAMETERS) as org:
        for bucket, member in home.items():
            scenarios.public_training_bucket(org.client("s3", member), name=bucket)
        # Each member's GuardDuty holds what it reports (Triage confirms GuardDuty findings with GetFindings).
        for member in members:
            account_id = org.members[member]
            reported = [as_account(item.event, account_id)["detail"] for item in storm_events
                        if item.event["source"] == "aws.guardduty" and home[item.bucket] == member]
            if reported:
                scenarios.guardduty_reported(lambda service, m=member: org.client(service, m), reported, account=account_id)
        def count(model, **_):
            result.api_calls[f"{model.service_model.service_name}:{model.name}"] += 1

        aws._session().events.register("before-call", count)  # every call Warden's handlers make
        try:
            for item in storm_events:
                member = home[item.bucket]
                outcome = account(org.send(as_account(item.event, org.members[member]), member))
                result.tally[outcome] += 1
                if outcome == "remediated":
                    result.remediated.append(f"{member}/{item.bucket}")
        finally:
            aws._session().events.unregister("before-call", count)
        result.assumed, result.reused = aws.SPOKE_SESSIONS.assumed, aws.SPOKE_SESSIONS.reused
        result.all_quarantined = all(quarantined(org.client("s3", home[b]), b) for b in names)
    result.expected_remediations = sorted(f"{home[b]}/{b}" for b in names)
    result.expected_tally = Counter(item.kind for item in storm_events)
    return result


def test_a_storm_across_accounts_fixes_each_bucket_once_in_its_own_account():
    outcome = org_storm(accounts=4, events=24, buckets=8)

    assert sorted(outcome.remediated) == outcome.expected_remediations, "exactly one fix per exposed bucket"
    assert outcome.all_quarantined
    assert outcome.tally["ignored"] == outcome.expected_tally["ignored"]
    assert outcome.tally["rejected"] == outcome.expected_tally["rejected"]
    assert outcome.tally["duplicate"] == outcome.expected_tally["fix"] - outcome.buckets
    assert sum(outcome.tally.values()) == outcome.events
    # Credentials are reused per account and role: at most one AssumeRole per (account, spoke role).
    assert outcome.api_calls["sts:AssumeRole"] == outcome.assumed <= 4 * 2  # triage, s3-public
    assert outcome.cache_hit_rate > 0.5
