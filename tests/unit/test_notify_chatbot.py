"""NotificationFormat=chatbot: the message in AWS Chatbot's custom notification schema, and still
text for e-mail subscribers."""

from __future__ import annotations

import json

import pytest

from tests.unit.test_notify import EXECUTION, FINDING, STATE
from warden.notify import OUTCOMES, compose, compose_alarm, publish_arguments


def chat_of(arguments: dict) -> dict:
    assert arguments["MessageStructure"] == "json"
    return json.loads(json.loads(arguments["Message"])["default"])


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_every_outcome_fits_the_custom_notification_schema(outcome):
    message = compose(outcome, STATE, EXECUTION)
    chat = chat_of(publish_arguments(message, FINDING, "chatbot"))

    assert (chat["version"], chat["source"]) == ("1.0", "custom")  # required, fixed values
    content = chat["content"]
    assert content["textType"] == "client-markdown"  # the only type Chatbot supports
    assert message.subject in content["title"]
    assert isinstance(content["description"], str) and 0 < len(content["description"]) <= 3500
    assert all(isinstance(step, str) for step in content["nextSteps"])
    assert content["keywords"] == [outcome, message.attributes["severity"], "s3-quarantine-public-bucket"]
    assert set(chat) <= {"version", "source", "id", "content", "metadata"}
    assert set(content) <= {"textType", "title", "description", "nextSteps", "keywords"}
    assert set(chat["metadata"]) <= {"threadId", "summary", "eventType", "relatedResources", "additionalContext"}
    assert chat["metadata"]["threadId"] == FINDING["resource_arn"], "one chat thread per resource"
    assert all(isinstance(v, str) for v in chat["metadata"]["additionalContext"].values())


def test_a_fix_in_chat_reads_like_the_email_with_the_undo_command():
    message = compose("remediated", STATE, EXECUTION)
    chat = chat_of(publish_arguments(message, FINDING, "chatbot"))
    description = chat["content"]["description"]
    assert "*WHAT WARDEN DID* (before -> after)" in description
    assert "`aws s3api delete-public-access-block --bucket b`" in description
    assert chat["content"]["nextSteps"][0] == "Undo: `python -m warden_ops rollback cloudtrail:abc`"
    assert chat["content"]["title"].startswith("[Warden] Fixed: public S3 bucket")


def test_email_subscribers_still_get_the_text_and_filters_still_work():
    message = compose("failed", STATE, EXECUTION)
    arguments = publish_arguments(message, FINDING, "chatbot")
    assert json.loads(arguments["Message"])["email"] == message.body
    assert arguments["MessageAttributes"]["outcome"] == {"DataType": "String", "StringValue": "failed"}
    assert chat_of(arguments)["content"]["title"].startswith(":rotating_light: [Warden] FAILED")


def test_text_is_the_default_and_unchanged():
    message = compose("remediated", STATE, EXECUTION)
    assert publish_arguments(message, FINDING) == {
        "Subject": message.subject, "Message": message.body, "MessageAttributes": message.sns_attributes(),
    }  # fmt: skip


def test_alarms_have_no_finding_and_still_fit():
    message = compose_alarm({"alarmData": {"alarmName": "warden-ExecutionsFailedAlarm", "state": {"value": "ALARM"}}, "region": "eu-west-1"})
    chat = chat_of(publish_arguments(message, None, "chatbot"))
    assert chat["content"]["keywords"] == ["alarm", "HIGH", "none"] and "threadId" not in chat["metadata"]


def test_a_long_message_is_cut_for_chat_and_points_to_the_email():
    state = {**STATE, "result": {"changes": [{**STATE["result"]["changes"][0], "summary": "x" * 5000}]}}
    description = chat_of(publish_arguments(compose("remediated", state, EXECUTION), FINDING, "chatbot"))["content"]["description"]
    assert len(description) <= 3500 and description.endswith("(the e-mail has the full message)")
