"""Opaque ids. ULIDs sort by creation time, which keeps lists in a natural order."""

from typing import TypeGuard

from ulid import ULID

from arena import clock


def new_id() -> str:
    return str(ULID.from_datetime(clock.now())).lower()


# The one bound on ids a client sends (in a path, a cursor, a WebSocket message): 400 bytes of UTF-8. The longest id
# the system mints is a prize id, the base64 of an event id, a user id and a rule number (4/3 of their length), and
# this leaves it room for user ids of over 250 characters; two ids and their prefixes in one key stay inside
# DynamoDB's key limits (1,024 bytes for a sort key, 2,048 for a partition key).
MAX_ID_BYTES = 400


def within_id_bound(value: object) -> TypeGuard[str]:
    """Whether `value` could be an id: a non-empty string of at most MAX_ID_BYTES bytes of UTF-8."""
    if not isinstance(value, str) or not value:
        return False
    try:
        return len(value.encode("utf-8")) <= MAX_ID_BYTES
    except UnicodeEncodeError:  # a lone surrogate: not text, so no id
        return False
