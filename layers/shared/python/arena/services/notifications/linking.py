"""Linking Discord (a channel webhook) and Telegram (a chat the bot may write to): the address is checked, a
6-digit code is sent through it at once, and the link is PENDING until the user sends the code back. The code
is stored only as an HMAC (keyed with the signing secret: six digits are too few to hide behind a plain hash),
expires after 15 minutes and allows 5 attempts; a new link request sends a new code and starts over.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from arena import clock
from arena.adapters import discord, telegram
from arena.adapters.chat_http import PermanentFailure, RetryAfter, Sent
from arena.config import settings
from arena.domain.notifications import Channel, LinkStatus
from arena.errors import BadRequest, Conflict, InvalidInput, NotFound, RateLimited
from arena.models.notifications import (
    ChannelLinkView,
    DevicePlatform,
    DeviceView,
    LinkableChannel,
    LinkStarted,
    LinkStatusView,
    NotificationChannels,
)
from arena.store import notifications as store
from arena.store.notifications import ChannelLink

CODE_LIFETIME = timedelta(minutes=15)
MAX_ATTEMPTS = 5
CODE_DIGITS = 6
_TELEGRAM_CHAT = re.compile(r"^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")


def _webhook_prefix() -> str:
    return settings().discord_api_base.rstrip("/") + "/webhooks/"


def checked_address(channel: LinkableChannel, address: str) -> str:
    """The address when it is one this channel sends to; a 422 naming the expected form otherwise."""
    address = address.strip()
    if channel is LinkableChannel.DISCORD:
        prefix = _webhook_prefix()
        if not discord.is_webhook_url(address):
            raise InvalidInput(
                f"A Discord webhook URL looks like {prefix}<id>/<token> (channel settings > Integrations > Webhooks).",
                code="invalid_address",
            )
    elif not _TELEGRAM_CHAT.match(address):
        raise InvalidInput(
            "A Telegram chat id is a number (e.g. 123456789, -1001234567890) or @channelname.",
            code="invalid_address",
        )
    return address


def shown(channel: Channel, address: str) -> str:
    """The address as the API shows it: a Discord webhook's token is a secret (anyone holding it posts there)."""
    if channel is Channel.DISCORD and address.startswith(_webhook_prefix()):
        webhook_id = address[len(_webhook_prefix()) :].split("/", 1)[0]
        return f"{_webhook_prefix()}{webhook_id}/…"
    return address


def _code_hash(user_id: str, channel: Channel, code: str) -> str:
    key = settings().notifications_signing_secret.encode() or b"arena-link-codes"
    return hmac.new(key, f"{user_id}|{channel.value}|{code}".encode(), hashlib.sha256).hexdigest()


def _send_code(channel: LinkableChannel, address: str, code: str) -> None:
    text = f"Your Arena verification code is {code}. It expires in 15 minutes."
    outcome = discord.send(address, text) if channel is LinkableChannel.DISCORD else telegram.send(address, text)
    if isinstance(outcome, Sent):
        return
    if isinstance(outcome, PermanentFailure):
        raise InvalidInput(
            f"{channel.value.title()} refused the message: {outcome.reason}. Check the address and try again.",
            code="channel_refused",
        )
    retry = outcome.seconds if isinstance(outcome, RetryAfter) else None
    raise RateLimited(
        f"{channel.value.title()} is not taking messages right now; try again shortly.",
        code="channel_unavailable",
        details={"retry_after_seconds": retry} if retry is not None else None,
    )


def start(user_id: str, channel: LinkableChannel, address: str) -> LinkStarted:
    """Send a new code to the address and keep the link PENDING (replacing an earlier link of that channel)."""
    address = checked_address(channel, address)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    _send_code(channel, address, code)
    now = clock.now()
    expires_at = now + CODE_LIFETIME
    link = ChannelLink(
        user_id=user_id,
        channel=Channel(channel.value),
        address=address,
        status=LinkStatus.PENDING,
        code_hash=_code_hash(user_id, Channel(channel.value), code),
        code_expires_at=expires_at,
        attempts=0,
        linked_at=None,
    )
    store.put_link(link)
    return LinkStarted(
        channel=channel,
        status=LinkStatusView.PENDING,
        address=shown(link.channel, address),
        code_expires_at=expires_at,
        attempts_allowed=MAX_ATTEMPTS,
    )


def _view(link: ChannelLink) -> ChannelLinkView:
    return ChannelLinkView(
        channel=LinkableChannel(link.channel.value),
        status=LinkStatusView(link.status.value),
        address=shown(link.channel, link.address),
        linked_at=link.linked_at,
    )


def verify(user_id: str, channel: LinkableChannel, code: str) -> ChannelLinkView:
    """Every attempt is counted (atomically) before the code is compared, so concurrent guesses share the 5."""
    linked = Channel(channel.value)
    link = store.get_link(user_id, linked)
    if link is None:
        raise NotFound(f"No {channel.value} link to verify: ask for a code first.", code="no_pending_link")
    if link.status is not LinkStatus.PENDING:
        raise Conflict(f"The {channel.value} link is {link.status.value}: ask for a new code.", code="not_pending")
    attempts = store.count_link_attempt(user_id, linked)
    if attempts is None:  # verified or replaced since it was read
        raise Conflict(f"The {channel.value} link is no longer pending: ask for a new code.", code="not_pending")
    if attempts > MAX_ATTEMPTS:
        raise Conflict("Too many wrong codes: ask for a new one.", code="too_many_attempts")
    now = clock.now()
    if link.code_expires_at is None or now >= link.code_expires_at:
        raise Conflict("The code has expired: ask for a new one.", code="code_expired")
    if not link.code_hash or not hmac.compare_digest(link.code_hash, _code_hash(user_id, linked, code)):
        raise BadRequest(
            "That is not the code we sent.", code="wrong_code", details={"attempts_left": MAX_ATTEMPTS - attempts}
        )
    if not store.verify_link(user_id, linked, now):
        raise Conflict(f"The {channel.value} link is no longer pending: ask for a new code.", code="not_pending")
    return _view(ChannelLink(user_id, linked, link.address, LinkStatus.VERIFIED, linked_at=now))


def unlink(user_id: str, channel: LinkableChannel) -> None:
    if store.get_link(user_id, Channel(channel.value)) is None:
        raise NotFound(f"No {channel.value} link.", code="link_not_found")
    store.delete_link(user_id, Channel(channel.value))


def channels(user_id: str) -> NotificationChannels:
    links = [_view(link) for link in store.links_of(user_id) if link.channel.value in set(LinkableChannel)]
    devices = [
        DeviceView(device_id=d.device_id, platform=DevicePlatform(d.platform), created_at=d.created_at)
        for d in store.devices_of(user_id)
    ]
    return NotificationChannels(links=links, devices=devices)
