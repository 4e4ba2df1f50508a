"""The finding Triage hands on stays small, however large the event: the Step Functions state is
capped at 256 KB, and going over (States.DataLimitExceeded) is a failure no Catch can handle."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from warden.finding import MAX_FINDING_BYTES, Finding
from warden.findings import MAX_EVENT_BYTES, parse_finding
from warden.findings.cloudtrail import REQUEST_PARAMETERS_USED

EVENTS = Path(__file__).resolve().parents[2] / "events"
# every CloudTrail file but the one of a call that failed (AccessDenied: rejected, no finding)
CLOUDTRAIL_FILES = sorted(p.name for p in EVENTS.glob("cloudtrail-*.json") if "errorCode" not in json.loads(p.read_text())["detail"])


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def size(value) -> int:
    return len(json.dumps(value).encode())


def huge_policy_event(policy_bytes: int = 200_000) -> dict:
    """A PutBucketPolicy event (public) whose policy document is about `policy_bytes` long."""
    event = load("cloudtrail-s3-putbucketpolicy-public.json")
    policy = event["detail"]["requestParameters"]["bucketPolicy"]
    template = {"Sid": "", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/Reader"},
                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::ml-training-data-prod/datasets/*"}
    count = policy_bytes // size(template)
    policy["Statement"] += [{**template, "Sid": f"Reader{n}"} for n in range(count)]
    return event


def test_the_huge_event_is_one_eventbridge_could_deliver():
    assert 190_000 < size(huge_policy_event()) < MAX_EVENT_BYTES


def test_a_huge_event_gives_a_finding_under_the_cap_that_says_what_was_dropped():
    event = huge_policy_event()
    finding = parse_finding(event)
    assert size(finding.to_dict()) > MAX_FINDING_BYTES  # what triage sees: the whole policy
    bounded = finding.bounded()
    assert size(bounded.to_dict()) <= MAX_FINDING_BYTES
    assert "bucketPolicy" not in bounded.details["requestParameters"]
    assert "requestParameters.bucketPolicy" in bounded.details["truncated"]
    assert event["detail"]["eventID"] in bounded.details["truncated"]  # where to find the whole event
    # everything a remediation needs to find and fix the resource is still there
    assert (bounded.resource_arn, bounded.type, bounded.account, bounded.region) == (
        finding.resource_arn, finding.type, finding.account, finding.region)
    assert Finding.from_dict(json.loads(json.dumps(bounded.to_dict()))) == bounded


def test_small_parameters_are_kept_when_a_large_one_is_dropped():
    event = huge_policy_event()
    event["detail"]["eventName"] = "PutBucketPublicAccessBlock"
    event["detail"]["requestParameters"]["PublicAccessBlockConfiguration"] = {"BlockPublicPolicy": False}
    bounded = parse_finding(event).bounded()
    assert bounded.details["requestParameters"] == {"PublicAccessBlockConfiguration": {"BlockPublicPolicy": False}}


def test_details_that_are_not_request_parameters_are_dropped_last():
    finding = parse_finding(load("cloudtrail-s3-putbucketpolicy-public.json"))
    finding = Finding.from_dict({**finding.to_dict(), "details": {"other": "x" * 100_000}})
    bounded = finding.bounded()
    assert size(bounded.to_dict()) <= MAX_FINDING_BYTES
    assert set(bounded.details) == {"truncated"}


@pytest.mark.parametrize("name", CLOUDTRAIL_FILES)
def test_ordinary_findings_pass_unchanged(name):
    finding = parse_finding(load(name))
    assert finding.bounded() == finding
    assert set(finding.details.get("requestParameters", {})) <= REQUEST_PARAMETERS_USED


def test_parameters_no_remediation_reads_are_not_carried():
    event = load("cloudtrail-s3-putbucketacl-public.json")
    event["detail"]["requestParameters"]["padding"] = "x" * (MAX_EVENT_BYTES - 20_000)
    finding = parse_finding(copy.deepcopy(event))
    assert "padding" not in finding.details["requestParameters"]
    assert size(finding.to_dict()) < 4096
