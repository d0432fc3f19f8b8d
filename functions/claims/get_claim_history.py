"""GET /api/events/prizes/history: my claim history - every claim attempt (accepted or refused) and every later
step (review, payout, fulfilment, expiry), newest first, cursor-paged."""

from typing import Annotated

from arena.auth import Audience
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.claims import ClaimHistory
from arena.services.claims import history as service
from aws_lambda_powertools.event_handler.openapi.params import Query

app = make_resolver()


@app.get(
    "/api/events/prizes/history",
    summary="My prize claim history",
    tags=["claims"],
    responses=error_responses(400, 401, 422),
)
@allow(Audience.PEOPLE)
def get_claim_history(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ClaimHistory:
    return service.claim_history(principal(app), limit, cursor)


lambda_handler = lambda_handler_for(app)
