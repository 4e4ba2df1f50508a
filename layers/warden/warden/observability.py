"""Powertools Logger, Tracer and Metrics shared by every Warden function (one set per container)."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="warden")
tracer = Tracer(service="warden")
metrics = Metrics(namespace="Warden", service="warden")
