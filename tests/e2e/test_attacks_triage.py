"""Issue 11's attacks on triage, written as the attacker does them: boto3 calls on the twin with
what PowerUserAccess allows (no IAM, no Organizations). Each failed before the change it names.

Part 1, authenticated findings: forged GuardDuty findings, samples, archived findings, another
account's events, and attaching a harmless policy. Part 5: re-exposure inside the dedupe window and
a forged dedupe record.
"""

from __future__ import annotations

import copy
import json
import re

from local import scenarios as S
from tests.conftest import event

EXFILTRATION = "guardduty-iam-instancecredentialexfiltration-outsideaws.json"
PRODUCTION_ROLE = "prod-inference-fleet"  # every instance of the fleet runs with it
OTHER_ACCOUNT = "210987654321"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def sessions_revoked(twin, role: str) -> bool:
    policies = twin.client("iam").list_role_policies(RoleName=role)["PolicyNames"]
    return "AWSRevokeOlderSessions" in policies


def forged_exfiltration(role: str, finding_id: str = "0" * 32, detector: str = S.GUARDDUTY_DETECTOR) -> dict:
    """A credential-exfiltration finding event naming `role`, as an attacker writes one."""
    forged = copy.deepcopy(event(EXFILTRATION))
    detail = forged["detail"]
    detail["id"] = finding_id
    detail["arn"] = f"arn:aws:guardduty:us-east-1:{S.ACCOUNT}:detector/{detector}/finding/{finding_id}"
    detail["resource"]["accessKeyDetails"].update(userName=role, principalId=f"AROAFORGED:{role}")
    return forged


def production_role(twin) -> None:
    twin.client("iam").create_role(RoleName=PRODUCTION_ROLE, AssumeRolePolicyDocument=json.dumps(S.TRUST_EC2))


def rejected_reason(result) -> str:
    assert result.decision == "rejected", (result.decision, result.executions[0].triage)
    assert [n["attributes"]["severity"] for n in result.notifications] == ["HIGH"]
    return result.executions[0].triage["reason"]


# --- forged input: StartExecution with a made-up GuardDuty finding ------------------------------


def test_iam_a_made_up_guardduty_finding_started_by_hand_revokes_nothing(twin):
    production_role(twin)

    result = twin.start_execution(forged_exfiltration(PRODUCTION_ROLE))

    reason = rejected_reason(result)
    assert f"GuardDuty holds no finding {'0' * 32} in detector {S.GUARDDUTY_DETECTOR}" in reason
    assert not sessions_revoked(twin, PRODUCTION_ROLE)
    assert "WHY WARDEN DID NOT ACT" in result.notifications[0]["body"]


def test_iam_a_sample_finding_the_attacker_generated_revokes_nothing(twin):
    production_role(twin)
    guardduty = twin.client("guardduty")
    held_before = set(guardduty.list_findings(DetectorId=S.GUARDDUTY_DETECTOR)["FindingIds"])
    guardduty.create_sample_findings(
        DetectorId=S.GUARDDUTY_DETECTOR, FindingTypes=["UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"]
    )
    (sample_id,) = set(guardduty.list_findings(DetectorId=S.GUARDDUTY_DETECTOR)["FindingIds"]) - held_before

    result = twin.start_execution(forged_exfiltration(PRODUCTION_ROLE, sample_id))

    assert f"GuardDuty finding {sample_id} is a sample" in rejected_reason(result)
    assert not sessions_revoked(twin, PRODUCTION_ROLE)


def test_iam_a_real_finding_retold_about_another_role_revokes_nothing(twin):
    production_role(twin)
    real = event(EXFILTRATION)["detail"]  # GuardDuty holds it: it is about inference-instance-role

    result = twin.start_execution(forged_exfiltration(PRODUCTION_ROLE, real["id"]))

    reason = rejected_reason(result)
    assert f"role/{S.INSTANCE_ROLE}, not {real['type']} on arn:aws:iam::{S.ACCOUNT}:role/{PRODUCTION_ROLE}" in reason
    assert not sessions_revoked(twin, PRODUCTION_ROLE)
    assert not sessions_revoked(twin, S.INSTANCE_ROLE)


