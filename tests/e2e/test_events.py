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
    # The request made the ACL private; the twin's bucket is still public through its policy: the live
    # state is the exposure, so it is quarantined (tests/e2e/test_s3_precision.py: a private bucket is not).
    "cloudtrail-s3-putbucketacl-private.json": (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED),
    "cloudtrail-s3-deletebucketpublicaccessblock.json": (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED),
    "cloudtrail-s3-putbucketpublicaccessblock-disabled.json": (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED),
    "cloudtrail-s3-putbucketpublicaccessblock-enabled.json": (1, "ignored", "SUCCEEDED", None, UNCHANGED),
    "cloudtrail-s3-putbucketpolicy-private.json": (1, "ignored", "SUCCEEDED", None, UNCHANGED),
    # A stack's deploy re-exposing a bucket Warden never fixed is an ordinary finding (tests/e2e/test_ownership.py: reverts).
    "cloudtrail-s3-putbucketpolicy-by-cloudformation.json": (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED),
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


S = scenarios


def bucket_encryption(twin, bucket):
    rule = twin.client("s3").get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    return rule["ApplyServerSideEncryptionByDefault"].get("KMSMasterKeyID"), rule.get("BucketKeyEnabled")


def key_state(twin, name):
    return twin.client("kms").describe_key(KeyId=S.KEYS[name])["KeyMetadata"]["KeyState"]


# file -> (what a person checks afterwards, expected value)
ENCRYPTION_END_STATE = {
    "cloudtrail-s3-deletebucketencryption.json": (lambda t: bucket_encryption(t, S.FEATURES_BUCKET), (S.key_arn("features-bucket-key"), True)),
    "config-s3-default-encryption-kms.json": (lambda t: bucket_encryption(t, S.FEATURES_BUCKET), (S.key_arn("features-bucket-key"), True)),
    "cloudtrail-s3-putbucketencryption-sse-s3.json": (lambda t: bucket_encryption(t, S.ARTIFACTS_BUCKET), (S.key_arn("default-key"), True)),
    "cloudtrail-kms-disablekey.json": (lambda t: key_state(t, "training-data-key"), "Enabled"),
    "cloudtrail-kms-schedulekeydeletion.json": (lambda t: key_state(t, "feature-store-key"), "Enabled"),
    "config-kms-cmk-not-scheduled-for-deletion.json": (lambda t: key_state(t, "feature-store-key"), "Enabled"),
    "cloudtrail-kms-disablekeyrotation.json": (
        lambda t: t.client("kms").get_key_rotation_status(KeyId=S.KEYS["model-artifacts-key"])["KeyRotationEnabled"], True),
    "config-cmk-backing-key-rotation-enabled.json": (
        lambda t: t.client("kms").get_key_rotation_status(KeyId=S.KEYS["model-artifacts-key"])["KeyRotationEnabled"], True),
    "cloudtrail-ec2-disableebsencryptionbydefault.json": (
        lambda t: t.client("ec2").get_ebs_encryption_by_default()["EbsEncryptionByDefault"], True),
    "config-ec2-ebs-encryption-by-default.json": (
        lambda t: t.client("ec2").get_ebs_encryption_by_default()["EbsEncryptionByDefault"], True),
    "cloudtrail-sqs-setqueueattributes-sse-off.json": (
        lambda t: t.client("sqs").get_queue_attributes(QueueUrl=t.client("sqs").get_queue_url(QueueName=S.QUEUE)["QueueUrl"],
                                                       AttributeNames=["SqsManagedSseEnabled"])["Attributes"]["SqsManagedSseEnabled"], "true"),
    "cloudtrail-sns-settopicattributes-kms-removed.json": (
        lambda t: t.client("sns").get_topic_attributes(TopicArn=f"arn:aws:sns:us-east-1:{S.ACCOUNT}:{S.TOPIC}")["Attributes"]["KmsMasterKeyId"],
        S.key_arn("alerts-topic-key")),
    "cloudtrail-cloudtrail-stoplogging.json": (lambda t: t.client("cloudtrail").get_trail_status(Name=S.TRAIL)["IsLogging"], True),
    "guardduty-stealth-cloudtrailloggingdisabled.json": (lambda t: t.client("cloudtrail").get_trail_status(Name=S.TRAIL)["IsLogging"], True),
    "cloudtrail-sagemaker-createnotebookinstance-internet.json": (
        lambda t: t.client("sagemaker").describe_notebook_instance(NotebookInstanceName=S.NOTEBOOK)["NotebookInstanceStatus"], "Stopped"),
    "config-sagemaker-notebook-instance-kms-key-configured.json": (  # it also has direct internet access: stopped
        lambda t: t.client("sagemaker").describe_notebook_instance(NotebookInstanceName=S.NOTEBOOK)["NotebookInstanceStatus"], "Stopped"),
    "config-sagemaker-notebook-no-direct-internet-access.json": (
        lambda t: t.client("sagemaker").describe_notebook_instance(NotebookInstanceName=S.NOTEBOOK)["NotebookInstanceStatus"], "Stopped"),
}


