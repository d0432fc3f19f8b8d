"""POST /api/events/{eventId}/start: start an upcoming event now (admin or its manager; reason audited)."""

from arena.auth import Role
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.events import Event
from arena.models.lifecycle import LifecycleAction
from arena.services import lifecycle as service

app = make_resolver()


@app.post("/api/events/<eventId>/start", summary="Start an event now", tags=["lifecycle"], responses=error_responses())
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def start_event(eventId: str, request: LifecycleAction) -> Event:  # noqa: N803
    return service.start_now(principal(app), eventId, request)


lambda_handler = lambda_handler_for(app)
