"""POST /api/events/prizes/{prizeId}/claim: claim one of my prizes before its deadline. Points are credited, a token
payout is requested, a custom prize waits for an admin - or the claim is held for review. With an Idempotency-Key
header a repeat returns the first answer; the same key with another request is refused (422)."""

from typing import Annotated

from arena.auth import Audience
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.claims import ClaimRequest, ClaimResult
from arena.services.claims import claiming as service
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path

app = make_resolver()


@app.post(
    "/api/events/prizes/<prizeId>/claim",
    summary="Claim a prize",
    tags=["claims"],
    responses=error_responses(401, 403, 404, 409, 422, 429),
)
@allow(Audience.PEOPLE)
def claim_prize(
    prizeId: Annotated[str, Path(max_length=400)],  # noqa: N803
    request: Annotated[ClaimRequest | None, Body()] = None,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> ClaimResult:
    return service.claim(principal(app), prizeId, request, idempotency_key, app.lambda_context)


lambda_handler = lambda_handler_for(app)
