"""GET /api/events/prizes/reviews: the review queue - claims held for a fraud review, oldest first (admin)."""

from typing import Annotated

from arena.auth import Role
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.claims import ReviewQueue
from arena.services.claims import review as service
from aws_lambda_powertools.event_handler.openapi.params import Query

app = make_resolver()


@app.get(
    "/api/events/prizes/reviews",
    summary="The claim review queue",
    tags=["claims"],
    responses=error_responses(400, 401, 403, 422),
)
@allow(Role.ADMIN)
def list_claim_reviews(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ReviewQueue:
    return service.review_queue(principal(app), limit, cursor)


lambda_handler = lambda_handler_for(app)