def test_iam_an_archived_finding_revokes_nothing(twin):
    real = event(EXFILTRATION)
    twin.client("guardduty").archive_findings(DetectorId=S.GUARDDUTY_DETECTOR, FindingIds=[real["detail"]["id"]])

    result = twin.send(real)

    assert "is archived" in rejected_reason(result)
    assert not sessions_revoked(twin, S.INSTANCE_ROLE)


def test_iam_the_genuine_finding_still_revokes_the_sessions(twin):
    result = twin.send(event(EXFILTRATION))

    assert result.decision == "enforce"
    assert sessions_revoked(twin, S.INSTANCE_ROLE)


# --- another account's event ---------------------------------------------------------------------


def retold_in(account: str, source: dict, envelope_only: bool = False) -> dict:
    """The event as another account's CloudTrail would send it (or only its envelope changed)."""
    if envelope_only:
        return {**source, "account": account}
    return json.loads(json.dumps(source).replace(S.ACCOUNT, account))


def test_another_accounts_event_changes_nothing_here(twin):
    # The same bucket name exists here, public: only this account's own events may fix it.
    foreign = retold_in(OTHER_ACCOUNT, event("cloudtrail-s3-putbucketpolicy-public.json"))

    assert twin.send(foreign).matched_rules == [], "the rules filter on this account"
    result = twin.start_execution(foreign)  # skipping the rules

    reason = rejected_reason(result)
    assert f"account {OTHER_ACCOUNT} is not this stack's account {S.ACCOUNT}" in reason
    assert twin.client("s3").get_bucket_policy(Bucket=S.TRAINING_BUCKET), "the public policy is untouched"
    assert [r["decision"] for r in result.audit_records] == ["rejected"], "the attempt is on record"


def test_an_event_whose_envelope_and_detail_disagree_is_rejected(twin):
    mismatched = retold_in(OTHER_ACCOUNT, event("cloudtrail-s3-putbucketpolicy-public.json"), envelope_only=True)

    reason = rejected_reason(twin.start_execution(mismatched))

    assert f"the event's account '{OTHER_ACCOUNT}' is not the account its detail names ({S.ACCOUNT})" in reason
    assert twin.client("s3").get_bucket_policy(Bucket=S.TRAINING_BUCKET)


# --- attaching a harmless policy -----------------------------------------------------------------

CDK_ROLE = "cdk-hnb659fds-cfn-exec-role-123456789012-us-east-1"  # AdministratorAccess by design


def attach_event(role: str, policy_arn: str) -> dict:
    attach = copy.deepcopy(event("cloudtrail-iam-attachrolepolicy-administratoraccess.json"))
    attach["detail"]["requestParameters"] = {"roleName": role, "policyArn": policy_arn}
    attach["detail"]["eventID"] = f"attach-{role}-{policy_arn.rsplit('/', 1)[1]}"
    return attach


def attached(twin, role: str) -> list[str]:
    return sorted(p["PolicyArn"] for p in twin.client("iam").list_attached_role_policies(RoleName=role)["AttachedPolicies"])


def test_iam_attaching_read_only_access_leaves_the_roles_admin_policy_alone(twin):
    iam = twin.client("iam")
    iam.create_role(RoleName=CDK_ROLE, AssumeRolePolicyDocument=json.dumps(S.TRUST_EC2))
    iam.attach_role_policy(RoleName=CDK_ROLE, PolicyArn=S.ADMIN_POLICY_ARN)
    iam.attach_role_policy(RoleName=CDK_ROLE, PolicyArn=READ_ONLY)

    result = twin.send(attach_event(CDK_ROLE, READ_ONLY))

    assert result.decision == "ignored"
    assert f"{READ_ONLY}, is not administrator-equivalent" in result.executions[0].triage["reason"]
    assert attached(twin, CDK_ROLE) == sorted([S.ADMIN_POLICY_ARN, READ_ONLY]), "the CDK role keeps working"


