"""The one Logger (and later Metrics/Tracer) every function shares."""

from aws_lambda_powertools import Logger

logger = Logger(service="arena")
