"""Unsubscribe tokens, pure: the link in every notification email turns that type's email off without signing in,
so the token itself says whose and which type, and an HMAC over both proves Arena made it.

Format: `<user id, base64url>.<type>.<HMAC-SHA256 over "v1|user|type", base64url>` - URL-safe, no padding. Tokens
do not expire: an unsubscribe link must keep working in an old email (RFC 8058 one-click included), and what it
can do is only ever to turn one type's email off for one user. Rotating the secret invalidates old links.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from arena.domain.notifications import NotificationType
from arena.errors import BadRequest

_VERSION = "v1"
# A user id is a Cognito sub (36 characters) or a test's; a bound keeps a forged token cheap to refuse.
MAX_TOKEN_LENGTH = 400


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(user_id: str, kind: str, secret: str) -> bytes:
    if not secret:
        raise RuntimeError("NOTIFICATIONS_SIGNING_SECRET is not set: unsubscribe tokens cannot be made or read")
    message = f"{_VERSION}|{user_id}|{kind}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def unsubscribe_token(user_id: str, kind: NotificationType, secret: str) -> str:
    """The token of an unsubscribe link: turns `kind`'s email off for `user_id`."""
    if not user_id:
        raise ValueError("an unsubscribe token needs a user id")
    kind = NotificationType(kind)
    return f"{_b64(user_id.encode())}.{kind.value}.{_b64(_signature(user_id, kind.value, secret))}"


def _invalid() -> BadRequest:
    return BadRequest("The unsubscribe link is not valid.", code="invalid_token")


def read_unsubscribe_token(token: str, secret: str) -> tuple[str, NotificationType]:
    """(user id, type) of a token `unsubscribe_token` made with the same secret; BadRequest (invalid_token) for
    anything else: malformed, tampered with, or signed with another secret."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise _invalid()
    parts = token.split(".")
    if len(parts) != 3:
        raise _invalid()
    encoded_user, kind, encoded_signature = parts
    try:
        user_id = _unb64(encoded_user).decode("utf-8")
        signature = _unb64(encoded_signature)
    except (binascii.Error, ValueError, UnicodeError):
        raise _invalid() from None
    if not user_id or kind not in {member.value for member in NotificationType}:
        raise _invalid()
    if _b64(user_id.encode()) != encoded_user or _b64(signature) != encoded_signature:
        raise _invalid()  # one token per (user, type): no second spelling of the same bytes
    if not hmac.compare_digest(signature, _signature(user_id, kind, secret)):
        raise _invalid()
    return user_id, NotificationType(kind)
