"""GET /api/events/{eventId}/prizes/users/{userId}: what the user gets, and each prize's status once distributed
(admin or its manager)."""

from arena.auth import Role
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.prizes import UserPrize
from arena.services.distribution import views as service

app = make_resolver()


@app.get(
    "/api/events/<eventId>/prizes/users/<userId>",
    summary="A user's prizes",
    tags=["prizes"],
    responses=error_responses(401, 403, 404, 409),
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def get_user_prize(eventId: str, userId: str) -> UserPrize:  # noqa: N803
    return service.calculate_user_prize(eventId, userId, principal(app))


lambda_handler = lambda_handler_for(app)
