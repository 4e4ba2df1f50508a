"""Session provider: clients for a finding's account and region, created once per container.

Remediations take an `Aws` instead of global clients so the same code can later assume a role
in another account of the organization; today every call runs in the stack's own account.
"""

from __future__ import annotations

from functools import lru_cache

import boto3
from botocore.config import Config

# Standard retry mode backs off on throttling, which bursts of events cause.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=15)


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
