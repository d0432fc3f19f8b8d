"""Who may do what in an event's chat: the flag, the event, the caller's standing (manager, participant), the
event's chat state (settings, filter) and the caller's mute and ban."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arena import clock
from arena.auth import Principal, Role
from arena.domain import chat as rules
from arena.errors import BadRequest, Forbidden
from arena.flags import Flag, require
from arena.ids import within_id_bound
from arena.models.events import Event
from arena.services import events as event_service
from arena.store import chat as store
from arena.store import participants as participant_store


@dataclass(frozen=True)
class Caller:
    """A caller in one event's chat, with everything a decision needs."""

    principal: Principal
    event: Event
    state: store.ChatState
    is_manager: bool
    is_participant: bool


def _refuse(refusal: rules.Refusal) -> Forbidden:
    return Forbidden(refusal.message, code=refusal.code, details=refusal.details)


def caller(principal: Principal, event_id: str) -> Caller:
    """The flag (off: 404 feature_disabled), the event (404 event_not_found), then the caller's standing."""
    require(Flag.EVENT_CHAT, principal, event_id)
    event = event_service.load(event_id)
    state = store.state(event_id, principal.user_id)
    is_manager = event_service.may_manage(principal, event)
    is_participant = is_manager or participant_store.get(event_id, principal.user_id) is not None
    return Caller(principal, event, state, is_manager, is_participant)


def reader(principal: Principal, event_id: str) -> Caller:
    """A caller who may read the chat (403 with the code and reason otherwise)."""
    who = caller(principal, event_id)
    refusal = rules.reading_refusal(
        settings=who.state.settings, is_manager=who.is_manager, is_participant=who.is_participant, ban=who.state.ban
    )
    if refusal:
        raise _refuse(refusal)
    return who


def writer(principal: Principal, event_id: str) -> Caller:
    """A caller who may post now (403 chat_banned / chat_muted with the reason and until when, ...)."""
    who = caller(principal, event_id)
    refusal = rules.posting_refusal(
        settings=who.state.settings,
        is_manager=who.is_manager,
        is_participant=who.is_participant,
        mute=who.state.mute,
        ban=who.state.ban,
        now=clock.now(),
    )
    if refusal and not principal.is_admin:
        raise _refuse(refusal)
    return who


def moderator(principal: Principal, event_id: str) -> Event:
    """Admins and the event's managers (403 not_event_manager otherwise)."""
    require(Flag.EVENT_CHAT, principal, event_id)
    event = event_service.load(event_id)
    event_service.require_manager(principal, event)
    return event


def principal_of(user_id: str, roles: tuple[str, ...]) -> Principal:
    """The principal a WebSocket connection was opened with (its roles as they were at $connect)."""
    return Principal(user_id=user_id, roles=frozenset(Role(r) for r in roles if r in Role._value2member_map_))


def event_id_of(message: Any) -> str:
    event_id = message.get("event_id") if isinstance(message, dict) else None
    if not within_id_bound(event_id):  # past the bound no event has it: never ask DynamoDB
        raise BadRequest("event_id must be the event's id.", code="invalid_chat_message")
    return event_id