def test_iam_attaching_an_admin_policy_detaches_that_policy_only(twin):
    iam = twin.client("iam")
    copy_arn = iam.create_policy(PolicyName="AdminCopy", PolicyDocument=S.document(S.ALL_ACCESS))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=S.PIPELINE_ROLE, PolicyArn=copy_arn)  # admin too, attached earlier on purpose

    result = twin.send(attach_event(S.PIPELINE_ROLE, S.ADMIN_POLICY_ARN))

    assert result.decision == "enforce"
    assert attached(twin, S.PIPELINE_ROLE) == [copy_arn]
    assert [c["params"]["PolicyArn"] for c in result.audit_records[0]["changes"]] == [S.ADMIN_POLICY_ARN]


# --- part 5: a duplicate is checked, not trusted -------------------------------------------------

PUBLIC_POLICY = "cloudtrail-s3-putbucketpolicy-public.json"
ATTACKER = f"arn:aws:sts::{S.ACCOUNT}:assumed-role/PowerUser/mallory"


def re_expose(s3, bucket: str = S.TRAINING_BUCKET) -> None:
    """What the attacker does right after Warden's fix: Block Public Access off, the public policy back."""
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(S.TRAINING_POLICY))


def cloudtrail_says(source: dict, event_id: str, actor: str) -> dict:
    """The CloudTrail event of the attacker's own call, delivered now."""
    from datetime import datetime, timezone

    retold = copy.deepcopy(source)
    retold["id"] = event_id
    retold["detail"].update(eventID=event_id, eventTime=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    retold["detail"]["userIdentity"]["arn"] = actor
    return retold


def is_public(s3, bucket: str = S.TRAINING_BUCKET) -> bool:
    from tests.robustness.world import quarantined

    return not quarantined(s3, bucket)


def test_a_bucket_made_public_again_inside_the_dedupe_window_is_fixed_again_and_escalated(twin):
    s3 = twin.client("s3")
    first = twin.send(event(PUBLIC_POLICY))
    assert first.decision == "enforce" and not is_public(s3)

    re_expose(s3)
    again = twin.send(cloudtrail_says(event(PUBLIC_POLICY), "re-exposed-by-mallory", ATTACKER))

    assert again.decision == "enforce"
    reason = again.executions[0].triage["reason"]
    first_id = first.audit_records[0]["finding_id"]
    assert re.search(rf"re-exposed \d+ seconds after the fix by {first_id}, by {re.escape(ATTACKER)}", reason), reason
    assert not is_public(s3), "fixed again"
    (message,) = again.notifications
    assert message["attributes"] == {"severity": "HIGH", "outcome": "remediated", "remediation": "s3-quarantine-public-bucket"}
    assert message["body"].startswith("ESCALATED\n  re-exposed ")
    # Config reports the same bucket later: it is fixed now, so that one is a plain duplicate
    config = twin.send(event("config-s3-bucket-public-read-prohibited.json"))
    assert config.decision == "duplicate" and "re-read now, it is not exposed" in config.executions[0].triage["reason"]


def test_a_bucket_still_fixed_inside_the_window_stays_a_duplicate(twin):
    twin.send(event(PUBLIC_POLICY))

    duplicate = twin.send(event("guardduty-s3-bucketpublicaccessgranted.json"))

    assert duplicate.decision == "duplicate"
    assert [n["attributes"]["severity"] for n in duplicate.notifications] == ["INFO"]


def test_a_forged_dedupe_record_with_a_far_future_expiry_suppresses_nothing():
    import time

    from local.twin import Twin

    with Twin(parameters={"Mode": "enforce", "DedupeWindowSeconds": "1"}) as twin:
        s3, dynamodb = twin.client("s3"), twin.client("dynamodb")
        S.public_training_bucket(s3)
        twin.send(event(PUBLIC_POLICY))
        # The attacker rewrites Warden's claim for the bucket to last until 2100, then re-exposes it.
        table = twin.physical["DedupeTable"]
        for item in dynamodb.scan(TableName=table)["Items"]:
            dynamodb.put_item(TableName=table, Item={**item, "expiration": {"N": "4102444800"}})
        re_expose(s3)
        time.sleep(1.5)  # the real window is over

        later = twin.send(event("config-s3-bucket-public-read-prohibited.json"))

        assert later.decision == "enforce"
        assert "claimed to suppress fixes until 2100-01-01T00:00:00+00:00, longer than the 1s window" in later.executions[0].triage["reason"]
        assert not is_public(s3)


def claim_key(bucket: str = S.TRAINING_BUCKET) -> str:
    return f"s3-quarantine-public-bucket#{S.ACCOUNT}#us-east-1#arn:aws:s3:::{bucket}"


def test_a_forged_dedupe_claim_written_before_the_first_finding_suppresses_nothing(twin):
    """The claim and the decision's record are one transaction: the attacker's far-future claim,
    there before Warden ever saw the bucket, cancels it; Warden names the forgery, replaces it and fixes."""
    dynamodb, table = twin.client("dynamodb"), twin.physical["DedupeTable"]
    forged = {"id": {"S": claim_key()}, "finding_id": {"S": "mallory-made-this-up"}, "claimed_at": {"N": "1764000000"}, "expiration": {"N": "4102444800"}}
    dynamodb.put_item(TableName=table, Item=forged)

    result = twin.send(event(PUBLIC_POLICY))

    assert result.decision == "enforce" and result.status == "SUCCEEDED"
    assert "claimed to suppress fixes until 2100-01-01T00:00:00+00:00" in result.executions[0].triage["reason"]
    assert not is_public(twin.client("s3"))
    claim = dynamodb.get_item(TableName=table, Key={"id": {"S": claim_key()}})["Item"]
    (record,) = result.audit_records
    assert claim["finding_id"]["S"] == record["finding_id"], "Warden's own claim replaced the forged one"
    assert int(claim["expiration"]["N"]) < 4102444800


def test_a_forged_audit_record_behind_a_forged_claim_is_checked_not_trusted(twin):
    """The attacker writes a claim inside the window for a made-up finding and that finding's audit
    record, saying it fixed the bucket: the refused claim names the holder (no read of its own), the
    holder's record is read, and the bucket is re-read and fixed again, HIGH."""
    import time

    dynamodb = twin.client("dynamodb")
    now = int(time.time())
    dynamodb.put_item(TableName=twin.physical["DedupeTable"], Item={
        "id": {"S": claim_key()}, "finding_id": {"S": "mallory-fixed-it"}, "claimed_at": {"N": str(now)}, "expiration": {"N": str(now + 60)}})  # fmt: skip
    dynamodb.put_item(TableName=twin.physical["AuditTable"], Item={
        "finding_id": {"S": "mallory-fixed-it"}, "resource_arn": {"S": f"arn:aws:s3:::{S.TRAINING_BUCKET}"}, "recorded_at": {"S": "2026-12-01T00:00:00.000+00:00"},
        "decision": {"S": "enforce"}, "outcome": {"S": "remediated"}, "applied": {"S": '["s3:PutBucketPublicAccessBlock"]'},
        "updated_at": {"S": "2026-12-01T00:00:00.000+00:00"}})  # fmt: skip

    result = twin.send(event(PUBLIC_POLICY))

    assert result.decision == "enforce" and result.status == "SUCCEEDED"
    assert "re-exposed" in result.executions[0].triage["reason"] and "by mallory-fixed-it" in result.executions[0].triage["reason"]
    assert [n["attributes"]["severity"] for n in result.notifications] == ["HIGH"]
    assert not is_public(twin.client("s3"))


# --- part 6: only designated alarms may throttle -------------------------------------------------

REST_ALARM_EVENT = "cloudwatch-alarm-apigw-rest-4xx.json"
PRODUCTION_LIMITS = (500.0, 1000)


def stage_limits(twin) -> tuple[float, int]:
    rest = twin.client("apigateway")
    api_id = next(a["id"] for a in rest.get_rest_apis()["items"] if a["name"] == S.REST_API)
    settings = rest.get_stage(restApiId=api_id, stageName=S.API_STAGE)["methodSettings"]["*/*"]
    return settings["throttlingRateLimit"], settings["throttlingBurstLimit"]


def alarm_event(name: str) -> dict:
    fired = copy.deepcopy(event(REST_ALARM_EVENT))
    fired["id"] = f"alarm-{name}"
    fired["detail"]["alarmName"] = name
    fired["resources"] = [f"arn:aws:cloudwatch:us-east-1:{S.ACCOUNT}:alarm:{name}"]
    return fired


def rest_stage_alarm(twin, name: str, **settings) -> None:
    """The attacker's alarm on the production stage: fires on any traffic."""
    alarm = {"AlarmName": name, "Namespace": "AWS/ApiGateway", "MetricName": "4XXError", "Statistic": "Sum", "Period": 60,
             "EvaluationPeriods": 1, "Threshold": -1, "ComparisonOperator": "GreaterThanThreshold",
             "Dimensions": [{"Name": "ApiName", "Value": S.REST_API}, {"Name": "Stage", "Value": S.API_STAGE}], **settings}  # fmt: skip
    cloudwatch = twin.client("cloudwatch")
    cloudwatch.put_metric_alarm(**alarm)
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="threshold -1")


