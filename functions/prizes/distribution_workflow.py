"""The tasks of the prize-distribution workflow (statemachine/distribution.asl.json): Validate, Freeze results,
Calculate, Distribute a batch, Verify, Complete and, on any failure, Rollback.

Input: {"step": ..., "event_id": ..., "batch_index"?: n, "error"?: {"Error", "Cause"}}. Every task is idempotent:
Step Functions runs each at least once (retries, redrives), and a repeat finds its work done and writes nothing.
A failure raises: Step Functions sees the exception's class name (DistributionInvalid, DistributionMismatch...) as
the error it retries or catches.
"""

from typing import Any

from arena.observability import entry_point, workflow_execution_id
from arena.services.distribution import workflow as distribution


@entry_point(correlation=workflow_execution_id)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return distribution.run_step(event)
