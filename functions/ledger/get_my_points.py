"""GET /api/users/me/points: my points balance and history (newest first, cursor-paged)."""

from typing import Annotated

from arena.auth import Audience
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.ledger import MyPoints
from arena.services import ledger as service
from aws_lambda_powertools.event_handler.openapi.params import Query

app = make_resolver()


@app.get(
    "/api/users/me/points",
    summary="My points",
    tags=["points"],
    responses=error_responses(400, 401, 422),
)
@allow(Audience.PEOPLE)
def get_my_points(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> MyPoints:
    return service.my_points(principal(app), limit, cursor)


lambda_handler = lambda_handler_for(app)
