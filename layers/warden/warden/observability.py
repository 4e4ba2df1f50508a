"""Powertools Logger, Tracer and Metrics shared by every Warden function (one set per container).

Powertools' Tracer imports the X-Ray SDK even when tracing is disabled, and that import is a large
share of a cold start. So the real Tracer is made only when tracing is on (template parameter
TraceAwsCalls=enabled, which sets POWERTOOLS_TRACE_DISABLED=false, and running in Lambda); otherwise
`tracer` passes the handler through. Lambda's own active tracing records every invocation either way.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

TRUTHY = {"1", "y", "yes", "t", "true", "on"}  # what Powertools reads as true in POWERTOOLS_TRACE_DISABLED


def tracing_on(environ=os.environ) -> bool:
    """Powertools' own rule: on in Lambda (LAMBDA_TASK_ROOT) unless disabled or under `sam local`."""
    disabled = environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in TRUTHY
    return bool(environ.get("LAMBDA_TASK_ROOT")) and not environ.get("AWS_SAM_LOCAL") and not disabled


class TracingOff:
    """The part of Tracer the handlers use, for when tracing is off: the handler runs as it is."""

    @staticmethod
    def capture_lambda_handler(handler):
        return handler


def _tracer():
    if not tracing_on():
        return TracingOff()
    from aws_lambda_powertools import Tracer

    return Tracer(service="warden")


logger = Logger(service="warden")
tracer = _tracer()
metrics = Metrics(namespace="Warden", service="warden")


def outcome_metric(name: str, outcome: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    """One metric whose only dimension is the outcome (the dashboard searches {outcome, service}),
    whichever function tells on-call: a family function's own metrics carry its remediation."""
    with single_metric(name=name, unit=unit, value=value, namespace="Warden", default_dimensions={"service": "warden"}) as metric:
        metric.add_dimension(name="outcome", value=outcome)
