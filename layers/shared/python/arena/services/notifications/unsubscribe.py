"""The unsubscribe link of every email (and its RFC 8058 one-click POST): no sign-in, the signed token names the
user and the type; that type's email is turned off. Idempotent: unsubscribing twice leaves it off."""

from __future__ import annotations

from arena.config import settings
from arena.domain.notifications import Channel
from arena.domain.unsubscribe import read_unsubscribe_token
from arena.errors import BadRequest
from arena.models.notifications import Unsubscribed
from arena.observability import count, logger
from arena.services.notifications import preferences


def unsubscribe(token: str) -> Unsubscribed:
    secret = settings().notifications_signing_secret
    if not secret:
        # A stage without its signing secret cannot tell a real link from a forged one: refuse every token (the
        # person sees "not valid"), and say why where operators look.
        count("UnsubscribeWithoutSecret")
        logger.error("NOTIFICATIONS_SIGNING_SECRET is not set: unsubscribe links cannot be verified")
        raise BadRequest("The unsubscribe link is not valid.", code="invalid_token")
    user_id, kind = read_unsubscribe_token(token, secret)
    preferences.switch_off(user_id, kind, Channel.EMAIL)
    return Unsubscribed(type=kind, channel=Channel.EMAIL, enabled=False)
