"""GET /api/events/prizes/me: my prizes still open across events - claimable ones first (amount, type, event,
deadline, status), then those in review, awaiting payout or fulfilment."""

from arena.auth import Audience
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.claims import MyPrizes
from arena.services.claims import my_prizes as service

app = make_resolver()


@app.get(
    "/api/events/prizes/me",
    summary="My claimable prizes",
    tags=["claims"],
    responses=error_responses(401),
)
@allow(Audience.PEOPLE)
def get_my_prizes() -> MyPrizes:
    return service.my_prizes(principal(app))


lambda_handler = lambda_handler_for(app)
