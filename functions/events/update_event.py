"""PATCH /api/events/{eventId}: change an event, with optimistic locking on `version`."""

from arena.auth import Role
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.events import Event, EventPatch
from arena.services import events as service

app = make_resolver()


@app.patch("/api/events/<eventId>", summary="Change an event", tags=["events"], responses=error_responses())
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def update_event(eventId: str, patch: EventPatch) -> Event:  # noqa: N803
    return service.update_event(principal(app), eventId, patch)


lambda_handler = lambda_handler_for(app)
