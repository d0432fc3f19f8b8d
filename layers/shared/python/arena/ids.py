"""Opaque ids. ULIDs sort by creation time, which keeps lists in a natural order."""

from ulid import ULID

from arena import clock


def new_id() -> str:
    return str(ULID.from_datetime(clock.now())).lower()
