"""GET /api/events/{eventId}/participants/me: my totals in an event."""

from arena.auth import Audience
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.participants import ParticipantOut
from arena.services import participation as service

app = make_resolver()


@app.get(
    "/api/events/<eventId>/participants/me",
    summary="My participation",
    tags=["participants"],
    responses=error_responses(401, 404),
)
@allow(Audience.PEOPLE)
def get_my_participation(eventId: str) -> ParticipantOut:  # noqa: N803
    return service.my_participation(principal(app), eventId)


lambda_handler = lambda_handler_for(app)
