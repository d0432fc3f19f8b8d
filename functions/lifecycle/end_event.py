"""POST /api/events/{eventId}/end: end an active event now (admin or its manager; reason audited). Trades executed
before now still count during the grace period."""

from arena.auth import Role
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.events import Event
from arena.models.lifecycle import LifecycleAction
from arena.services import lifecycle as service

app = make_resolver()


@app.post("/api/events/<eventId>/end", summary="End an event now", tags=["lifecycle"], responses=error_responses())
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def end_event(eventId: str, request: LifecycleAction) -> Event:  # noqa: N803
    return service.end_now(principal(app), eventId, request)


lambda_handler = lambda_handler_for(app)
