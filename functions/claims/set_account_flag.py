"""POST /api/users/{userId}/flag: the exchange sets or clears its flag on an account (service role); a flagged
account's prize claims go to the review queue instead of paying out."""

from typing import Annotated

from arena.auth import Scope
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.claims import AccountFlag, AccountFlagState
from arena.services.claims import flags as service
from aws_lambda_powertools.event_handler.openapi.params import Path

app = make_resolver()


@app.post(
    "/api/users/<userId>/flag",
    summary="Flag or clear an account for claim review",
    tags=["claims"],
    responses=error_responses(401, 403, 422),
)
@allow(Scope.ACCOUNTS_FLAG)
def set_account_flag(userId: Annotated[str, Path(max_length=128)], request: AccountFlag) -> AccountFlagState:  # noqa: N803
    return service.set_flag(principal(app), userId, request)


lambda_handler = lambda_handler_for(app)
