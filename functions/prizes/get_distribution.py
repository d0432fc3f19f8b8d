"""GET /api/events/{eventId}/prizes/distribution: the distribution run's status and per-batch progress (admin or
its manager)."""

from arena.auth import Role
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.prizes import DistributionStatus
from arena.services.distribution import views as service

app = make_resolver()


@app.get(
    "/api/events/<eventId>/prizes/distribution",
    summary="The prize distribution's status",
    tags=["prizes"],
    responses=error_responses(401, 403, 404),
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def get_distribution(eventId: str) -> DistributionStatus:  # noqa: N803
    return service.distribution_status(eventId, principal(app))


lambda_handler = lambda_handler_for(app)
