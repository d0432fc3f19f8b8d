"""Community and sharing routes: my profile (read, opt in or out), public profiles, follows, share links, the public
share pages (Open Graph / X card tags) and their PNG cards (no sign-in), and an event's referral counts (admins,
the event's managers).

One function serves every route of this module (the parent stack's resource budget); each route is still its own
HttpApi event in template.yaml.
"""

from typing import Annotated

from arena.auth import Audience, Role
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.community import (
    Followed,
    FollowingList,
    MyProfile,
    ProfileUpdate,
    PublicProfile,
    ReferralCounts,
    ShareLink,
)
from arena.services import community
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

app = make_resolver()

EventId = Annotated[str, Path(max_length=128)]
Handle = Annotated[str, Path(max_length=64)]
Ref = Annotated[str | None, Query(max_length=32)]
NO_CONTENT: dict[int, OpenAPIResponse] = {204: {"description": "Done; nothing to answer", "content": {}}}
# Public and cacheable for a minute: a card follows the trader's rank (and their privacy choice) within that.
PUBLIC_HEADERS = {"Cache-Control": "public, max-age=60", "X-Content-Type-Options": "nosniff"}
PNG: dict[int, OpenAPIResponse] = {200: {"description": "The card, 1200 x 630", "content": {"image/png": {}}}}
HTML: dict[int, OpenAPIResponse] = {200: {"description": "The share page", "content": {"text/html": {}}}}


@app.get("/api/me/profile", summary="My profile and referral code", tags=["community"], responses=error_responses(401))
@allow(Audience.PEOPLE)
def get_my_profile() -> MyProfile:
    return community.my_profile(principal(app))


@app.put(
    "/api/me/profile",
    summary="Opt in to (or out of) a public profile; at once",
    tags=["community"],
    responses=error_responses(400, 401, 404, 422),
)
@allow(Audience.PEOPLE)
def put_my_profile(request: ProfileUpdate) -> MyProfile:
    return community.update_profile(principal(app), request)


@app.get(
    "/api/traders/<handle>",
    summary="A public trader profile",
    tags=["community"],
    responses=error_responses(401, 404),
)
@allow(Audience.PEOPLE)
def get_trader(handle: Handle) -> PublicProfile:
    return community.public_profile(handle)


@app.put(
    "/api/me/following/<handle>",
    summary="Follow a public trader",
    tags=["community"],
    responses=error_responses(400, 401, 404),
)
@allow(Audience.PEOPLE)
def follow_trader(handle: Handle) -> Followed:
    return community.follow(principal(app), handle)


@app.delete(
    "/api/me/following/<handle>",
    summary="Stop following a trader (idempotent)",
    tags=["community"],
    responses={**NO_CONTENT, **error_responses(401, 404)},
)
@allow(Audience.PEOPLE)
def unfollow_trader(handle: Handle) -> Response[None]:
    community.unfollow(principal(app), handle)
    return Response(status_code=204)


@app.get(
    "/api/me/following",
    summary="The traders I follow, with their current ranks",
    tags=["community"],
    responses=error_responses(401, 404),
)
@allow(Audience.PEOPLE)
def get_following() -> FollowingList:
    return community.following(principal(app))


@app.get(
    "/api/events/<eventId>/share/me",
    summary="My share link and card for an event I joined (with my referral code)",
    tags=["community"],
    responses=error_responses(401, 404),
)
@allow(Audience.PEOPLE)
def get_my_share_link(eventId: EventId) -> ShareLink:  # noqa: N803
    return community.my_share_link(principal(app), eventId)


@app.get(
    "/api/events/<eventId>/share/podium",
    summary="The share link and card of an event's podium",
    tags=["community"],
    responses=error_responses(401, 404),
)
@allow(Audience.PEOPLE)
def get_podium_share_link(eventId: EventId) -> ShareLink:  # noqa: N803
    return community.podium_share_link(eventId)


@app.get(
    "/api/events/<eventId>/referrals",
    summary="How many invitees joined this event through whose share links",
    tags=["community"],
    responses=error_responses(401, 403, 404),
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def get_referrals(eventId: EventId) -> ReferralCounts:  # noqa: N803
    return community.referral_counts(principal(app), eventId)


@app.get(
    "/api/share/traders/<handle>/events/<eventId>",
    summary="A trader's share page (Open Graph and X card tags; no sign-in)",
    tags=["community"],
    responses={**HTML, **error_responses(404, 422)},
)
@allow(Audience.ANYONE)
def get_rank_share_page(handle: Handle, eventId: EventId, ref: Ref = None) -> Response[str]:  # noqa: N803
    page = community.rank_card_page(handle, eventId, ref)
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=page, headers=PUBLIC_HEADERS)


@app.get(
    "/api/share/traders/<handle>/events/<eventId>/card.png",
    summary="A trader's share card (PNG; no sign-in)",
    tags=["community"],
    responses={**PNG, **error_responses(404)},
)
@allow(Audience.ANYONE)
# No return annotation: Powertools would validate (and so decode) the PNG's bytes as the declared type.
def get_rank_card(handle: Handle, eventId: EventId):  # noqa: N803
    png = community.rank_card_png(handle, eventId)
    return Response(status_code=200, content_type="image/png", body=png, headers=PUBLIC_HEADERS)


@app.get(
    "/api/share/events/<eventId>",
    summary="An event's podium share page (Open Graph and X card tags; no sign-in)",
    tags=["community"],
    responses={**HTML, **error_responses(404, 422)},
)
@allow(Audience.ANYONE)
def get_podium_share_page(eventId: EventId, ref: Ref = None) -> Response[str]:  # noqa: N803
    page = community.podium_card_page(eventId, ref)
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=page, headers=PUBLIC_HEADERS)


@app.get(
    "/api/share/events/<eventId>/podium.png",
    summary="An event's podium card (PNG; no sign-in)",
    tags=["community"],
    responses={**PNG, **error_responses(404)},
)
@allow(Audience.ANYONE)
def get_podium_card(eventId: EventId):  # noqa: N803
    png = community.podium_card_png(eventId)
    return Response(status_code=200, content_type="image/png", body=png, headers=PUBLIC_HEADERS)


lambda_handler = lambda_handler_for(app)
