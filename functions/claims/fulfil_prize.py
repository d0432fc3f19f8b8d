"""POST /api/events/prizes/{prizeId}/fulfil: mark a claimed custom prize delivered, saying what and how (admin)."""

from typing import Annotated

from arena.auth import Role
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.claims import FulfilRequest, PrizeState
from arena.services.claims import fulfilment as service
from aws_lambda_powertools.event_handler.openapi.params import Path

app = make_resolver()


@app.post(
    "/api/events/prizes/<prizeId>/fulfil",
    summary="Mark a custom prize fulfilled",
    tags=["claims"],
    responses=error_responses(401, 403, 404, 409, 422),
)
@allow(Role.ADMIN)
def fulfil_prize(prizeId: Annotated[str, Path(max_length=400)], request: FulfilRequest) -> PrizeState:  # noqa: N803
    return service.fulfil(principal(app), prizeId, request.reason)


lambda_handler = lambda_handler_for(app)
