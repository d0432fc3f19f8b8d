"""GET /api/events/{eventId}."""

from arena.auth import Audience
from arena.http import allow, error_responses, lambda_handler_for, make_resolver
from arena.models.events import Event
from arena.services import events as service

app = make_resolver()


@app.get("/api/events/<eventId>", summary="Get an event", tags=["events"], responses=error_responses(401, 404))
@allow(Audience.PEOPLE)
def get_event(eventId: str) -> Event:  # noqa: N803 - the path parameter's name
    return service.get_event(eventId)


lambda_handler = lambda_handler_for(app)
