"""The CloudWatch dashboard in template.yaml is valid JSON and every Warden metric it shows is one the
code really emits, with the same dimensions (CloudWatch shows nothing for a misspelt metric)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from unittest import mock

import pytest
from cfnlint.decode import decode
from moto.s3.exceptions import BucketAccessDeniedError
from moto.s3.models import S3Backend

from local import scenarios
from local.twin import Twin
from tests.conftest import event
from warden.remediations.s3_public import QuarantinePublicBucket

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE, _ = decode(str(ROOT / "template.yaml"))
PUBLIC_POLICY_EVENT = "cloudtrail-s3-putbucketpolicy-public.json"


def dashboard() -> dict:
    body = TEMPLATE["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    used = set(re.findall(r"\$\{([^}]+)\}", body))
    assert used <= {"AWS::Region", "RemediationStateMachine", "LongRunningStateMachine", "DeadLetterQueue.QueueName"}, used
    return json.loads(re.sub(r"\$\{([^}]+)\}", "placeholder", body))


def shown_metrics(body: dict) -> tuple[set, set]:
    """(explicit Warden metrics as (name, dimensions), searched ones as (name, dimension names or None))."""
    explicit, searched = set(), set()
    for widget in body["widgets"]:
        previous = None
        for line in widget.get("properties", {}).get("metrics", []):
            if isinstance(line[0], dict):
                expression = line[0]["expression"]
                name = re.search(r'MetricName=\\?"(\w+)', expression).group(1)
                schema = re.search(r"\{Warden,([\w,]+)\}", expression)
                assert schema or 'Namespace="Warden"' in expression, expression
                searched.add((name, frozenset(schema.group(1).split(",")) if schema else None))
                continue
            fields = [f for f in line if not isinstance(f, dict)]
            if fields == ["..."]:
                fields = previous
            previous = fields
            if fields[0] == "Warden":
                explicit.add((fields[1], frozenset(zip(fields[2::2], fields[3::2]))))
    return explicit, searched


def emitted(twin) -> set:
    found = set()
    for document in twin.emitted_metrics:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "Warden"
            dimensions = frozenset((d, document[d]) for d in directive["Dimensions"][0])
            found |= {(metric["Name"], dimensions) for metric in directive["Metrics"]}
    return found


def on_bucket(name: str, bucket: str, event_id: str) -> dict:
    """A sample event, about another bucket: another API call (its own CloudTrail eventID), not a redelivery."""
    sample = json.loads(json.dumps(event(name)).replace(scenarios.TRAINING_BUCKET, bucket)) | {"id": event_id}
    if "eventID" in sample["detail"]:
        sample["detail"]["eventID"] = event_id
    return sample


def test_the_dashboard_shows_only_metrics_warden_emits():
    # Make Warden emit every kind of metric: a fix, a refused direct invocation, a rejected event, a failed fix, a fix
    # that did not hold, a rejected settings document, and a Security Hub update that failed (the
    # parameter is on, the account's hub is not) (each on its own bucket: no duplicates).
    with Twin(parameters={"Mode": "enforce", "SettingsCacheSeconds": "0", "SecurityHub": "enabled"}) as twin:
        s3 = twin.client("s3")
        for bucket in (scenarios.TRAINING_BUCKET, "second-bucket", "third-bucket", "fourth-bucket"):
            scenarios.public_training_bucket(s3, name=bucket)
        first = twin.send(event(PUBLIC_POLICY_EVENT))
        with pytest.raises(RuntimeError, match="Unauthorized"):  # an input Triage did not authorize
            twin.invoke("S3PublicAccessFunction", {"state": {"finding": first.audit_records[0]["finding"]}, "step": "S3PublicAccess"})
        twin.start_execution({"detail-type": "Totally Unknown", "source": "aws.s3", "detail": {}})
        with mock.patch.object(S3Backend, "put_bucket_acl", side_effect=BucketAccessDeniedError("x")):
            assert twin.send(on_bucket(PUBLIC_POLICY_EVENT, "second-bucket", "a" * 36)).status == "FAILED"
        with mock.patch.object(QuarantinePublicBucket, "exposed_in", return_value=["still public"]):
            assert twin.send(on_bucket(PUBLIC_POLICY_EVENT, "third-bucket", "b" * 36)).status == "FAILED"
        security_hub = twin.send(on_bucket("securityhub-s3-8-bucket-public-access.json", "fourth-bucket", "c" * 36))
        assert "NOT UPDATED" in security_hub.notifications[0]["body"]
        twin.client("ssm").put_parameter(Name=twin.physical["SettingsParameter"], Value="{not json", Type="String", Overwrite=True)
        twin.send(event("config-s3-account-level-public-access-blocks.json"))

    metrics = emitted(twin)
    explicit, searched = shown_metrics(dashboard())

    assert explicit and searched
    missing = {m for m in explicit if m not in metrics}
    assert not missing, f"the dashboard shows metrics nobody emits: {missing}; emitted: {sorted(metrics)}"
    for name, dimension_names in searched:
        matches = [dims for metric, dims in metrics if metric == name]
        assert matches, f"the dashboard searches for {name}, which is never emitted"
        if dimension_names is not None:
            assert any({d for d, _ in dims} == dimension_names for dims in matches), (name, dimension_names, matches)


def test_the_dashboard_covers_findings_outcomes_failures_and_time_to_remediate():
    explicit, searched = shown_metrics(dashboard())
    names = {name for name, _ in explicit | searched}
    assert {"Findings", "Notifications", "Failures", "TimeToRemediate", "Remediations"} <= names
    titles = [w["properties"].get("title", "") for w in dashboard()["widgets"]]
    assert any("Time to remediate" in t for t in titles) and any("Failures" in t for t in titles)
