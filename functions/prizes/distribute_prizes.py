"""POST /api/events/{eventId}/prizes/distribute: start the event's one prize distribution run, or resume it after a
failure (admin or its manager). 201 when this request started the run, 200 when it resumed or found it."""

from arena.auth import Role
from arena.http import allow, error_responses, json_response, lambda_handler_for, make_resolver, principal
from arena.models.prizes import DistributionRun
from arena.services.distribution import start as service
from aws_lambda_powertools.event_handler import Response

app = make_resolver()


@app.post(
    "/api/events/<eventId>/prizes/distribute",
    summary="Distribute the event's prizes",
    tags=["prizes"],
    responses={
        200: {"description": "Run found or resumed", "content": {"application/json": {"model": DistributionRun}}},
        201: {"description": "Run started", "content": {"application/json": {"model": DistributionRun}}},
        **error_responses(401, 403, 404, 409),
    },
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def distribute_prizes(eventId: str) -> Response[DistributionRun]:  # noqa: N803
    run = service.distribute_event_prizes(principal(app), eventId)
    return json_response(201 if run.created else 200, run)


lambda_handler = lambda_handler_for(app)
