"""Shared fixtures: the local twin with the demo's scenario, and the parsed sample events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local import scenarios
from local.twin import Twin

EVENTS = Path(__file__).resolve().parent.parent / "events"


def event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def twin():
    """Warden deployed on moto in enforce mode, with the public training bucket, the exempt
    website bucket, the account's public access block off, and the encryption family's resources
    broken as local.scenarios.encryption_turned_off describes."""
    with Twin(parameters={"Mode": "enforce", "DefaultKmsKeyArn": scenarios.key_arn("default-key")}) as deployed:
        scenarios.public_training_bucket(deployed.client("s3"))
        scenarios.exempt_website_bucket(deployed.client("s3"))
        scenarios.account_block_off(deployed.client("s3control"))
        scenarios.encryption_turned_off(deployed.client)
        yield deployed
