"""Every file in events/ goes through the twin (real rules, workflow and handlers) to the
expected decision, notification and end state."""

from __future__ import annotations

import json

import pytest

from local import scenarios
from tests.conftest import EVENTS, event
from warden.remediations.s3_public import BLOCK_SETTINGS, public_grants, split_policy

BUCKET = scenarios.TRAINING_BUCKET
QUARANTINED, UNCHANGED, ACCOUNT_BLOCKED, EXEMPT_UNCHANGED, NOTHING = "quarantined", "unchanged", "account", "exempt", "-"

# file -> (rules matched, decision, execution status, notification outcome, end state)
EXPECTED = {
    "cloudtrail-s3-putbucketpolicy-public.json": (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED),
    "cloudtrail-s3-putbucketacl-public.json": (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED),
    "cloudtrail-s3-deletebucketpublicaccessblock.json": (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED),
    "cloudtrail-s3-putbucketpublicaccessblock-disabled.json": (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED),
    "cloudtrail-s3-putbucketpublicaccessblock-enabled.json": (1, "ignored", "SUCCEEDED", None, UNCHANGED),
    "cloudtrail-s3-putbucketpolicy-private.json": (1, "ignored", "SUCCEEDED", None, UNCHANGED),
    "cloudtrail-s3-putbucketacl-by-warden.json": (1, "ignored", "SUCCEEDED", None, UNCHANGED),
    "cloudtrail-s3-putbucketpolicy-accessdenied.json": (0, None, None, None, UNCHANGED),
    "cloudtrail-s3-putbucketpolicy-exempt-bucket.json": (1, "exempt", "SUCCEEDED", "exempt", EXEMPT_UNCHANGED),
    "config-s3-bucket-public-read-prohibited.json": (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED),
    "config-s3-bucket-public-write-prohibited.json": (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED),
    "config-s3-bucket-level-public-access-prohibited.json": (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED),
    "config-s3-bucket-public-read-prohibited-compliant.json": (0, None, None, None, UNCHANGED),
    "config-s3-account-level-public-access-blocks.json": (1, "enforce", "SUCCEEDED", "remediated", ACCOUNT_BLOCKED),
    "guardduty-s3-bucketpublicaccessgranted.json": (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED),
    "guardduty-s3-bucketanonymousaccessgranted.json": (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED),
    "guardduty-s3-bucketblockpublicaccessdisabled.json": (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED),
    "guardduty-s3-accountblockpublicaccessdisabled.json": (1, "enforce", "SUCCEEDED", "remediated", ACCOUNT_BLOCKED),
    "malformed-cloudtrail-missing-bucketname.json": (1, "rejected", "FAILED", "rejected", UNCHANGED),
    "malformed-cloudtrail-hostile-bucketname.json": (1, "rejected", "FAILED", "rejected", UNCHANGED),
    "malformed-cloudtrail-truncated.json": (1, "rejected", "FAILED", "rejected", UNCHANGED),
}


def test_every_event_file_has_an_expectation():
    assert sorted(p.name for p in EVENTS.glob("*.json")) == sorted(EXPECTED)


def bucket_state(s3, bucket: str) -> dict:
    try:
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except s3.exceptions.ClientError:
        block = {}
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError:
        policy = None
    return {
        "block": {s: bool(block.get(s)) for s in BLOCK_SETTINGS},
        "policy": policy,
        "acl": s3.get_bucket_acl(Bucket=bucket)["Grants"],
        "tags": {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]},
        "objects": [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])],
    }


def account_block(twin) -> dict:
    config = twin.client("s3control").get_public_access_block(AccountId=twin.account)["PublicAccessBlockConfiguration"]
    return {s: config[s] for s in BLOCK_SETTINGS}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_event_file_end_to_end(twin, name):
    rules, decision, status, outcome, end_state = EXPECTED[name]
    s3 = twin.client("s3")
    before = {b: bucket_state(s3, b) for b in (BUCKET, scenarios.EXEMPT_BUCKET)}

    result = twin.send(event(name))

    assert len(result.matched_rules) == rules
    assert result.decision == decision
    assert result.status == status
    assert [n["attributes"]["outcome"] for n in result.notifications] == ([outcome] if outcome else [])
    for message in result.notifications:
        assert len(message["subject"]) < 100
        assert set(message["attributes"]) == {"severity", "outcome", "remediation"}

    after = {b: bucket_state(s3, b) for b in (BUCKET, scenarios.EXEMPT_BUCKET)}
    assert after[BUCKET]["objects"] == before[BUCKET]["objects"], "Warden must never touch objects"
    assert after[scenarios.EXEMPT_BUCKET] == before[scenarios.EXEMPT_BUCKET]
    if end_state == QUARANTINED:
        state = after[BUCKET]
        assert all(state["block"].values())
        assert split_policy(state["policy"])[0] == []
        original_others = [s for s in scenarios.TRAINING_POLICY["Statement"] if s["Sid"] != "PublicReadForSharing"]
        assert state["policy"]["Statement"] == original_others, "unrelated statements must stay exactly as they were"
        assert public_grants({"Grants": state["acl"]}) == []
        assert any(g["Permission"] == "FULL_CONTROL" for g in state["acl"]), "the owner's grant stays"
        assert state["tags"]["data-classification"] == "training"
        assert state["tags"]["warden:quarantined-by"] == "warden"
        record = result.audit_records[0]
        assert record["before"]["policy"] == scenarios.TRAINING_POLICY
        assert record["outcome"] == "remediated"
        assert record["verification"]["exposed"] == []
        body = result.notifications[0]["body"]
        for must_mention in (BUCKET, twin.account, twin.region, "HOW TO UNDO", "s3.console.aws.amazon.com"):
            assert must_mention in body
    elif end_state == ACCOUNT_BLOCKED:
        assert all(account_block(twin).values())
        assert after[BUCKET] == before[BUCKET], "the account fix changes no bucket setting"
    else:
        assert after[BUCKET] == before[BUCKET]
        assert not all(account_block(twin).values())
    if decision == "rejected":
        assert result.notifications[0]["attributes"]["severity"] == "HIGH"
        reason = result.executions[0].triage["reason"]
        assert "malformed" in reason and "detail." in reason, reason
