"""An event close to EventBridge's 256 KB limit is remediated like any other: the finding that
travels through the workflow is capped, and the remediation reads what it needs from the bucket.

moto does not enforce Step Functions' 256 KB state limit, so the sizes are asserted here."""

from __future__ import annotations

import json

from local import scenarios
from tests.unit.test_finding_size import huge_policy_event
from warden.finding import MAX_FINDING_BYTES
from warden.remediations.s3_public import BLOCK_SETTINGS, split_policy

STATE_LIMIT = 256 * 1024


def size(value) -> int:
    return len(json.dumps(value).encode())


def test_huge_cloudtrail_event_is_remediated_within_the_state_limit(twin):
    event = huge_policy_event()
    assert size(event) > 190_000

    result = twin.send(event)

    (execution,) = result.executions
    assert (execution.decision, execution.status) == ("enforce", "SUCCEEDED"), execution.cause
    assert [n["attributes"]["outcome"] for n in result.notifications] == ["remediated"]
    # The states the workflow carried: Triage's output and the last one, which holds everything.
    assert size(execution.triage["finding"]) <= MAX_FINDING_BYTES
    assert size(execution.output) < STATE_LIMIT // 4
    assert "requestParameters.bucketPolicy" in execution.triage["finding"]["details"]["truncated"]
    # The fix read the bucket itself: its public statement is gone, the others kept.
    s3 = twin.client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=scenarios.TRAINING_BUCKET)["Policy"])
    assert split_policy(policy)[0] == []
    block = s3.get_public_access_block(Bucket=scenarios.TRAINING_BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block[s] for s in BLOCK_SETTINGS)
    (record,) = result.audit_records
    assert record["outcome"] == "remediated" and record["before"]["policy"] == scenarios.TRAINING_POLICY
    assert size(record["finding"]) <= MAX_FINDING_BYTES
