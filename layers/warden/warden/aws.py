"""Session provider: clients for a finding's account and region, created once per container.

Remediations take an `Aws` instead of global clients so the same code can later assume a role
in another account of the organization; today every call runs in the stack's own account.
"""

from __future__ import annotations

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


@lru_cache(maxsize=1)
def _session() -> boto3.session.Session:
    # One session per container: its loader caches the parsed service models for every client.
    return boto3.session.Session()


@lru_cache(maxsize=None)
def client(service: str, region: str | None = None):
    """A client for the stack's own region (or `region`), shared by every call in this container."""
    return _session().client(service, region_name=region, config=CLIENT_CONFIG)


class Aws:
    """Clients scoped to one account and region."""

    def __init__(self, account: str, region: str):
        self.account = account
        self.region = region

    def client(self, service: str):
        return client(service, self.region)


def for_finding(finding) -> Aws:
    return Aws(finding.account, finding.region)


def reset_clients() -> None:
    """Forget cached clients (the local twin calls this when it starts a fresh moto account)."""
    client.cache_clear()
