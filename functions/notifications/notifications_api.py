"""Notifications routes: a trader's inbox (page, unread count, read, read all), preferences, channel linking
(Discord, Telegram: verified by a code), push devices, the email unsubscribe link (no sign-in: the signed token is
the credential), admin announcements (preview, post, list, delivery counts) and an event's announcements (post,
list, edit, withdraw).

One function serves every route of this module (the stack's resource budget); each route is still its own HttpApi
event in template.yaml.
"""

from html import escape
from typing import Annotated

from arena.auth import Audience, Role
from arena.http import (
    allow,
    error_responses,
    json_response,
    lambda_handler_for,
    make_resolver,
    principal,
    to_json,
)
from arena.models.notifications import (
    UNREAD_CAP,
    Announcement,
    AnnouncementDetail,
    AnnouncementDraft,
    AnnouncementEdit,
    AnnouncementPage,
    AnnouncementPreview,
    ChannelLinkView,
    DeviceRegistration,
    DeviceView,
    EventAnnouncementDraft,
    InboxPage,
    LinkableChannel,
    LinkRequest,
    LinkStarted,
    NotificationChannels,
    NotificationPreferences,
    PreferencesUpdate,
    ReadResult,
    UnreadCount,
    Unsubscribed,
    VerifyCode,
)
from arena.services.notifications import announcements, devices, inbox, linking, preferences, unsubscribe
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

app = make_resolver()

NotificationId = Annotated[str, Path(max_length=128)]
DeviceId = Annotated[str, Path(max_length=128)]
AnnouncementId = Annotated[str, Path(max_length=128)]
EventId = Annotated[str, Path(max_length=128)]
ReasonQuery = Annotated[str | None, Query(min_length=1, max_length=500)]
Cursor = Annotated[str | None, Query(max_length=2048)]
Limit = Annotated[int, Query(ge=1, le=100)]
NO_CONTENT: dict[int, OpenAPIResponse] = {204: {"description": "Done; nothing to answer", "content": {}}}


def _created(model: type[BaseModel]) -> dict[int, OpenAPIResponse]:
    return {201: {"description": "Created", "content": {"application/json": {"model": model}}}}


# ------------------------------------------------------------------------------------------------ inbox


@app.get(
    "/api/me/notifications",
    summary="My in-app notifications, newest first",
    tags=["notifications"],
    responses=error_responses(400, 401, 403, 422),
)
@allow(Audience.PEOPLE)
def list_notifications(cursor: Cursor = None, limit: Limit = 20, unread: Annotated[bool, Query()] = False) -> InboxPage:
    return InboxPage.of(inbox.page(principal(app).user_id, cursor, limit, unread))


@app.get(
    "/api/me/notifications/unread-count",
    summary="How many of my notifications are unread",
    tags=["notifications"],
    responses=error_responses(401, 403),
)
@allow(Audience.PEOPLE)
def unread_count() -> UnreadCount:
    return UnreadCount.of(inbox.unread_count(principal(app).user_id, UNREAD_CAP))


@app.post(
    "/api/me/notifications/<notificationId>/read",
    summary="Mark one notification read",
    tags=["notifications"],
    responses=error_responses(401, 403, 404),
)
@allow(Audience.PEOPLE)
def mark_read(notificationId: NotificationId) -> ReadResult:  # noqa: N803
    inbox.mark_read(principal(app).user_id, notificationId)
    return ReadResult(notification_id=notificationId, read=True)


@app.post(
    "/api/me/notifications/read-all",
    summary="Mark every notification read",
    tags=["notifications"],
    responses={**NO_CONTENT, **error_responses(401, 403)},
)
@allow(Audience.PEOPLE)
def read_all() -> Response[None]:
    inbox.read_all(principal(app).user_id)
    return Response(status_code=204, body=None)


# ------------------------------------------------------------------------------------------------ preferences


@app.get(
    "/api/me/notification-preferences",
    summary="My notification preferences",
    tags=["notifications"],
    responses=error_responses(401, 403),
)
@allow(Audience.PEOPLE)
def get_preferences() -> NotificationPreferences:
    return preferences.read(principal(app).user_id)


