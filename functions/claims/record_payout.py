"""POST /api/events/prizes/payouts/{payoutId}: the exchange's wallet service confirms (PAID) or fails (FAILED) a
token payout it was asked for by PayoutRequested (service role). Idempotent."""

from typing import Annotated

from arena.auth import Scope
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.claims import PayoutOutcome, PrizeState
from arena.services.claims import payouts as service
from aws_lambda_powertools.event_handler.openapi.params import Path

app = make_resolver()


@app.post(
    "/api/events/prizes/payouts/<payoutId>",
    summary="Record a token payout's outcome",
    tags=["claims"],
    responses=error_responses(401, 403, 404, 409, 422),
)
@allow(Scope.PAYOUTS_CALLBACK)
def record_payout(payoutId: Annotated[str, Path(max_length=400)], request: PayoutOutcome) -> PrizeState:  # noqa: N803
    return service.payout_outcome(principal(app), payoutId, request)


lambda_handler = lambda_handler_for(app)
