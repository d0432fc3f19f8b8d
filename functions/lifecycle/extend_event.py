"""POST /api/events/{eventId}/extend: move the end of an event that has not ended later (admin or its manager;
reason audited). The end schedule moves with it."""

from arena.auth import Role
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.events import Event
from arena.models.lifecycle import EventExtend
from arena.services import lifecycle as service

app = make_resolver()


@app.post("/api/events/<eventId>/extend", summary="Extend an event", tags=["lifecycle"], responses=error_responses())
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def extend_event(eventId: str, request: EventExtend) -> Event:  # noqa: N803
    return service.extend(principal(app), eventId, request)


lambda_handler = lambda_handler_for(app)
