"""The one Logger and Metrics every function shares.

Metrics go out as CloudWatch embedded metric format on stdout, flushed by `metrics.log_metrics` on the handlers
that emit any; POWERTOOLS_METRICS_DISABLED=true (the local stack's default) keeps them off a developer's console.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="arena")
metrics = Metrics(namespace="Arena", service="arena")


def count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
