"""Event chat over HTTP: history and posting for people, reactions and reports, and moderation for admins and
the event's managers (mute, ban, word filter, pins, chat settings, the reports queue, the audit). Behind the
`event_chat` feature flag (off: 404 `feature_disabled`). The WebSocket `chat` action posts through the same service.

One function serves every route of the capability (the stack's resource budget).
"""

from typing import Annotated

from arena.auth import Audience, Role
from arena.domain.chat import ReportStatus
from arena.http import allow, error_responses, json_response, lambda_handler_for, make_resolver, principal
from arena.models.chat import (
    BanOut,
    BanRequest,
    ChatHistory,
    ChatMessage,
    ChatPost,
    ChatSettings,
    ChatSettingsOut,
    DeletedMessage,
    Lifted,
    MuteOut,
    MuteRequest,
    ReactionOut,
    ReactionRequest,
    ReportOut,
    ReportPage,
    ReportRequest,
    ReportResolution,
    WordFilter,
    WordFilterOut,
)
from arena.models.common import AuditPage
from arena.services.chat import history, moderation, posting, reports
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

app = make_resolver()

EventId = Annotated[str, Path(max_length=128)]
UserId = Annotated[str, Path(max_length=128)]
MessageId = Annotated[str, Path(max_length=64, pattern=r"^[0-9a-z]+$")]
ReportId = Annotated[str, Path(max_length=64, pattern=r"^[0-9a-z]+$")]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=4096)]
ReasonQuery = Annotated[str | None, Query(max_length=500)]
MODERATORS = (Role.ADMIN, Role.EVENT_MANAGER)

# ---------------------------------------------------------------------------------------------- moderation
# Registered before the {messageId} routes: `/chat/mutes/...` is never read as a message id.


