"""Session provider: clients for a finding's account and region, created once per container.

Remediations take an `Aws` instead of global clients, so the same code serves one account and an
organization. For a finding in the stack's own account (always, in single-account mode) the
function's own role acts. For a member account (organization mode, OrganizationId set) the function
assumes its spoke role there (`warden-spoke-<role>`, spoke.yaml), with a session name that names
the finding, and keeps the credentials for their lifetime: one AssumeRole per account and role per
hour at most, whatever the number of findings.
"""

from __future__ import annotations

import os
import re
import time
from functools import lru_cache

import boto3
from botocore.config import Config

# Standard retry mode backs off on throttling, which bursts of events cause. The budget is small on
# purpose: a call that keeps failing must raise its AWS error (which the state machine's Catch and
# the notification name) well before the function's timeout (template.yaml Globals, 30 s) would
# turn it into a bare Lambda timeout. Worst case for one call, with botocore's standard-mode
# backoff (random() * min(2 ** (attempt - 1), 20) s, see botocore/retries/standard.py):
#   3 attempts x (2 s connect + 4 s read) + backoffs of at most 1 s + 2 s = 21 s.
# tests/unit/test_aws.py recomputes this from botocore itself and the template's timeouts.
# More retries are the workflow's job: its Retry clauses (statemachines/remediation.asl.json).
# `total_max_attempts` counts the first attempt; botocore's older `max_attempts` counts only retries.
TOTAL_MAX_ATTEMPTS = 3
CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 4  # the longest wait for response bytes; AWS control-plane calls answer in < 1 s
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": TOTAL_MAX_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
)


_operator_session: boto3.session.Session | None = None


@lru_cache(maxsize=1)
def _session() -> boto3.session.Session:
    # One session per container: its loader caches the parsed service models for every client.
    return _operator_session or boto3.session.Session()


def use_session(session: boto3.session.Session | None) -> None:
    """Make every client come from `session` (an operator command running the library with the
    operator's profile and region), or from the default session again (None)."""
    global _operator_session
    _operator_session = session
    _session.cache_clear()
    reset_clients()


@lru_cache(maxsize=None)
def client(service: str, region: str | None = None):
    """A client for the stack's own region (or `region`), shared by every call in this container."""
    return _session().client(service, region_name=region, config=CLIENT_CONFIG)


SPOKE_ROLE_PREFIX = "warden-spoke-"
# Refresh a member account's credentials this long before they expire (AssumeRole gives one hour).
CREDENTIALS_MARGIN_SECONDS = 300


class Aws:
    """Clients scoped to one account and region: the function's own, or a spoke role's session."""

    def __init__(self, account: str, region: str, credentials: tuple[str, str, str] | None = None):
        self.account = account
        self.region = region
        self.credentials = credentials  # (key id, secret, token) of a spoke role's session, or None

    def client(self, service: str):
        if self.credentials is None:
            return client(service, self.region)
        return _spoke_client(service, self.region, self.credentials)


@lru_cache(maxsize=256)
def _spoke_client(service: str, region: str | None, credentials: tuple[str, str, str]):
    # From the container's one session, so the parsed service models are shared with every client.
    key, secret, token = credentials
    return _session().client(
        service, region_name=region, config=CLIENT_CONFIG,
        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
    )


def own_account() -> str:
    """The account the stack runs in (the hub's, in organization mode)."""
    return os.environ.get("WARDEN_ACCOUNT_ID") or client("sts").get_caller_identity()["Account"]


def organization_mode() -> bool:
    return bool(os.environ.get("WARDEN_ORGANIZATION_ID"))


def for_finding(finding, acting_as: str | None = None) -> Aws:
    """Clients for the finding's account: the function's own role at home, else its spoke role
    `warden-spoke-<acting_as>` there. `acting_as` None means home only (never another account)."""
    if acting_as is None or not organization_mode() or finding.account == own_account():
        return Aws(finding.account, finding.region)
    return Aws(finding.account, finding.region, SPOKE_SESSIONS.get(finding.account, acting_as, finding.id))


class SpokeSessions:
    """Assumed-role credentials per (account, role), reused until shortly before they expire."""

    def __init__(self):
        self._sessions: dict[tuple[str, str], tuple[tuple[str, str, str], float]] = {}
        self.assumed = 0  # AssumeRole calls made
        self.reused = 0  # findings served from the cache

    def get(self, account: str, role: str, finding_id: str) -> tuple[str, str, str]:
        cached = self._sessions.get((account, role))
        if cached and cached[1] - time.time() > CREDENTIALS_MARGIN_SECONDS:
            self.reused += 1
            return cached[0]
        # aws, aws-cn or aws-us-gov: the function's own region's partition (the hub acts within it)
        partition = _session().get_partition_for_region(os.environ.get("AWS_REGION") or _session().region_name or "us-east-1")
        credentials = client("sts").assume_role(
            RoleArn=f"arn:{partition}:iam::{account}:role/{SPOKE_ROLE_PREFIX}{role}",
            RoleSessionName=session_name(finding_id),
        )["Credentials"]
        self.assumed += 1
        keys = (credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])
        self._sessions[(account, role)] = (keys, credentials["Expiration"].timestamp())
        return keys

    def clear(self) -> None:
        self._sessions.clear()
        self.assumed = self.reused = 0


SPOKE_SESSIONS = SpokeSessions()


def session_name(finding_id: str) -> str:
    """`warden-<finding id>` in the characters and length AssumeRole accepts: CloudTrail in the
    member account then names the finding that opened the session."""
    return ("warden-" + re.sub(r"[^\w+=,.@-]", "-", finding_id))[:64]


def reset_clients() -> None:
    """Forget cached clients and sessions (the local twin calls this when it starts a fresh moto)."""
    client.cache_clear()
    _spoke_client.cache_clear()
    SPOKE_SESSIONS.clear()
