"""NotificationFormat=chatbot on the twin: the topic's subscribers other than e-mail (here the
twin's SQS inbox, in production AWS Chatbot) get the custom notification JSON."""

from __future__ import annotations

import json

from local import scenarios
from local.twin import Twin
from tests.conftest import event


def test_chat_subscribers_get_the_custom_notification_schema():
    with Twin(parameters={"Mode": "enforce", "NotificationFormat": "chatbot"}) as twin:
        scenarios.public_training_bucket(twin.client("s3"))
        result = twin.send(event("cloudtrail-s3-putbucketpolicy-public.json"))

    (message,) = result.notifications
    chat = json.loads(message["body"])
    assert (chat["version"], chat["source"], chat["content"]["textType"]) == ("1.0", "custom", "client-markdown")
    assert chat["content"]["title"] == message["subject"] == "[Warden] Fixed: public S3 bucket ml-training-data-prod"
    assert "*WHAT WARDEN DID* (before -> after)" in chat["content"]["description"]
    assert chat["metadata"]["threadId"] == "arn:aws:s3:::ml-training-data-prod"
    assert message["attributes"]["outcome"] == "remediated", "filter policies keep working"
