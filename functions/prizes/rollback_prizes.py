"""POST /api/events/{eventId}/prizes/rollback: reverse the event's prize distribution (admin or its manager; reason
audited). Prizes already paid out are refused and listed; the rest is rolled back. Idempotent."""

from arena.auth import Role
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.prizes import RollbackRequest, RollbackResult
from arena.services.distribution import rollback as service

app = make_resolver()


@app.post(
    "/api/events/<eventId>/prizes/rollback",
    summary="Roll the prize distribution back",
    tags=["prizes"],
    responses=error_responses(401, 403, 404, 409, 422),
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def rollback_prizes(eventId: str, request: RollbackRequest) -> RollbackResult:  # noqa: N803
    return service.rollback_prize_distribution(principal(app), eventId, request.reason)


lambda_handler = lambda_handler_for(app)