def notebook_settings(twin, name=S.VPC_NOTEBOOK):
    notebook = twin.client("sagemaker").describe_notebook_instance(NotebookInstanceName=name)
    return (notebook["RootAccess"], notebook["InstanceMetadataServiceConfiguration"]["MinimumInstanceMetadataServiceVersion"],
            notebook["NotebookInstanceStatus"])  # fmt: skip


# Root access and IMDSv1 are fixed in place on the notebook in a VPC, which was running and is running again.
for name in ("cloudtrail-sagemaker-updatenotebookinstance-rootaccess.json", "cloudtrail-sagemaker-updatenotebookinstance-imdsv1.json",
             "config-sagemaker-notebook-instance-root-access-check.json", "securityhub-sagemaker-3-root-access.json"):
    ENCRYPTION_END_STATE[name] = (notebook_settings, ("Disabled", "2", "InService"))
ENCRYPTION = "encryption"
EXPECTED.update({name: (1, "enforce", "SUCCEEDED", "remediated", ENCRYPTION) for name in ENCRYPTION_END_STATE})
# SageMaker settings that cannot change in place:
# a person decides, nothing changes.
for name in ("cloudtrail-sagemaker-createendpointconfig-no-kms.json", "cloudtrail-sagemaker-createmodel-no-network-isolation.json",
             "config-sagemaker-model-isolation-enabled.json", "config-sagemaker-endpoint-configuration-kms-key-configured.json"):
    EXPECTED[name] = (1, "enforce", "SUCCEEDED", "needs-decision", UNCHANGED)
# Bedrock invocation logging: the twin saw it set, then it was deleted (tests/conftest.py); both events put it back.
GOOD_LOGGING = event("cloudtrail-bedrock-putmodelinvocationloggingconfiguration.json")["detail"]["requestParameters"]["loggingConfig"]
for name in ("cloudtrail-bedrock-deletemodelinvocationloggingconfiguration.json",
             "cloudtrail-bedrock-putmodelinvocationloggingconfiguration-text-off.json"):
    ENCRYPTION_END_STATE[name] = (lambda t: t.client("bedrock").get_model_invocation_logging_configuration()["loggingConfig"], GOOD_LOGGING)
    EXPECTED[name] = (1, "enforce", "SUCCEEDED", "remediated", ENCRYPTION)
EXPECTED["cloudtrail-bedrock-putmodelinvocationloggingconfiguration.json"] = (1, "ignored", "SUCCEEDED", None, UNCHANGED)
EXPECTED["cloudtrail-sqs-setqueueattributes-unrelated.json"] = (1, "ignored", "SUCCEEDED", None, UNCHANGED)


def default_document(twin, policy):
    iam = twin.client("iam")
    arn = f"arn:aws:iam::{S.ACCOUNT}:policy/{policy}"
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    return version, iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]["Statement"]


def attached(twin, role):
    return [p["PolicyArn"] for p in twin.client("iam").list_attached_role_policies(RoleName=role)["AttachedPolicies"]]


def key_status(twin):
    keys = twin.client("iam").list_access_keys(UserName=S.CI_USER)["AccessKeyMetadata"]
    return [k["Status"] for k in keys if k["AccessKeyId"] == S.CI_ACCESS_KEY]


def revoke_condition(twin):
    document = twin.client("iam").get_role_policy(RoleName=S.INSTANCE_ROLE, PolicyName="AWSRevokeOlderSessions")["PolicyDocument"]
    (statement,) = document["Statement"]
    return statement["Effect"], statement["Action"], list(statement["Condition"]["DateLessThan"])


