"""Event chat on the wire: posts, messages, history, reactions, reports and the moderators' requests."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from arena.domain import chat
from arena.models.common import ApiModel, FreeText, ModerationReason, Note, Reason, UtcDatetime

ChatText = Annotated[str, FreeText(chat.MESSAGE)]
Emoji = Annotated[str, FreeText(chat.REACTION)]
FilterWord = Annotated[str, FreeText(chat.FILTER_WORD)]
MessageId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9a-z]+$")]


class ChatPost(ApiModel):
    text: ChatText = Field(description="Plain text (never HTML: escape it when rendering); up to 1000 characters.")
    reply_to: MessageId | None = Field(default=None, description="The id of the message this one answers.")


class ChatMessage(BaseModel):
    """A message; its author is named by public handle and name (as on leaderboards), never by user id, except to
    admins and the event's managers (who mute and ban by user id)."""

    id: str = Field(description="A ULID: ids sort by the time the message was posted.")
    event_id: str
    author: str | None = Field(description="The author's public handle; null when the community feature is not set up.")
    author_name: str = Field(description="The author's public name (display name if they opted in, else anonymised).")
    mine: bool = Field(default=False, description="True on the caller's own messages (HTTP answers only).")
    user_id: str | None = Field(default=None, description="The author's user id: admins and the event's managers only.")
    text: str = Field(description="Plain text as the author sent it (cleaned by the free-text policy): escape it.")
    created_at: UtcDatetime
    reply_to: str | None = None
    reply_to_author: str | None = Field(default=None, description="The public handle of the author replied to.")
    reply_to_user: str | None = Field(default=None, description="Their user id: admins and the event's managers only.")
    reactions: dict[str, int] = Field(default_factory=dict, description="Emoji -> how many users reacted with it.")
    pinned: bool = False


class ChatHistory(BaseModel):
    items: list[ChatMessage] = Field(description="Newest first.")
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for older messages; null at the end.")
    watching: int = Field(description="WebSocket connections subscribed to chat:<event> now.")
    pinned: list[ChatMessage] = Field(default_factory=list, description="Pinned messages (first page only).")


class ReactionRequest(ApiModel):
    emoji: Emoji
    remove: bool = Field(default=False, description="Take my reaction back instead of adding it.")


class ReactionOut(BaseModel):
    message: ChatMessage
    changed: bool = Field(description="False when the reaction was already as asked (reacting twice counts once).")


class DeletedMessage(BaseModel):
    event_id: str
    message_id: str
    deleted: bool


class ReportRequest(ApiModel):
    reason: Reason


class ReportOut(BaseModel):
    id: str
    event_id: str
    message_id: str
    reporter: str
    reason: str
    created_at: UtcDatetime
    status: chat.ReportStatus
    author: str | None = Field(description="The reported message's author (user id): moderators only; null else.")
    text: str = Field(description="The message as it was reported (kept when the message is deleted).")
    outcome: chat.ReportOutcome | None = None
    resolved_by: str | None = None
    resolved_at: UtcDatetime | None = None
    note: str | None = None


class ReportPage(BaseModel):
    items: list[ReportOut]
    next_cursor: str | None = None


class ReportResolution(ApiModel):
    outcome: chat.ReportOutcome = Field(description="dismissed (the message stays) or deleted (it is removed).")
    note: Note | None = None


class MuteRequest(ApiModel):
    user_id: str = Field(min_length=1, max_length=128)
    minutes: int = Field(ge=1, le=chat.MAX_MUTE_MINUTES)
    reason: ModerationReason


class MuteOut(BaseModel):
    event_id: str
    user_id: str
    until: UtcDatetime
    reason: str
    by: str


class BanRequest(ApiModel):
    user_id: str = Field(min_length=1, max_length=128)
    reason: ModerationReason


class BanOut(BaseModel):
    event_id: str
    user_id: str
    reason: str
    by: str
    at: UtcDatetime


class Lifted(BaseModel):
    event_id: str
    user_id: str
    lifted: bool = Field(description="False when there was nothing to lift.")


class WordFilter(ApiModel):
    words: list[FilterWord] = Field(max_length=chat.MAX_FILTER_WORDS, description="Whole words or phrases.")


class WordFilterOut(BaseModel):
    event_id: str
    words: list[str] = Field(description="Normalised (case-folded, accents stripped), sorted.")


class ChatSettings(ApiModel):
    enabled: bool = True
    read: chat.ReadAccess = chat.ReadAccess.SIGNED_IN
    write: chat.WriteAccess = chat.WriteAccess.PARTICIPANTS


class ChatSettingsOut(BaseModel):
    event_id: str
    enabled: bool
    read: chat.ReadAccess
    write: chat.WriteAccess
