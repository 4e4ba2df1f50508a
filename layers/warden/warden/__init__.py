"""Warden: event-driven auto-remediation for one AWS account. See README.md."""
