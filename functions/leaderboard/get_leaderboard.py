"""GET /api/events/{eventId}/leaderboard: ranked entries, best first, cursor-paged, from the snapshot.

Conditional: the ETag names the snapshot generation, the page and its rows as served, so `If-None-Match` gets 304
until they change. Traders are named by handle and name; user ids only for admins, the event's managers and the
service client; the caller's own row says `me`.
"""

from typing import Annotated

from arena.auth import Audience
from arena.http import allow, error_responses, json_response, lambda_handler_for, make_resolver, principal
from arena.models.leaderboard import LeaderboardPage
from arena.services import leaderboard as service
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

app = make_resolver()


@app.get(
    "/api/events/<eventId>/leaderboard",
    summary="Leaderboard",
    tags=["leaderboard"],
    responses={
        304: {"description": "Not modified since the ETag sent in If-None-Match"},
        **error_responses(400, 401, 404, 422),
    },
)
@allow(Audience.PEOPLE)
def get_leaderboard(
    eventId: str,  # noqa: N803
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> Response[LeaderboardPage]:
    if_none_match = app.current_event.headers.get("if-none-match")
    result = service.leaderboard_page(eventId, limit, cursor, if_none_match, principal(app))
    return json_response(200, result.body, result.headers)


lambda_handler = lambda_handler_for(app)