IAM_END_STATE = {
    # an earlier version without over-broad access becomes the default again
    "cloudtrail-iam-createpolicyversion-admin.json": (lambda t: default_document(t, S.PLATFORM_POLICY), ("v1", [S.BUCKET_READ])),
    # no such earlier version: a new default without the offending statement, the other kept as it was
    "cloudtrail-iam-createpolicy-full-access.json": (lambda t: default_document(t, S.TEAM_POLICY), ("v2", [S.BUCKET_READ])),
    "config-iam-policy-no-statements-with-full-access.json": (lambda t: default_document(t, S.TEAM_POLICY), ("v2", [S.BUCKET_READ])),
    "cloudtrail-iam-putrolepolicy-admin.json": (
        lambda t: t.client("iam").get_role_policy(RoleName=S.PIPELINE_ROLE, PolicyName="DebugAllAccess")["PolicyDocument"]["Statement"],
        [S.BUCKET_READ]),
    "cloudtrail-iam-attachrolepolicy-administratoraccess.json": (lambda t: attached(t, S.PIPELINE_ROLE), []),
    "cloudtrail-iam-putgrouppolicy-admin.json": (
        lambda t: t.client("iam").get_group_policy(GroupName=S.DATA_SCIENCE_GROUP, PolicyName="NotebookEverything")["PolicyDocument"]["Statement"],
        [S.BUCKET_READ]),
    "guardduty-iam-instancecredentialexfiltration-outsideaws.json": (revoke_condition, ("Deny", "*", ["aws:TokenIssueTime"])),
    "guardduty-iam-instancecredentialexfiltration-insideaws.json": (revoke_condition, ("Deny", "*", ["aws:TokenIssueTime"])),
    "guardduty-iam-maliciousipcaller-accesskey.json": (key_status, ["Inactive"]),
    "guardduty-iam-maliciousipcaller-custom-accesskey.json": (key_status, ["Inactive"]),
}
ENCRYPTION_END_STATE.update(IAM_END_STATE)  # same checks: read the state a person would look at
EXPECTED.update({name: (1, "enforce", "SUCCEEDED", "remediated", ENCRYPTION) for name in IAM_END_STATE})
EXPECTED["cloudtrail-iam-putrolepolicy-scoped.json"] = (1, "ignored", "SUCCEEDED", None, UNCHANGED)
EXPECTED["cloudtrail-iam-attachrolepolicy-break-glass.json"] = (1, "exempt", "SUCCEEDED", "exempt", UNCHANGED)
EXPECTED["cloudtrail-iam-attachrolepolicy-sso-reserved.json"] = (1, "exempt", "SUCCEEDED", "exempt", UNCHANGED)


def rest_limits(twin):
    rest = twin.client("apigateway")
    api_id = next(a["id"] for a in rest.get_rest_apis()["items"] if a["name"] == S.REST_API)
    settings = rest.get_stage(restApiId=api_id, stageName=S.API_STAGE)["methodSettings"]["*/*"]
    plan = next(p for p in rest.get_usage_plans()["items"] if p["name"] == "partners")
    return settings["throttlingRateLimit"], settings["throttlingBurstLimit"], plan["throttle"]


THROTTLED = (10.0, 20, {"rateLimit": 10.0, "burstLimit": 20})
# The scenario's alarms stay in ALARM: after the one cool-down round the throttle stays on and on-call is told.
ENCRYPTION_END_STATE["cloudwatch-alarm-apigw-rest-4xx.json"] = (rest_limits, THROTTLED)
ENCRYPTION_END_STATE["cloudwatch-alarm-apigw-rest-latency-second-alarm.json"] = (rest_limits, THROTTLED)
for name in ("cloudwatch-alarm-apigw-rest-4xx.json", "cloudwatch-alarm-apigw-rest-latency-second-alarm.json"):
    EXPECTED[name] = (1, "enforce", "SUCCEEDED", ("remediated", "escalated"), ENCRYPTION)


def http_limits(twin):
    settings = twin.client("apigatewayv2").get_stage(ApiId=S.HTTP_API_ID, StageName=S.API_STAGE)["DefaultRouteSettings"]
    return settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]


# The same for the HTTP API (its stage had no limit set): its default route is throttled and stays so.
ENCRYPTION_END_STATE["cloudwatch-alarm-apigw-http-count.json"] = (http_limits, (10.0, 20))
EXPECTED["cloudwatch-alarm-apigw-http-count.json"] = (1, "enforce", "SUCCEEDED", ("remediated", "escalated"), ENCRYPTION)
# An alarm nobody designated (ThrottleAlarmNames), whatever its name: ignored, nothing throttled, nobody paged.
EXPECTED["cloudwatch-alarm-unrelated-prefix.json"] = (1, "ignored", "SUCCEEDED", None, UNCHANGED)
# A SageMaker endpoint has no throttle: on-call decides, nothing changes (tests/e2e/test_throttle.py).
EXPECTED["cloudwatch-alarm-sagemaker-invocations.json"] = (1, "enforce", "SUCCEEDED", "needs-decision", UNCHANGED)
# Security Hub control findings (the twin enables the SecurityHub parameter for these files).
EXPECTED["securityhub-s3-8-bucket-public-access.json"] = (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED)
EXPECTED["securityhub-s3-1-account-block-public-access.json"] = (1, "enforce", "SUCCEEDED", "remediated", ACCOUNT_BLOCKED)
ENCRYPTION_END_STATE["securityhub-kms-4-key-rotation.json"] = ENCRYPTION_END_STATE["config-cmk-backing-key-rotation-enabled.json"]
EXPECTED["securityhub-kms-4-key-rotation.json"] = (1, "enforce", "SUCCEEDED", "remediated", ENCRYPTION)
# Security Hub findings from before consolidated controls: the GeneratorId names the control per standard.
for name in ("securityhub-legacy-pci-kms-1-key-rotation.json", "securityhub-legacy-cis-1.2.0-2.8-key-rotation.json"):
    ENCRYPTION_END_STATE[name] = ENCRYPTION_END_STATE["config-cmk-backing-key-rotation-enabled.json"]
    EXPECTED[name] = (1, "enforce", "SUCCEEDED", "remediated", ENCRYPTION)