def test_cloudwatch_an_alarm_named_like_warden_s_does_not_throttle_production(twin):
    rest_stage_alarm(twin, "warden-abuse-anything")  # the old AlarmNamePrefix: a name anyone can choose

    result = twin.send(alarm_event("warden-abuse-anything"))

    assert result.decision == "ignored"
    assert "is not one the security team designated" in result.executions[0].triage["reason"]
    assert stage_limits(twin) == PRODUCTION_LIMITS and result.notifications == []


def test_cloudwatch_a_designated_alarm_re_created_with_threshold_minus_one_throttles_nothing(twin):
    twin.client("cloudwatch").delete_alarms(AlarmNames=[S.REST_ALARM])
    rest_stage_alarm(twin, S.REST_ALARM)

    result = twin.send(event(REST_ALARM_EVENT))

    reason = rejected_reason(result)
    assert "its threshold -1 is not above 0" in reason and "nothing was throttled" in reason
    assert stage_limits(twin) == PRODUCTION_LIMITS


def test_cloudwatch_a_designated_alarm_lowered_below_its_pin_or_firing_on_missing_data_throttles_nothing(twin):
    rest_stage_alarm(twin, S.REST_ALARM, Threshold=1)  # PutMetricAlarm changes it in place
    lowered = twin.send(event(REST_ALARM_EVENT))
    rest_stage_alarm(twin, S.REST_ALARM, Threshold=5000, TreatMissingData="breaching")
    breaching = twin.send(alarm_event(S.REST_ALARM))

    assert "its threshold 1 is below the 1000 it was designated with" in rejected_reason(lowered)
    assert "treats missing data as breaching" in rejected_reason(breaching)
    assert stage_limits(twin) == PRODUCTION_LIMITS