@app.put(
    "/api/me/notification-preferences",
    summary="Change my notification preferences",
    tags=["notifications"],
    responses=error_responses(400, 401, 403, 409, 422),
)
@allow(Audience.PEOPLE)
def put_preferences(request: PreferencesUpdate) -> NotificationPreferences:
    return preferences.change(principal(app), request)


# ------------------------------------------------------------------------------------------------ channels


@app.get(
    "/api/me/notification-channels",
    summary="My linked channels and push devices",
    tags=["notifications"],
    responses=error_responses(401, 403),
)
@allow(Audience.PEOPLE)
def list_channels() -> NotificationChannels:
    return linking.channels(principal(app).user_id)


@app.post(
    "/api/me/notification-channels/<channel>",
    summary="Link Discord or Telegram: sends a 6-digit code there",
    tags=["notifications"],
    responses={**_created(LinkStarted), **error_responses(400, 401, 403, 422)},
)
@allow(Audience.PEOPLE)
def link_channel(channel: LinkableChannel, request: LinkRequest) -> Response[LinkStarted]:
    return json_response(201, linking.start(principal(app).user_id, channel, request.address))


@app.post(
    "/api/me/notification-channels/<channel>/verify",
    summary="Verify a channel with the code it received",
    tags=["notifications"],
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
@allow(Audience.PEOPLE)
def verify_channel(channel: LinkableChannel, request: VerifyCode) -> ChannelLinkView:
    return linking.verify(principal(app).user_id, channel, request.code)


@app.delete(
    "/api/me/notification-channels/<channel>",
    summary="Unlink a channel",
    tags=["notifications"],
    responses={**NO_CONTENT, **error_responses(401, 403, 404, 422)},
)
@allow(Audience.PEOPLE)
def unlink_channel(channel: LinkableChannel) -> Response[None]:
    linking.unlink(principal(app).user_id, channel)
    return Response(status_code=204, body=None)


@app.post(
    "/api/me/devices",
    summary="Register a push device",
    tags=["notifications"],
    responses={**_created(DeviceView), **error_responses(400, 401, 403, 422)},
)
@allow(Audience.PEOPLE)
def register_device(request: DeviceRegistration) -> Response[DeviceView]:
    return json_response(201, devices.register(principal(app).user_id, request.platform, request.token))


@app.delete(
    "/api/me/devices/<deviceId>",
    summary="Unregister a push device",
    tags=["notifications"],
    responses={**NO_CONTENT, **error_responses(401, 403, 404)},
)
@allow(Audience.PEOPLE)
def remove_device(deviceId: DeviceId) -> Response[None]:  # noqa: N803
    devices.remove(principal(app).user_id, deviceId)
    return Response(status_code=204, body=None)


# ------------------------------------------------------------------------------------------------ unsubscribe

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Unsubscribed</title></head>
<body><main><h1>You are unsubscribed</h1>
<p>You will no longer receive <strong>{kind}</strong> emails from Arena.</p>
<p>You can turn them back on, and choose every other channel, in your notification settings.</p></main></body></html>
"""
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
UnsubscribeToken = Annotated[str, Query(min_length=1, max_length=1024)]
UNSUBSCRIBE_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "Unsubscribed: a small HTML page, or JSON when the request accepts application/json",
        "content": {"application/json": {"model": Unsubscribed}, "text/html": {}},
    },
    **error_responses(400, 422),
}


def _answer(result: Unsubscribed) -> Response[str]:
    accept = (app.current_event.headers or {}).get("accept") or ""
    if "application/json" in accept and "text/html" not in accept:
        return Response(status_code=200, content_type="application/json", body=to_json(result), headers=PAGE_HEADERS)
    kind = escape(result.type.value.replace("_", " "))
    return Response(
        status_code=200, content_type="text/html; charset=utf-8", body=PAGE.format(kind=kind), headers=PAGE_HEADERS
    )


@app.get(
    "/api/notifications/unsubscribe",
    summary="Unsubscribe from one type of email (the link in every email; no sign-in)",
    tags=["notifications"],
    responses=UNSUBSCRIBE_RESPONSES,
)
@allow(Audience.ANYONE)
def unsubscribe_link(token: UnsubscribeToken) -> Response[str]:
    return _answer(unsubscribe.unsubscribe(token))


@app.post(
    "/api/notifications/unsubscribe",
    summary="One-click unsubscribe (RFC 8058 List-Unsubscribe-Post; no sign-in)",
    tags=["notifications"],
    responses=UNSUBSCRIBE_RESPONSES,
)
@allow(Audience.ANYONE)
def unsubscribe_one_click(token: UnsubscribeToken) -> Response[str]:
    # The mail client's form body (List-Unsubscribe=One-Click) says nothing the token does not: it is not read.
    return _answer(unsubscribe.unsubscribe(token))


# ------------------------------------------------------------------------------------------------ announcements


@app.post(
    "/api/admin/announcements/preview",
    summary="Preview an announcement: each channel's rendering, the audience's size",
    tags=["notifications"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def preview_announcement(request: AnnouncementDraft) -> AnnouncementPreview:
    return announcements.preview(principal(app), request)


@app.post(
    "/api/admin/announcements",
    summary="Post an announcement",
    tags=["notifications"],
    responses={**_created(Announcement), **error_responses(400, 401, 403, 404, 422)},
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def post_announcement(request: AnnouncementDraft) -> Response[Announcement]:
    return json_response(201, announcements.post(principal(app), request))


@app.get(
    "/api/admin/announcements",
    summary="Announcements, newest first",
    tags=["notifications"],
    responses=error_responses(400, 401, 403, 422),
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def list_announcements(cursor: Cursor = None, limit: Limit = 20) -> AnnouncementPage:
    return announcements.list_page(principal(app), limit, cursor)


@app.get(
    "/api/admin/announcements/<announcementId>",
    summary="An announcement and its delivery counts per channel",
    tags=["notifications"],
    responses=error_responses(401, 403, 404),
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def get_announcement(announcementId: AnnouncementId) -> AnnouncementDetail:  # noqa: N803
    return announcements.detail(principal(app), announcementId)


@app.post(
    "/api/events/<eventId>/announcements",
    summary="Announce to an event: pinned in its chat, sent live on event:<id>, in every participant's inbox",
    tags=["notifications"],
    responses={**_created(Announcement), **error_responses(400, 401, 403, 404, 422)},
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def post_event_announcement(eventId: EventId, request: EventAnnouncementDraft) -> Response[Announcement]:  # noqa: N803
    draft = AnnouncementDraft(event_id=eventId, title=request.title, body=request.body, channels=request.channels)
    return json_response(201, announcements.post(principal(app), draft))


@app.get(
    "/api/events/<eventId>/announcements",
    summary="An event's announcements, newest first (withdrawn ones left out)",
    tags=["notifications"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(Audience.PEOPLE)
def list_event_announcements(eventId: EventId, cursor: Cursor = None, limit: Limit = 20) -> AnnouncementPage:  # noqa: N803
    return announcements.event_page(principal(app), eventId, limit, cursor)


@app.patch(
    "/api/events/<eventId>/announcements/<announcementId>",
    summary="Edit an announcement (audited; sent live again)",
    tags=["notifications"],
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def edit_event_announcement(
    eventId: EventId,  # noqa: N803
    announcementId: AnnouncementId,  # noqa: N803
    request: AnnouncementEdit,
) -> Announcement:
    return announcements.edit(principal(app), eventId, announcementId, request)


@app.delete(
    "/api/events/<eventId>/announcements/<announcementId>",
    summary="Withdraw an announcement (audited; unpinned; idempotent)",
    tags=["notifications"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(Role.ADMIN, Role.EVENT_MANAGER)
def withdraw_event_announcement(
    eventId: EventId,  # noqa: N803
    announcementId: AnnouncementId,  # noqa: N803
    reason: ReasonQuery = None,
) -> Announcement:
    return announcements.withdraw(principal(app), eventId, announcementId, reason)


lambda_handler = lambda_handler_for(app)
