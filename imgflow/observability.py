"""Powertools Logger, Tracer and Metrics shared by every handler (one service name: imgflow)."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="imgflow")
tracer = Tracer(service="imgflow")
metrics = Metrics(namespace="imgflow", service="imgflow")