EXPECTED["securityhub-legacy-fsbp-s3-8-bucket-public-access.json"] = (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED)
# GuardDuty sample findings ("Generate sample findings"): a low-severity wiring test, nothing read or changed.
EXPECTED["guardduty-sample-s3-bucketpublicaccessgranted.json"] = (1, "wiring-test", "SUCCEEDED", "wiring-test", UNCHANGED)
EXPECTED["guardduty-sample-iam-maliciousipcaller.json"] = (1, "wiring-test", "SUCCEEDED", "wiring-test", UNCHANGED)
# Warden's own update (workflow NOTIFIED) comes back as an event: no rule matches it, so no loop.
EXPECTED["securityhub-s3-8-notified-by-warden.json"] = (0, None, None, None, UNCHANGED)
# Amazon Macie (the twin enables the Macie parameter for these files; tests/e2e/test_macie.py has the details).
EXPECTED["macie-policy-s3bucketpublic.json"] = (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED)
EXPECTED["macie-policy-s3blockpublicaccessdisabled.json"] = (1, "enforce", "SUCCEEDED", "remediated", QUARANTINED)
# shared with a partner account, not public: nothing changed, the grant reported for a person to decide
EXPECTED["macie-policy-s3bucketsharedexternally.json"] = (1, "enforce", "SUCCEEDED", "needs-decision", UNCHANGED)
ENCRYPTION_END_STATE["macie-policy-s3bucketencryptiondisabled.json"] = ENCRYPTION_END_STATE["cloudtrail-s3-deletebucketencryption.json"]
EXPECTED["macie-policy-s3bucketencryptiondisabled.json"] = (1, "enforce", "SUCCEEDED", "remediated", ENCRYPTION)
# "Generate sample findings": a wiring test, answered with what Warden would do; never a change or a failure
EXPECTED["macie-sample-s3bucketpublic.json"] = (1, "wiring-test", "SUCCEEDED", "wiring-test", UNCHANGED)
# Sensitive-data findings start nothing: Warden reads them when a public or unencrypted bucket is found
EXPECTED["macie-sensitivedata-s3object-multiple.json"] = (0, None, None, None, UNCHANGED)


def test_every_event_file_has_an_expectation():
    # events/tamper/ (Warden's own parts changed) is not in this folder: tests/e2e/test_tamper.py covers each
    files = [p.name for p in EVENTS.glob("*.json")]
    assert sorted(files) == sorted(EXPECTED)


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
    outcomes = list(outcome) if isinstance(outcome, tuple) else [outcome] if outcome else []
    assert [n["attributes"]["outcome"] for n in result.notifications] == outcomes
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
        assert state["tags"] == before[BUCKET]["tags"], "QuarantineTag is disabled by default: the tags stay as they were"
        record = result.audit_records[0]
        assert record["before"]["policy"] == scenarios.TRAINING_POLICY
        assert record["outcome"] == "remediated"
        assert record["verification"]["exposed"] == []
        body = result.notifications[0]["body"]
        for must_mention in (BUCKET, twin.account, twin.region, "HOW TO UNDO", "s3.console.aws.amazon.com"):
            assert must_mention in body
    elif end_state == ENCRYPTION:
        read, expected = ENCRYPTION_END_STATE[name]
        assert read(twin) == expected
        assert after[BUCKET] == before[BUCKET], "the encryption family changes no public-access setting"
        record = result.audit_records[0]
        assert record["outcome"] == outcomes[-1] and record["verification"]["exposed"] == []
        assert record["before"] is not None, "the before-snapshot is on record for rollback"
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
