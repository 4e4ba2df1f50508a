"""`make deploy` protects the role behind the deployer's session, not the session ARN (issue 11, part 9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import boto3
from moto import mock_aws

from warden_ops.deployer import deployer_arn

ROOT = Path(__file__).resolve().parent.parent.parent
ACCOUNT = "123456789012"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": []})


def test_a_session_becomes_its_roles_arn_with_the_path_iam_has():
    with mock_aws(), mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": "us-east-1"}):
        iam = boto3.client("iam")
        iam.create_role(RoleName="Deployer", Path="/platform/ci/", AssumeRolePolicyDocument=TRUST)
        arn, warning = deployer_arn(
            f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/alice", lambda name: iam.get_role(RoleName=name)["Role"]["Arn"]
        )
    assert arn == f"arn:aws:iam::{ACCOUNT}:role/platform/ci/Deployer" and warning is None


def test_without_iam_get_role_the_path_less_role_arn_is_used_and_said():
    def denied(name):
        raise PermissionError("AccessDenied")

    arn, warning = deployer_arn(f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/alice", denied)
    assert arn == f"arn:aws:iam::{ACCOUNT}:role/Deployer"
    assert "right only if its path is /" in warning


def test_an_iam_user_is_kept_as_it_is():
    assert deployer_arn(f"arn:aws:iam::{ACCOUNT}:user/ops/alice", lambda name: "unused") == (f"arn:aws:iam::{ACCOUNT}:user/ops/alice", None)


def test_the_module_prints_the_arn_make_deploy_passes():
    makefile = (ROOT / "Makefile").read_text()
    assert "DeployerPrincipalArn=$$($(PY) -m warden_ops.deployer)" in makefile
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}  # nothing listens: the command fails with one line and exit 2
    run = subprocess.run([sys.executable, "-m", "warden_ops.deployer"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and run.stderr.startswith("warden_ops.deployer: cannot tell who you are")
    assert "Traceback" not in run.stderr
