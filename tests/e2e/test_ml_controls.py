"""The ML controls end to end on the twin: SageMaker notebook root access and IMDSv1 fixed in place
(and the notebook started again), direct internet access stopped and left stopped with the recreate
steps, settings that cannot change in place answered with a precise decision, and Bedrock model
invocation logging restored from the configuration Warden saw set.

moto lacks UpdateNotebookInstance and IMDS settings: local/moto_patches.py fills them in."""

from __future__ import annotations

import time

from local import scenarios as S
from local.twin import Twin
from tests.conftest import event

GOOD_LOGGING = event("cloudtrail-bedrock-putmodelinvocationloggingconfiguration.json")["detail"]["requestParameters"]["loggingConfig"]


def notebook(twin, name):
    return twin.client("sagemaker").describe_notebook_instance(NotebookInstanceName=name)


def test_root_access_is_turned_off_in_place_and_the_notebook_runs_again(twin):
    result = twin.send(event("cloudtrail-sagemaker-updatenotebookinstance-rootaccess.json"))

    after = notebook(twin, S.VPC_NOTEBOOK)
    assert (after["RootAccess"], after["NotebookInstanceStatus"]) == ("Disabled", "InService")
    assert after["InstanceMetadataServiceConfiguration"] == {"MinimumInstanceMetadataServiceVersion": "2"}
    (message,) = result.notifications
    assert message["attributes"]["outcome"] == "remediated"
    body = message["body"]
    assert "Notebook updated in place: root access Enabled -> Disabled; instance metadata: IMDSv1 allowed -> IMDSv2 required" in body
    assert "Notebook instance started again: Stopped -> Pending -> InService (it was running before the fix)" in body
    assert [c["action"] for c in result.audit_records[0]["changes"]] == [
        "sagemaker:StopNotebookInstance", "sagemaker:UpdateNotebookInstance", "sagemaker:StartNotebookInstance"]
    assert "recreate" not in body.lower(), "a notebook in a VPC with a key needs nothing recreated"


def test_direct_internet_access_is_stopped_and_left_stopped_with_the_recreate_steps(twin):
    result = twin.send(event("cloudtrail-sagemaker-createnotebookinstance-internet.json"))

    after = notebook(twin, S.NOTEBOOK)
    assert after["NotebookInstanceStatus"] == "Stopped"
    assert after["RootAccess"] == "Disabled", "what can change in place is fixed while it is stopped anyway"
    body = result.notifications[0]["body"]
    assert "The notebook is left stopped: starting it again gives it direct internet access." in body
    assert "Direct internet access and a missing KMS key cannot be changed on an existing notebook: recreate it." in body
    assert "Blast radius: the notebook's URL changes, its ML storage volume (/home/ec2-user/SageMaker) is NOT carried over" in body
    assert "--direct-internet-access Disabled --root-access Disabled --kms-key-id <key ARN>" in body
    assert "sagemaker:StartNotebookInstance" not in [c["action"] for c in result.audit_records[0]["changes"]]


def test_endpoint_config_without_a_key_and_model_without_isolation_need_a_decision(twin):
    config = twin.send(event("cloudtrail-sagemaker-createendpointconfig-no-kms.json"))
    model = twin.send(event("config-sagemaker-model-isolation-enabled.json"))

    for result in (config, model):
        (message,) = result.notifications
        assert message["attributes"] == {"severity": "HIGH", "outcome": "needs-decision", "remediation": "sagemaker-needs-recreate"}
        assert "Nothing was changed. Recreate it:" in message["body"] and "Blast radius:" in message["body"]
    assert (f"aws sagemaker create-endpoint-config --endpoint-config-name {S.UNENCRYPTED_ENDPOINT_CONFIG}-kms --kms-key-id <key ARN>"
            in config.notifications[0]["body"])  # fmt: skip
    assert "runs and bills twice its 2 instance(s)" in config.notifications[0]["body"]
    assert f"--model-name {S.UNISOLATED_MODEL}-isolated --enable-network-isolation" in model.notifications[0]["body"]
    assert twin.client("sagemaker").describe_model(ModelName=S.UNISOLATED_MODEL)["EnableNetworkIsolation"] is False


def test_bedrock_invocation_logging_deleted_or_weakened_is_restored_from_what_warden_saw_set():
    with Twin(parameters={"Mode": "enforce", "DedupeWindowSeconds": "1"}) as twin:
        bedrock = twin.client("bedrock")
        bedrock.put_model_invocation_logging_configuration(loggingConfig=GOOD_LOGGING)
        seen = twin.send(event("cloudtrail-bedrock-putmodelinvocationloggingconfiguration.json"))
        assert seen.decision == "ignored" and seen.notifications == []

        bedrock.delete_model_invocation_logging_configuration()  # the attacker hides their tracks
        deleted = twin.send(event("cloudtrail-bedrock-deletemodelinvocationloggingconfiguration.json"))

        assert bedrock.get_model_invocation_logging_configuration()["loggingConfig"] == GOOD_LOGGING
        (message,) = deleted.notifications
        assert message["attributes"]["outcome"] == "remediated"
        assert "Model invocation logging restored in us-east-1: off -> to s3://ml-audit-logs/bedrock/ (text, image, embedding)" in message["body"]
        assert f"finding {seen.audit_records[0]['finding_id']}" in message["body"]
        assert "aws bedrock delete-model-invocation-logging-configuration" in message["body"], "the undo"

        time.sleep(1.1)  # past the dedupe window
        weakened = {**GOOD_LOGGING, "textDataDeliveryEnabled": False, "imageDataDeliveryEnabled": False, "embeddingDataDeliveryEnabled": False}
        bedrock.put_model_invocation_logging_configuration(loggingConfig=weakened)
        changed = twin.send(event("cloudtrail-bedrock-putmodelinvocationloggingconfiguration-text-off.json"))

        assert changed.notifications[0]["attributes"]["outcome"] == "remediated"
        assert "textDataDeliveryEnabled turned off" in changed.notifications[0]["body"]
        assert bedrock.get_model_invocation_logging_configuration()["loggingConfig"] == GOOD_LOGGING
