"""Meaningful rank moves between two snapshot generations of an event, for notifications (RanksChanged). Pure.

Only the top of the board is watched: the first `watched_size(prize places)` ranks (prize places + 10, at most
1,000), read further down while the prize zone is not yet covered (unqualified entries have no prize rank, so the
last prize rank can sit below rank K), never past 1,000 entries. Between the window of the previous generation and
the current one, a participant's move is meaningful when they:

* enter or leave the prize zone (prize rank <= prize places),
* enter or leave the top 10 (rank <= 10),
* pass a rival: the participant directly ahead of them at the previous generation is now behind them (both still
  inside the window).

A participant absent from the current window is outside the top 10, and outside the prize zone only when the window
covers the whole zone (`Window.zone_complete`); otherwise whether they left it is unknown and not reported.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

TOP = 10
MAX_WATCHED = 1_000


class Change(StrEnum):
    ENTERED_PRIZE_ZONE = "entered_prize_zone"
    LEFT_PRIZE_ZONE = "left_prize_zone"
    ENTERED_TOP_10 = "entered_top_10"
    LEFT_TOP_10 = "left_top_10"
    PASSED_RIVAL = "passed_rival"


def watched_size(prize_places: int) -> int:
    """How many ranks are watched: every prize place and ten more, at most MAX_WATCHED (and at least the top 10)."""
    return max(TOP, min(prize_places + TOP, MAX_WATCHED))


@dataclass(frozen=True)
class Place:
    user_id: str
    rank: int
    prize_rank: int | None  # None: not qualified


@dataclass(frozen=True)
class Window:
    """The watched top of one generation, best first; `zone_complete`: every prize place's holder is in it (or the
    board has fewer qualified entries than prize places)."""

    generation: int
    places: tuple[Place, ...] = ()
    zone_complete: bool = True

    def to_wire(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "zone_complete": self.zone_complete,
            "places": [[p.user_id, p.rank, p.prize_rank] for p in self.places],
        }

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> Window:
        return cls(
            generation=int(d["generation"]),
            places=tuple(Place(str(u), int(r), None if q is None else int(q)) for u, r, q in d.get("places", [])),
            zone_complete=bool(d.get("zone_complete", True)),
        )


def window_done(read: int, qualified: int, total: int, prize_places: int) -> bool:
    """Whether a window of `read` entries (with `qualified` prize ranks among them, of a board of `total`) needs no
    more: it holds the watched ranks and covers the prize zone, or it reached the board's end or MAX_WATCHED."""
    if read >= total or read >= MAX_WATCHED:
        return True
    return read >= watched_size(prize_places) and qualified >= prize_places


def window_of(generation: int, places: Iterable[Place], total: int, prize_places: int) -> Window:
    """The window made of the entries read (best first, cut at MAX_WATCHED)."""
    kept = tuple(places)[:MAX_WATCHED]
    qualified = sum(1 for p in kept if p.prize_rank is not None)
    return Window(generation, kept, zone_complete=qualified >= prize_places or len(kept) >= total)


@dataclass(frozen=True)
class Move:
    """One participant's meaningful move, with where they were and are (None: outside the watched window)."""

    user_id: str
    changes: tuple[Change, ...]
    rank: int | None
    previous_rank: int | None
    prize_rank: int | None
    previous_prize_rank: int | None
    rival_user_id: str | None = None  # the participant passed (PASSED_RIVAL)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "user_id": self.user_id,
            "changes": [c.value for c in self.changes],
            "rank": self.rank,
            "previous_rank": self.previous_rank,
            "prize_rank": self.prize_rank,
            "previous_prize_rank": self.previous_prize_rank,
        }
        if self.rival_user_id is not None:
            wire["rival_user_id"] = self.rival_user_id
        return wire


def _in_zone(place: Place | None, prize_places: int) -> bool:
    return place is not None and place.prize_rank is not None and place.prize_rank <= prize_places


def _in_top(place: Place | None) -> bool:
    return place is not None and place.rank <= TOP


def moves(previous: Window, current: Window, prize_places: int) -> list[Move]:
    """The meaningful moves from `previous` to `current` (see the module docstring), ordered by current rank (those
    who dropped out of the window last, by previous rank)."""
    before = {p.user_id: p for p in previous.places}
    now = {p.user_id: p for p in current.places}
    ahead = {b.user_id: a.user_id for a, b in zip(previous.places, previous.places[1:], strict=False)}
    found: list[Move] = []
    for user_id in [*now, *(u for u in before if u not in now)]:
        was, is_ = before.get(user_id), now.get(user_id)
        changes: list[Change] = []
        left_zone_known = is_ is not None or current.zone_complete
        if _in_zone(is_, prize_places) and not _in_zone(was, prize_places):
            changes.append(Change.ENTERED_PRIZE_ZONE)
        elif _in_zone(was, prize_places) and not _in_zone(is_, prize_places) and left_zone_known:
            changes.append(Change.LEFT_PRIZE_ZONE)
        if _in_top(is_) and not _in_top(was):
            changes.append(Change.ENTERED_TOP_10)
        elif _in_top(was) and not _in_top(is_):
            changes.append(Change.LEFT_TOP_10)
        rival = ahead.get(user_id)
        rival_now = now.get(rival) if rival is not None else None
        passed = is_ is not None and rival_now is not None and is_.rank < rival_now.rank
        if passed:
            changes.append(Change.PASSED_RIVAL)
        if changes:
            found.append(
                Move(
                    user_id=user_id,
                    changes=tuple(changes),
                    rank=is_.rank if is_ else None,
                    previous_rank=was.rank if was else None,
                    prize_rank=is_.prize_rank if is_ else None,
                    previous_prize_rank=was.prize_rank if was else None,
                    rival_user_id=rival if passed else None,
                )
            )
    return found


def chunks(items: Sequence[dict[str, Any]], max_bytes: int) -> list[list[dict[str, Any]]]:
    """`items` split in order into lists whose compact JSON stays within `max_bytes` (a single item larger than that
    goes alone). Empty input: no chunk."""
    out: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 2  # the list's brackets
    for item in items:
        item_size = len(json.dumps(item, separators=(",", ":")).encode()) + 1  # its comma
        if current and size + item_size > max_bytes:
            out.append(current)
            current, size = [], 2
        current.append(item)
        size += item_size
    if current:
        out.append(current)
    return out
