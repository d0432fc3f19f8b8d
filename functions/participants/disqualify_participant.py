"""POST /api/events/{eventId}/participants/{userId}/disqualify: removed from the board at once, with a reason (audited).
GET /api/events/{eventId}/participants/audit: the event's moderation trail (disqualifications and reinstatements).

Admin, or a manager of the event. Idempotent: repeating a disqualification changes nothing. The trail is served
here rather than by a function of its own (the stack's resource budget).
"""

from typing import Annotated

from arena.auth import Role
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.common import AuditPage
from arena.models.participants import ModerationRequest, ParticipantOut
from arena.services import moderation as service
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

app = make_resolver()


@app.post(
    "/api/events/<eventId>/participants/<userId>/disqualify",
    summary="Disqualify a participant",
    tags=["participants"],
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def disqualify_participant(eventId: str, userId: str, request: ModerationRequest) -> ParticipantOut:  # noqa: N803
    return service.disqualify(principal(app), eventId, userId, request)


@app.get(
    "/api/events/<eventId>/participants/audit",
    summary="The event's participant moderation trail (newest first)",
    tags=["participants"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def get_participants_audit(
    eventId: Annotated[str, Path(max_length=128)],  # noqa: N803
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> AuditPage:
    return service.trail(principal(app), eventId, limit, cursor)


lambda_handler = lambda_handler_for(app)
