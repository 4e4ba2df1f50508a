"""history: the time forms an operator types, and the one-word status of a record."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from warden.history import parse_time, status
from warden.rollback import differences

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("90m", NOW - timedelta(minutes=90)),
        ("24h", NOW - timedelta(hours=24)),
        ("7d", NOW - timedelta(days=7)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=timezone.utc)),
        ("2026-11-01T08:00:00Z", datetime(2026, 11, 1, 8, tzinfo=timezone.utc)),
        ("2026-11-01T08:00:00+01:00", datetime(2026, 11, 1, 7, tzinfo=timezone.utc)),
    ],
)
def test_times_an_operator_types(text, expected):
    assert parse_time(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "7 days", "-1d", "2026-13-01"])
def test_unreadable_times_are_refused_with_the_accepted_forms(text):
    with pytest.raises(ValueError, match="neither a date"):
        parse_time(text, now=NOW)


def test_status_rolled_back_wins_then_outcome_then_decision():
    assert status({"decision": "enforce", "outcome": "remediated", "rolled_back_at": "2026-11-21T12:00:00+00:00"}) == "rolled-back"
    assert status({"decision": "enforce", "outcome": "remediated"}) == "remediated"
    assert status({"decision": "ignored"}) == "ignored"


def test_differences_go_as_deep_as_the_change():
    after = {"policy": {"Statement": [{"Sid": "A"}]}, "public_access_block": {"BlockPublicAcls": True}, "tags": {}}
    now = {"policy": {"Statement": [{"Sid": "A"}, {"Sid": "B"}]}, "public_access_block": {"BlockPublicAcls": False}, "tags": {}}
    assert differences(after, now) == [
        'policy.Statement: added {"Sid": "B"}',
        "public_access_block.BlockPublicAcls: true -> false",
    ]
    assert differences(after, after) == []
    assert differences({"versions": [1, 2]}, {"versions": [2, 1]}) == ["versions: same items in another order"]
