"""Event analytics (admins and the events' managers): one event's performance, the dashboard, participation
trends, volume analysis, comparisons, and the per-currency price table prize costs are valued with (admins).

One function serves every route of this module (the stack's resource budget); each route is still its own
HttpApi event. Who sees what: admins every event; event managers the events they manage (per-event routes
answer 403 for another event; cross-event routes list only theirs; a comparison naming another event is 403).
"""

from typing import Annotated

from arena.auth import Role
from arena.domain.rollups import Resolution
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.analytics import (
    Comparison,
    Dashboard,
    EventPerformance,
    ParticipationTrends,
    PriceTable,
    PriceTableUpdate,
    VolumeAnalysis,
)
from arena.models.common import UtcDatetime
from arena.services.analytics import compare as compare_service
from arena.services.analytics import dashboard as dashboard_service
from arena.services.analytics import performance as performance_service
from arena.services.analytics import prices as price_service
from arena.services.analytics import trends as trends_service
from arena.services.analytics import volume as volume_service
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

app = make_resolver()

EventId = Annotated[str, Path(max_length=128)]
From = Annotated[UtcDatetime | None, Query(alias="from", description="Range start (UTC ISO-8601).")]
To = Annotated[UtcDatetime | None, Query(alias="to", description="Range end, exclusive (UTC ISO-8601).")]
Cursor = Annotated[str | None, Query(max_length=4096)]
MANAGERS = (Role.ADMIN, Role.EVENT_MANAGER)


@app.get(
    "/api/events/<eventId>/performance",
    summary="An event's analytics: every metric and its time series",
    tags=["analytics"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(*MANAGERS)
def get_performance(
    eventId: EventId,  # noqa: N803
    resolution: Annotated[Resolution, Query(description="Bucket size of the series.")] = Resolution.HOUR,
    start: From = None,
    end: To = None,
    cursor: Cursor = None,
) -> EventPerformance:
    return performance_service.performance(principal(app), eventId, resolution, start, end, cursor)


@app.get(
    "/api/events/analytics/dashboard",
    summary="Analytics overview: live and recent events, totals, volume per day",
    tags=["analytics"],
    responses=error_responses(400, 401, 403, 422),
)
@allow(*MANAGERS)
def get_dashboard(
    days: Annotated[int, Query(ge=1, le=90, description="Completed events that started this many days back.")] = 30,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    cursor: Cursor = None,
) -> Dashboard:
    return dashboard_service.dashboard(principal(app), days, limit, cursor)


@app.get(
    "/api/events/analytics/participation-trends",
    summary="Participation rate and retention of the events that started in a range",
    tags=["analytics"],
    responses=error_responses(400, 401, 403, 422),
)
@allow(*MANAGERS)
def get_participation_trends(
    start: From = None,
    end: To = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Cursor = None,
) -> ParticipationTrends:
    return trends_service.participation_trends(principal(app), start, end, limit, cursor)


@app.get(
    "/api/events/analytics/volume-analysis",
    summary="Counted volume over a range: series, top pairs, hour of day",
    tags=["analytics"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(*MANAGERS)
def get_volume_analysis(
    start: From = None,
    end: To = None,
    resolution: Annotated[Resolution, Query(description="Bucket size of the series.")] = Resolution.DAY,
    eventId: Annotated[str | None, Query(min_length=1, max_length=128, description="Only this event.")] = None,  # noqa: N803
) -> VolumeAnalysis:
    return volume_service.volume_analysis(principal(app), start, end, resolution, eventId)


@app.get(
    "/api/events/analytics/compare",
    summary="Several events side by side",
    tags=["analytics"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(*MANAGERS)
def get_comparison(
    ids: Annotated[str, Query(min_length=1, max_length=1400, description="2 to 10 event ids, comma-separated.")],
) -> Comparison:
    return compare_service.compare(principal(app), ids)


@app.get(
    "/api/events/analytics/prices",
    summary="The price table prize costs are valued with",
    tags=["analytics"],
    responses=error_responses(401, 403, 422),
)
@allow(Role.ADMIN)
def get_prices() -> PriceTable:
    return price_service.get_prices(principal(app))


@app.put(
    "/api/events/analytics/prices",
    summary="Set the price table (whole table, optimistic version, audited)",
    tags=["analytics"],
    responses=error_responses(400, 401, 403, 409, 422),
)
@allow(Role.ADMIN)
def put_prices(request: PriceTableUpdate) -> PriceTable:
    return price_service.put_prices(principal(app), request)


lambda_handler = lambda_handler_for(app)
