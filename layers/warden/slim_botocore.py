"""The layer's botocore keeps the data of the AWS services Warden calls, and only what a client reads.

Run by the layer's Makefile on the installed packages. Every cold start paid for all of botocore's data:
its first client lists every service folder (over 400, once per kind of file), and each client decodes
endpoints.json (1.2 MB: every service's endpoints) and its service's model, of which documentation is
most. What is removed:
- the folders of services not in SERVICES (a client for one of them would raise UnknownServiceError:
  tests/unit/test_aws.py checks that every client Warden creates is for a service listed here);
- the documentation of the kept models' operations and shapes (botocore reads it for docstrings only);
- the indentation of the models and endpoint rule sets (S3's rule set is 0.9 MB indented, 0.1 MB not):
  they are stored as compact, plain JSON, so no cold start decompresses them;
- in endpoints.json, the endpoints of the services removed (looked up by each model's endpoint
  prefix); the partitions and the endpoints of the services kept are unchanged.

usage: python slim_botocore.py SITE_PACKAGES
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

# What warden and functions/ create clients for, and what Powertools uses in them (ssm for the
# settings parameter, dynamodb for Idempotency).
SERVICES = frozenset({
    "apigateway", "apigatewayv2", "bedrock", "cloudtrail", "cloudwatch", "config", "dynamodb", "ec2", "guardduty",
    "iam", "kms", "macie2", "organizations", "s3", "s3control", "sagemaker", "securityhub", "sns", "sqs", "ssm",
    "stepfunctions", "sts",
})  # fmt: skip


def _undocumented(node):
    if isinstance(node, dict):
        return {key: _undocumented(value) for key, value in node.items() if not (key == "documentation" and isinstance(value, str))}
    if isinstance(node, list):
        return [_undocumented(value) for value in node]
    return node


def _without_documentation(model: dict) -> dict:
    """The service's, its operations' and its shapes' documentation removed (botocore reads those only
    for docstrings); elsewhere, as in clientContextParams, botocore requires it: left."""
    model = {key: value for key, value in model.items() if key != "documentation"}
    return {**model, "operations": _undocumented(model["operations"]), "shapes": _undocumented(model["shapes"])}


def slim(data: Path) -> None:
    for folder in data.iterdir():
        if folder.is_dir() and folder.name not in SERVICES:
            shutil.rmtree(folder)
    for packed in data.glob("*/*/*.json.gz"):  # the models and endpoint rule sets
        document = json.loads(gzip.decompress(packed.read_bytes()))
        if packed.name == "service-2.json.gz":
            document = _without_documentation(document)
        packed.with_suffix("").write_text(json.dumps(document, separators=(",", ":")))
        packed.unlink()
    prefixes = {json.loads(model.read_text())["metadata"]["endpointPrefix"] for model in data.glob("*/*/service-2.json")}
    endpoints = json.loads((data / "endpoints.json").read_text())
    for partition in endpoints["partitions"]:
        partition["services"] = {prefix: spec for prefix, spec in partition["services"].items() if prefix in prefixes}
    (data / "endpoints.json").write_text(json.dumps(endpoints, separators=(",", ":")))


if __name__ == "__main__":
    slim(Path(sys.argv[1]) / "botocore" / "data")