@app.post(
    "/api/events/<eventId>/chat/mutes",
    summary="Mute a user in the event's chat for a time",
    tags=["chat"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(*MODERATORS)
def mute_user(eventId: EventId, request: MuteRequest) -> MuteOut:  # noqa: N803
    return moderation.mute(principal(app), eventId, request)


@app.delete(
    "/api/events/<eventId>/chat/mutes/<userId>",
    summary="Lift a mute",
    tags=["chat"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(*MODERATORS)
def unmute_user(eventId: EventId, userId: UserId, reason: ReasonQuery = None) -> Lifted:  # noqa: N803
    return moderation.unmute(principal(app), eventId, userId, reason)


@app.post(
    "/api/events/<eventId>/chat/bans",
    summary="Ban a user from the event's chat",
    tags=["chat"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(*MODERATORS)
def ban_user(eventId: EventId, request: BanRequest) -> BanOut:  # noqa: N803
    return moderation.ban(principal(app), eventId, request)


@app.delete(
    "/api/events/<eventId>/chat/bans/<userId>",
    summary="Lift a ban",
    tags=["chat"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(*MODERATORS)
def unban_user(eventId: EventId, userId: UserId, reason: ReasonQuery = None) -> Lifted:  # noqa: N803
    return moderation.unban(principal(app), eventId, userId, reason)


@app.get(
    "/api/events/<eventId>/chat/filter",
    summary="The event's word filter",
    tags=["chat"],
    responses=error_responses(401, 403, 404, 422),
)
@allow(*MODERATORS)
def get_word_filter(eventId: EventId) -> WordFilterOut:  # noqa: N803
    return moderation.get_filter(principal(app), eventId)


@app.put(
    "/api/events/<eventId>/chat/filter",
    summary="Set the event's word filter",
    tags=["chat"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(*MODERATORS)
def put_word_filter(eventId: EventId, request: WordFilter) -> WordFilterOut:  # noqa: N803
    return moderation.put_filter(principal(app), eventId, request)


@app.get(
    "/api/events/<eventId>/chat/settings",
    summary="The event's chat settings",
    tags=["chat"],
    responses=error_responses(401, 403, 404, 422),
)
@allow(*MODERATORS)
def get_chat_settings(eventId: EventId) -> ChatSettingsOut:  # noqa: N803
    return moderation.get_settings(principal(app), eventId)


@app.put(
    "/api/events/<eventId>/chat/settings",
    summary="Change the event's chat settings",
    tags=["chat"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(*MODERATORS)
def put_chat_settings(eventId: EventId, request: ChatSettings) -> ChatSettingsOut:  # noqa: N803
    return moderation.put_settings(principal(app), eventId, request)


@app.get(
    "/api/events/<eventId>/chat/audit",
    summary="The chat's moderation audit (newest first): mutes, bans, deletions with their text, filter, pins, reports",
    tags=["chat"],
    responses=error_responses(400, 401, 403, 404),
)
@allow(*MODERATORS)
def get_chat_audit(eventId: EventId, limit: Limit = 50, cursor: Cursor = None) -> AuditPage:  # noqa: N803
    return moderation.trail(principal(app), eventId, limit, cursor)


@app.get(
    "/api/events/<eventId>/chat/reports",
    summary="The reports queue",
    tags=["chat"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(*MODERATORS)
def list_chat_reports(
    eventId: EventId,  # noqa: N803
    status: ReportStatus | None = ReportStatus.OPEN,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ReportPage:
    return reports.list_reports(principal(app), eventId, status, limit, cursor)


@app.post(
    "/api/events/<eventId>/chat/reports/<reportId>/resolve",
    summary="Resolve a report",
    tags=["chat"],
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
@allow(*MODERATORS)
def resolve_chat_report(eventId: EventId, reportId: ReportId, request: ReportResolution) -> ReportOut:  # noqa: N803
    return reports.resolve(principal(app), eventId, reportId, request)


# ---------------------------------------------------------------------------------------------- messages


@app.get(
    "/api/events/<eventId>/chat",
    summary="The event's chat history (newest first)",
    tags=["chat"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(Audience.PEOPLE)
def get_chat(eventId: EventId, limit: Limit = 50, cursor: Cursor = None) -> ChatHistory:  # noqa: N803
    return history.history(principal(app), eventId, limit, cursor)


@app.post(
    "/api/events/<eventId>/chat",
    summary="Post a message",
    tags=["chat"],
    responses={
        201: {"description": "Posted", "content": {"application/json": {"model": ChatMessage}}},
        **error_responses(400, 401, 403, 404, 422),
    },
)
@allow(Audience.PEOPLE)
def post_chat(eventId: EventId, request: ChatPost) -> Response[ChatMessage]:  # noqa: N803
    return json_response(201, posting.post(principal(app), eventId, request.text, request.reply_to))


@app.delete(
    "/api/events/<eventId>/chat/<messageId>",
    summary="Delete a message (its author, the event's moderators)",
    tags=["chat"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(Audience.PEOPLE)
def delete_chat_message(eventId: EventId, messageId: MessageId, reason: ReasonQuery = None) -> DeletedMessage:  # noqa: N803
    return posting.delete(principal(app), eventId, messageId, reason)


@app.post(
    "/api/events/<eventId>/chat/<messageId>/reactions",
    summary="React to a message (once per emoji; remove to take it back)",
    tags=["chat"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(Audience.PEOPLE)
def react_to_chat_message(eventId: EventId, messageId: MessageId, request: ReactionRequest) -> ReactionOut:  # noqa: N803
    return posting.react(principal(app), eventId, messageId, request.emoji, request.remove)


@app.post(
    "/api/events/<eventId>/chat/<messageId>/report",
    summary="Report a message to the moderators",
    tags=["chat"],
    responses={
        201: {"description": "Reported", "content": {"application/json": {"model": ReportOut}}},
        **error_responses(400, 401, 403, 404, 422),
    },
)
@allow(Audience.PEOPLE)
def report_chat_message(eventId: EventId, messageId: MessageId, request: ReportRequest) -> Response[ReportOut]:  # noqa: N803
    return json_response(201, reports.report(principal(app), eventId, messageId, request))


@app.post(
    "/api/events/<eventId>/chat/<messageId>/pin",
    summary="Pin a message",
    tags=["chat"],
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
@allow(*MODERATORS)
def pin_chat_message(eventId: EventId, messageId: MessageId) -> ChatMessage:  # noqa: N803
    return moderation.pin(principal(app), eventId, messageId, True)


@app.delete(
    "/api/events/<eventId>/chat/<messageId>/pin",
    summary="Unpin a message",
    tags=["chat"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(*MODERATORS)
def unpin_chat_message(eventId: EventId, messageId: MessageId) -> ChatMessage:  # noqa: N803
    return moderation.pin(principal(app), eventId, messageId, False)


lambda_handler = lambda_handler_for(app)
