"""warden.macie's summary of what Macie found in a bucket: categories and counts, never the data,
never the account's own text; and when the check runs at all. Pure: no AWS calls."""

from __future__ import annotations

import copy
import os
from unittest import mock

import pytest

from tests.conftest import event
from warden import macie
from warden.findings import parse_finding

SENSITIVE = event("macie-sensitivedata-s3object-multiple.json")["detail"]
PUBLIC = parse_finding(event("cloudtrail-s3-putbucketpolicy-public.json"))


def test_counts_come_per_category_and_per_managed_identifier_type_over_every_object():
    second = copy.deepcopy(SENSITIVE)
    second["resourcesAffected"]["s3Object"]["key"] = "datasets/2026-11/part-0001.parquet"
    categories, types = macie._category_counts([SENSITIVE, second])
    assert categories == {"PERSONAL_INFORMATION": 2380, "FINANCIAL_INFORMATION": 28}
    assert types == {"NAME": 1600, "EMAIL_ADDRESS": 780, "CREDIT_CARD_NUMBER": 28}


def test_custom_identifiers_are_counted_but_never_named_and_odd_types_are_not_shown():
    finding = copy.deepcopy(SENSITIVE)
    result = finding["classificationDetails"]["result"]
    result["customDataIdentifiers"] = {"totalCount": 7, "detections": [{"name": "Project <Falcon> ids", "count": 7}]}
    result["sensitiveData"][0]["detections"].append({"type": "x; <a href=evil>", "count": 1})
    categories, types = macie._category_counts([finding])
    assert categories["CUSTOM_IDENTIFIER"] == 7
    assert types["OTHER"] == 1
    assert "Falcon" not in repr((categories, types)) and "evil" not in repr((categories, types))


def test_the_tag_value_is_shown_only_with_the_characters_tags_allow():
    assert macie.from_tag({"warden:sensitive-data": "PII: patient records"}) == {"source": "tag", "tag": "PII: patient records"}
    assert macie.from_tag({"warden:sensitive-data": "[click](https://x)\n"})["tag"] == "clickhttps://x"
    assert macie.from_tag({"other": "x"}) is None


@pytest.mark.parametrize(
    "setting, remediation, decision, looks",
    [
        ("enabled", "s3-quarantine-public-bucket", "enforce", True),
        ("enabled", "s3-restore-default-encryption", "approve", True),
        ("enabled", "s3-quarantine-public-bucket", "dry-run", True),
        ("disabled", "s3-quarantine-public-bucket", "enforce", False),  # Macie off: no call at all
        ("enabled", "s3-quarantine-public-bucket", "duplicate", False),  # nothing will be planned
        ("enabled", "s3-quarantine-public-bucket", "exempt", False),
        ("enabled", "s3-quarantine-public-bucket", "wiring-test", False),
        ("enabled", "kms-enable-key-rotation", "enforce", False),  # not a bucket's exposure
    ],
)
def test_the_check_runs_only_with_macie_enabled_for_a_bucket_fix_warden_will_plan(setting, remediation, decision, looks):
    with mock.patch.dict(os.environ, {"WARDEN_MACIE": setting}):
        assert macie.applies(PUBLIC, remediation, decision) is looks


def test_the_message_gives_categories_counts_and_since_when_never_keys_or_paths():
    categories, types = macie._category_counts([SENSITIVE])
    sensitive = {"source": "macie", "objects": 1, "categories": categories, "types": types, "first_reported": "2026-11-28T02:31:18Z",
                 "lookback_days": 30, "macie_findings": [SENSITIVE["id"]], "more": False, "severity_was": "HIGH"}  # fmt: skip
    finding = {**PUBLIC.to_dict(), "severity": "CRITICAL", "details": {"sensitive_data": sensitive}}
    text = "\n".join(macie.describe(finding))
    assert "severity raised from HIGH to CRITICAL" in text
    assert "PERSONAL_INFORMATION: 1190" in text and "CREDIT_CARD_NUMBER 14" in text
    assert f"Exposed since {PUBLIC.time} (cloudtrail PutBucketPolicy)" in text
    assert "part-0000.parquet" not in text and "$.email" not in text
