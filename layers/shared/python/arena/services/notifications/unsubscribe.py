"""The unsubscribe link of every email (and its RFC 8058 one-click POST): no sign-in, the signed token names the
user and the type; that type's email is turned off. Idempotent: unsubscribing twice leaves it off."""

from __future__ import annotations

from arena.config import settings
from arena.domain.notifications import Channel
from arena.domain.unsubscribe import read_unsubscribe_token
from arena.models.notifications import Unsubscribed
from arena.services.notifications import preferences


def unsubscribe(token: str) -> Unsubscribed:
    user_id, kind = read_unsubscribe_token(token, settings().notifications_signing_secret)
    preferences.switch_off(user_id, kind, Channel.EMAIL)
    return Unsubscribed(type=kind, channel=Channel.EMAIL, enabled=False)
