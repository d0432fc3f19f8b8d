"""POST /api/events/{eventId}/participants/{userId}/disqualify: removed from the board at once, with a reason (audited).

Admin, or a manager of the event. Idempotent: repeating it changes nothing.
"""

from arena.auth import Role
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.participants import ModerationRequest, ParticipantOut
from arena.services import moderation as service

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


lambda_handler = lambda_handler_for(app)
