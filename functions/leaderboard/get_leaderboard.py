"""GET /api/events/{eventId}/leaderboard: ranked entries, best first, cursor-paged."""

from typing import Annotated

from arena.http import error_responses, lambda_handler_for, make_resolver
from arena.models.leaderboard import LeaderboardPage
from arena.services import leaderboard as service
from aws_lambda_powertools.event_handler.openapi.params import Query

app = make_resolver()


@app.get(
    "/api/events/<eventId>/leaderboard",
    summary="Leaderboard",
    tags=["leaderboard"],
    responses=error_responses(400, 401, 404, 422),
)
def get_leaderboard(
    eventId: str,  # noqa: N803
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> LeaderboardPage:
    return service.leaderboard_page(eventId, limit, cursor)


lambda_handler = lambda_handler_for(app)
