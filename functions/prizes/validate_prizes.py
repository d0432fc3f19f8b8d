"""GET /api/events/{eventId}/prizes/validate: the dry run of the distribution - who gets what, the pool totals, the
treasury and every problem found (admin or its manager). Writes nothing."""

from arena.auth import Role
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.prizes import ValidationResult
from arena.services.distribution import start as service

app = make_resolver()


@app.get(
    "/api/events/<eventId>/prizes/validate",
    summary="Validate the prize distribution (dry run)",
    tags=["prizes"],
    responses=error_responses(401, 403, 404),
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def validate_prizes(eventId: str) -> ValidationResult:  # noqa: N803
    return service.validate_prize_distribution(eventId, principal(app))


lambda_handler = lambda_handler_for(app)