def test_cloudwatch_a_designated_alarm_in_alarm_still_throttles_and_escalates_with_the_choice(twin):
    result = twin.send(event(REST_ALARM_EVENT))  # the fixture: one cool-down round, the alarm stays in ALARM

    assert stage_limits(twin) == (10.0, 20)
    remediated, escalated = result.notifications
    assert escalated["attributes"]["outcome"] == "escalated" and escalated["attributes"]["severity"] == "HIGH"
    body = escalated["body"]
    finding_id = result.audit_records[0]["finding_id"]
    assert "It will not lift it by itself: a person decides." in body
    assert "KEEP IT (the abuse goes on)" in body and "LIFT IT (the callers are blocked, or the alarm was wrong)" in body
    assert f"  python -m warden_ops rollback {finding_id}" in body
    assert "aws apigateway update-stage --rest-api-id" in body


# --- part 9: no harm to legitimate change ------------------------------------------------------


def bucket_key(twin, bucket: str) -> str:
    rule = twin.client("s3").get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    return rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]


def test_a_team_moving_its_bucket_from_one_customer_key_to_another_is_left_alone(twin):
    # ml-features-prod is tagged warden:kms-key=<features-bucket-key>; the team moves it to default-key.
    new_key = S.key_arn("default-key")
    encryption = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": new_key},
                             "BucketKeyEnabled": True}]}  # fmt: skip
    twin.client("s3").put_bucket_encryption(Bucket=S.FEATURES_BUCKET, ServerSideEncryptionConfiguration=encryption)
    moved = copy.deepcopy(event("cloudtrail-s3-putbucketencryption-sse-s3.json"))
    moved["detail"]["requestParameters"]["bucketName"] = S.FEATURES_BUCKET

    result = twin.send(moved)

    assert bucket_key(twin, S.FEATURES_BUCKET) == new_key, "not reverted to the tagged key"
    assert result.executions[0].states[-1] == "AlreadyCompliant" and result.notifications == []


