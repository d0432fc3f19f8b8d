"""POST /api/events/{eventId}/cancel."""

from arena.auth import Role
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.events import Event, EventCancel
from arena.services import events as service

app = make_resolver()


@app.post("/api/events/<eventId>/cancel", summary="Cancel an event", tags=["events"], responses=error_responses())
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def cancel_event(eventId: str, request: EventCancel) -> Event:  # noqa: N803
    return service.cancel_event(principal(app), eventId, request)


lambda_handler = lambda_handler_for(app)
