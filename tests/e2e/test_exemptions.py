"""Exemptions with an expiry on the twin: an expired exemption no longer protects the resource, and
the message tells on-call that it expired."""

from __future__ import annotations

import pytest

from local import scenarios
from tests.conftest import event

S = scenarios
EXEMPT_BUCKET_EVENT = "cloudtrail-s3-putbucketpolicy-exempt-bucket.json"


def tag_website(twin, value: str) -> None:
    twin.client("s3").put_bucket_tagging(Bucket=S.EXEMPT_BUCKET, Tagging={"TagSet": [{"Key": "warden:exempt", "Value": value}]})


def test_an_expired_exemption_is_fixed_and_the_message_says_it_expired(twin):
    tag_website(twin, "until=2020-01-31 reason=launch week")

    result = twin.send(event(EXEMPT_BUCKET_EVENT))

    assert result.decision == "enforce"
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "remediated"
    assert "the exemption tag warden:exempt='until=2020-01-31 reason=launch week' expired (until=2020-01-31), so it no longer applies" in message["body"]
    s3 = twin.client("s3")
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=S.EXEMPT_BUCKET)  # its only statement was public: the policy is gone


def test_an_exemption_until_a_later_date_still_applies(twin):
    tag_website(twin, "until=2099-12-31 reason=public model cards")

    result = twin.send(event(EXEMPT_BUCKET_EVENT))

    assert result.decision == "exempt"
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "exempt"
    assert "valid until 2099-12-31" in message["body"]
    assert "WebsiteRead" in twin.client("s3").get_bucket_policy(Bucket=S.EXEMPT_BUCKET)["Policy"]
