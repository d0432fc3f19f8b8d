"""GET /api/events/{eventId}/leaderboard/me?around=N: my rank and score with N neighbours each side."""

from typing import Annotated

from arena.auth import Audience
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.leaderboard import MyStanding
from arena.services import leaderboard as service
from aws_lambda_powertools.event_handler.openapi.params import Query

app = make_resolver()


@app.get(
    "/api/events/<eventId>/leaderboard/me",
    summary="My rank",
    tags=["leaderboard"],
    responses=error_responses(401, 404, 422),
)
@allow(Audience.PEOPLE)
def get_my_rank(eventId: str, around: Annotated[int, Query(ge=0, le=50)] = 0) -> MyStanding:  # noqa: N803
    return service.my_standing(principal(app), eventId, around)


lambda_handler = lambda_handler_for(app)
