"""POST /api/events/prizes/{prizeId}/review: approve (pay) or reject (points back to the event's pool) a claim held
for review, with a reason kept in the claim history (admin)."""

from typing import Annotated

from arena.auth import Role
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.claims import PrizeState, ReviewDecision
from arena.services.claims import review as service
from aws_lambda_powertools.event_handler.openapi.params import Path

app = make_resolver()


@app.post(
    "/api/events/prizes/<prizeId>/review",
    summary="Approve or reject a claim in review",
    tags=["claims"],
    responses=error_responses(401, 403, 404, 409, 422),
)
@allow(Role.ADMIN)
def review_claim(prizeId: Annotated[str, Path(max_length=400)], request: ReviewDecision) -> PrizeState:  # noqa: N803
    return service.decide(principal(app), prizeId, request.decision, request.reason)


lambda_handler = lambda_handler_for(app)
