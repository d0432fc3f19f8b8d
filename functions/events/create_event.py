"""POST /api/events: an admin or event manager creates a competition."""

from arena.auth import Role
from arena.http import allow, error_responses, json_response, lambda_handler_for, make_resolver, principal
from arena.models.events import Event, EventCreate
from arena.services import events as service
from aws_lambda_powertools.event_handler import Response

app = make_resolver()


@app.post(
    "/api/events",
    summary="Create an event",
    tags=["events"],
    responses={201: {"description": "Created", "content": {"application/json": {"model": Event}}}, **error_responses()},
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def create_event(request: EventCreate) -> Response[Event]:
    return json_response(201, service.create_event(principal(app), request))


lambda_handler = lambda_handler_for(app)