def test_a_topic_moved_to_the_aws_managed_key_is_a_downgrade_and_gets_its_customer_key_back(twin):
    topic = f"arn:aws:sns:us-east-1:{S.ACCOUNT}:{S.TOPIC}"
    sns = twin.client("sns")
    sns.set_topic_attributes(TopicArn=topic, AttributeName="KmsMasterKeyId", AttributeValue="alias/aws/sns")
    downgrade = copy.deepcopy(event("cloudtrail-sns-settopicattributes-kms-removed.json"))
    downgrade["detail"]["requestParameters"]["attributeValue"] = "alias/aws/sns"

    result = twin.send(downgrade)

    assert result.decision == "enforce"
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"] == S.key_arn("alerts-topic-key")
    assert "SSE with the AWS-managed alias/aws/sns -> SSE with key" in result.notifications[0]["body"]


def test_iam_a_role_merely_named_like_an_sso_role_is_not_protected(twin):
    iam = twin.client("iam")
    lookalike = "AWSReservedSSO_AdministratorAccess_lookalike"  # at path /, which anyone with IAM can create
    iam.create_role(RoleName=lookalike, AssumeRolePolicyDocument=json.dumps(S.TRUST_EC2))
    iam.attach_role_policy(RoleName=lookalike, PolicyArn=S.ADMIN_POLICY_ARN)

    lookalike_result = twin.send(attach_event(lookalike, S.ADMIN_POLICY_ARN))
    real_result = twin.send(event("cloudtrail-iam-attachrolepolicy-sso-reserved.json"))  # the real one, at its reserved path

    assert lookalike_result.decision == "enforce" and attached(twin, lookalike) == []
    assert real_result.decision == "exempt"
    assert "(path /aws-reserved/sso.amazonaws.com/)" in real_result.executions[0].triage["reason"]


def test_iam_a_protected_user_with_a_path_is_matched():
    from local.twin import Twin

    protected = f"arn:aws:iam::{S.ACCOUNT}:user/ops/breakglass"
    with Twin(parameters={"Mode": "enforce", "IamMode": "enforce", "ProtectedPrincipalArns": protected}, aws_managed_policies=True) as twin:
        iam = twin.client("iam")
        iam.create_user(UserName="breakglass", Path="/ops/")
        iam.attach_user_policy(UserName="breakglass", PolicyArn=S.ADMIN_POLICY_ARN)
        attach = attach_event("unused", S.ADMIN_POLICY_ARN)
        attach["detail"]["eventName"] = "AttachUserPolicy"
        attach["detail"]["requestParameters"] = {"userName": "breakglass", "policyArn": S.ADMIN_POLICY_ARN}

        result = twin.send(attach)

        assert result.decision == "exempt"
        assert f"the fix would change {protected}, a protected principal" in result.executions[0].triage["reason"]
        assert [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName="breakglass")["AttachedPolicies"]] == [S.ADMIN_POLICY_ARN]


def test_a_tag_value_never_becomes_a_live_link_or_mention_in_chat_or_e_mail():
    from local.twin import Twin

    with Twin(parameters={"Mode": "enforce", "NotificationFormat": "chatbot"}) as twin:
        S.exempt_website_bucket(twin.client("s3"))
        twin.client("s3").put_bucket_tagging(Bucket=S.EXEMPT_BUCKET, Tagging={"TagSet": [
            {"Key": "warden:exempt", "Value": "[approve](https://evil.example/approve) <!channel>"}]})  # fmt: skip

        result = twin.send(event("cloudtrail-s3-putbucketpolicy-exempt-bucket.json"))

    (message,) = result.notifications
    chat = json.loads(message["body"])["content"]
    for text in (chat["description"], chat["title"], message["subject"] or ""):
        assert "](" not in text and "https://evil" not in text and "<!channel>" not in text
    assert "[approve] (hxxps://evil.example/approve) \u2039!channel>" in chat["description"], "still readable as text"
