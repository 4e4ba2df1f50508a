"""warden_ops.accounts on moto: which credentials an operator command acts with in a member account."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from warden_ops.accounts import member_credentials

HOME, MEMBER = "123456789012", "111122223333"  # moto's default account is the operator's


class _Here:
    def client(self, service: str):
        return boto3.client(service, region_name="us-east-1")


@pytest.fixture
def here(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        yield _Here()


def test_a_record_in_your_own_account_uses_your_own_credentials(here):
    assert member_credentials(here, HOME, "finding f") is None


def test_a_member_record_without_an_option_is_one_line_naming_the_account(here):
    with pytest.raises(ValueError) as error:
        member_credentials(here, MEMBER, "finding cloudtrail:e1")
    assert str(error.value) == (
        f"finding cloudtrail:e1 is in account {MEMBER} and your credentials are for account {HOME}: pass --member-role ROLE "
        "(a role you may assume there, e.g. OrganizationAccountAccessRole) or --member-profile PROFILE"
    )


def test_member_role_is_assumed_in_the_records_account_with_your_credentials(here):
    key, secret, token = member_credentials(here, MEMBER, "finding f", member_role="OrganizationAccountAccessRole")
    identity = boto3.client("sts", region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret,
                            aws_session_token=token).get_caller_identity()  # fmt: skip
    assert identity["Account"] == MEMBER
    assert identity["Arn"].startswith(f"arn:aws:sts::{MEMBER}:assumed-role/OrganizationAccountAccessRole/warden-ops-")


def test_a_member_role_that_is_not_a_role_name_is_refused_before_any_call(here):
    with pytest.raises(ValueError, match="--member-role takes a role name"):
        member_credentials(here, MEMBER, "finding f", member_role="arn:aws:iam::111122223333:role/x*")


def test_a_member_profile_for_another_account_is_refused(here, tmp_path, monkeypatch):
    credentials = tmp_path / "credentials"
    credentials.write_text("[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = x\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    with pytest.raises(ValueError) as error:
        member_credentials(here, MEMBER, "finding f", member_profile="other")
    assert str(error.value) == f"--member-profile other is for account {HOME}, but finding f is in account {MEMBER}"
