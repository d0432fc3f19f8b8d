"""The export worker: input {"export_id"}, invoked asynchronously by POST /api/events/analytics/export.

Idempotent (services/exports.py `run_export`): conditional status changes, files at keys fixed per job and
dataset, so a retried or duplicated invocation rewrites the same objects and finishes the job once. Raising makes
Lambda retry the invocation (EventInvokeConfig); the last attempt marks the job FAILED first.
"""

from typing import Any

from arena.observability import entry_point, logger
from arena.services import exports


def _export_id(event: Any) -> Any:
    return event.get("export_id") if isinstance(event, dict) else None


@entry_point(correlation=_export_id)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    export_id = str(event["export_id"])
    status = exports.run_export(export_id)
    logger.info("export run", extra={"export_id": export_id, "status": status})
    return {"export_id": export_id, "status": status.value if status else None}
