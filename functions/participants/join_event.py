"""POST /api/events/{eventId}/join: 201 when joined now, 200 when already a participant (safe to retry).
`?ref=<code>`: the referral code of the share link that brought the caller."""

from typing import Annotated

from arena.auth import Role
from arena.http import allow, error_responses, json_response, lambda_handler_for, make_resolver, principal
from arena.models.participants import ParticipantOut
from arena.services import participation as service
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

app = make_resolver()

ReferralCode = Annotated[str | None, Query(max_length=32)]


@app.post(
    "/api/events/<eventId>/join",
    summary="Join an event",
    tags=["participants"],
    responses={
        200: {"description": "Already joined", "content": {"application/json": {"model": ParticipantOut}}},
        201: {"description": "Joined", "content": {"application/json": {"model": ParticipantOut}}},
        **error_responses(401, 403, 404, 409),
    },
)
@allow(Role.USER)
def join_event(eventId: str, ref: ReferralCode = None) -> Response[ParticipantOut]:  # noqa: N803
    result = service.join_event(principal(app), eventId, ref)
    return json_response(201 if result.created else 200, result.participant)


lambda_handler = lambda_handler_for(app)
