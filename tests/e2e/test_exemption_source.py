"""Exemptions a person can trust: each exempt message says who can set that exemption, and with
ExemptionSource=settings-only a member team's exemption tag is ignored. The member team holds
s3:PutBucketTagging on its buckets (PowerUserAccess has it on every bucket)."""

from __future__ import annotations

import json

from local import scenarios
from local.twin import Twin
from tests.conftest import event

PUBLIC_POLICY_EVENT = "cloudtrail-s3-putbucketpolicy-public.json"


def team_tags_its_public_bucket_exempt(s3) -> None:
    tags = s3.get_bucket_tagging(Bucket=scenarios.TRAINING_BUCKET)["TagSet"]
    s3.put_bucket_tagging(Bucket=scenarios.TRAINING_BUCKET, Tagging={"TagSet": [*tags, {"Key": "warden:exempt", "Value": "trust me"}]})


def public(s3) -> bool:
    return "PublicReadForSharing" in s3.get_bucket_policy(Bucket=scenarios.TRAINING_BUCKET)["Policy"]


def test_by_default_a_tag_exempts_and_the_message_says_who_could_set_it():
    with Twin(parameters={"Mode": "enforce"}) as twin:
        s3 = twin.client("s3")
        scenarios.public_training_bucket(s3)
        team_tags_its_public_bucket_exempt(s3)
        result = twin.send(event(PUBLIC_POLICY_EVENT))
        still_public = public(s3)

    assert result.decision == "exempt" and still_public
    (message,) = result.notifications
    assert "who can set this: anyone allowed s3:PutBucketTagging on the resource, unless an SCP reserves the tag key warden:exempt" in message["body"]


def test_settings_only_ignores_the_tag_fixes_the_bucket_and_honours_only_the_list():
    with Twin(parameters={"Mode": "enforce", "ExemptionSource": "settings-only", "SettingsCacheSeconds": "0"}) as twin:
        s3 = twin.client("s3")
        scenarios.public_training_bucket(s3)
        team_tags_its_public_bucket_exempt(s3)
        tagged = twin.send(event(PUBLIC_POLICY_EVENT))
        fixed = not public(s3)

        scenarios.public_training_bucket(s3, name="ml-training-data-staging")
        parameter = twin.physical["SettingsParameter"]
        twin.client("ssm").put_parameter(
            Name=parameter, Value=json.dumps({"exempt_resources": ["arn:aws:s3:::ml-training-data-staging"]}), Type="String", Overwrite=True
        )
        listed = twin.send(json.loads(json.dumps(event(PUBLIC_POLICY_EVENT)).replace(scenarios.TRAINING_BUCKET, "ml-training-data-staging")))

    assert tagged.decision == "enforce" and fixed
    assert "the resource is tagged warden:exempt, but ExemptionSource is settings-only: Warden ignores exemption tags" in tagged.executions[0].triage["reason"]
    assert listed.decision == "exempt"
    (message,) = listed.notifications
    assert f"who can set this: anyone allowed ssm:PutParameter on {parameter} (the run-time settings)" in message["body"]
