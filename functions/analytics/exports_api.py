"""Analytics exports: POST /api/events/analytics/export starts an asynchronous job (202 with its id), and
GET /api/events/analytics/exports/{exportId} reports it, with presigned download links once it has succeeded.

One function serves both routes (the stack's resource budget); the worker is RunExportFunction (run_export.py).
"""

from typing import Annotated

from arena.auth import Role
from arena.http import allow, error_responses, json_response, lambda_handler_for, make_resolver, principal
from arena.models.exports import ExportJob, ExportRequest
from arena.services import exports as service
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

app = make_resolver()

ExportId = Annotated[str, Path(max_length=128)]


@app.post(
    "/api/events/analytics/export",
    summary="Export events' analytics to files (asynchronous)",
    tags=["analytics"],
    responses={
        202: {"description": "Job accepted: poll its status", "content": {"application/json": {"model": ExportJob}}},
        **error_responses(400, 401, 403, 404, 422),
    },
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def request_export(request: ExportRequest) -> Response[ExportJob]:
    return json_response(202, service.request_export(principal(app), request))


@app.get(
    "/api/events/analytics/exports/<exportId>",
    summary="An export job's status and download links",
    tags=["analytics"],
    responses=error_responses(401, 403, 404),
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def get_export(exportId: ExportId) -> ExportJob:  # noqa: N803
    return service.get_export(principal(app), exportId)


lambda_handler = lambda_handler_for(app)
