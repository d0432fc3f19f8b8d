"""GET /api/events: the event catalogue, latest start first, optionally by status."""

from typing import Annotated

from arena.auth import Audience
from arena.domain.events import EventStatus
from arena.http import allow, error_responses, lambda_handler_for, make_resolver
from arena.models.events import EventPage
from arena.services import events as service
from aws_lambda_powertools.event_handler.openapi.params import Query

app = make_resolver()


@app.get("/api/events", summary="List events", tags=["events"], responses=error_responses(400, 401, 422))
@allow(Audience.PEOPLE)
def list_events(
    status: Annotated[EventStatus | None, Query(description="Only events in this status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> EventPage:
    return service.list_events(status, limit, cursor)


lambda_handler = lambda_handler_for(app)
