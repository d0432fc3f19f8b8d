"""Real-time rules, pure: topics and who may subscribe, the message envelope and its 32 KB frame, leaderboard
diffs, push coalescing, rank-change detection, milestones and the anonymised trade sample. No I/O here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from arena.domain.exact import canonical
from arena.errors import BadRequest, Forbidden

# API Gateway splits WebSocket messages into 32 KB frames; one message per frame keeps every client simple.
MAX_FRAME_BYTES = 32 * 1024
# API Gateway closes a WebSocket connection after two hours, whatever happens on it.
CONNECTION_LIFETIME_SECONDS = 2 * 60 * 60
_ID = r"[A-Za-z0-9][A-Za-z0-9_\-.:@]{0,127}"


class TopicKind(StrEnum):
    LEADERBOARD = "leaderboard"  # an event's top rows, coalesced diffs
    TRADES = "trades"  # an event's trade activity, sampled and anonymised
    EVENT = "event"  # an event's status changes, milestones and announcements
    USER = "user"  # my private channel: rank changes, prizes, my milestones
    ADMIN = "admin"  # monitoring: ingest rate, errors, lag, distribution progress
    CHAT = "chat"  # an event's chat: messages, deletions, reactions, pins, how many watch


_TOPIC = re.compile(rf"^(leaderboard|trades|event|user|chat):({_ID})$|^(admin)$")


@dataclass(frozen=True)
class Topic:
    kind: TopicKind
    key: str | None  # the event id, the user id, or None for admin

    def __str__(self) -> str:
        return self.kind.value if self.key is None else f"{self.kind.value}:{self.key}"

    @classmethod
    def parse(cls, text: Any) -> Topic:
        """A topic from its wire name, e.g. "leaderboard:01J..."; BadRequest for anything else."""
        match = _TOPIC.match(text) if isinstance(text, str) else None
        if match is None:
            raise BadRequest(
                "topic must be leaderboard:<event>, trades:<event>, event:<event>, chat:<event>, user:<your id> "
                "or admin.",
                code="invalid_topic",
                details={"topic": text if isinstance(text, str) else None},
            )
        if match.group(3):
            return cls(TopicKind.ADMIN, None)
        return cls(TopicKind(match.group(1)), match.group(2))


def leaderboard_topic(event_id: str) -> str:
    return f"leaderboard:{event_id}"


def trades_topic(event_id: str) -> str:
    return f"trades:{event_id}"


def event_topic(event_id: str) -> str:
    return f"event:{event_id}"


def chat_topic(event_id: str) -> str:
    return f"chat:{event_id}"


def user_topic(user_id: str) -> str:
    return f"user:{user_id}"


ADMIN_TOPIC = "admin"


def authorize_subscription(user_id: str, is_admin: bool, topic: Topic) -> None:
    """Public event topics are open to every signed-in user; `user:<id>` to that user only; `admin` to admins.
    A `chat:<event>` topic is further decided by the event's chat settings and bans (arena.services.chat)."""
    if topic.kind is TopicKind.USER and topic.key != user_id:
        raise Forbidden("Only the user themself may subscribe to their private channel.", code="forbidden_topic")
    if topic.kind is TopicKind.ADMIN and not is_admin:
        raise Forbidden("The admin topic needs the admin role.", code="forbidden_topic")


# ------------------------------------------------------------------------------------------------ envelope


def envelope(kind: str, topic: str, seq: int, ts: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Every pushed message: its type, topic, the topic's sequence number (a client that sees seq jump by more
    than one missed a message and refetches over HTTP) and the time it was made."""
    return {"type": kind, "topic": topic, "seq": seq, "ts": ts, "data": dict(data)}


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return canonical(value)  # exact decimals on the wire in their one form, never floats
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _dumps(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, default=_json_default, separators=(",", ":")).encode()


def encode(message: Mapping[str, Any]) -> bytes:
    """The message as compact JSON; ValueError when it would not fit one 32 KB frame."""
    data = _dumps(message)
    if len(data) > MAX_FRAME_BYTES:
        raise ValueError(f"message of {len(data)} bytes exceeds one {MAX_FRAME_BYTES}-byte frame")
    return data


# ------------------------------------------------------------------------------------------------ leaderboard


@dataclass(frozen=True)
class Row:
    """One leaderboard row as pushed: the HTTP leaderboard's public fields (the trader named by handle and name,
    never by user id). The user id is kept for the push's own state (`to_state`), never sent: a push goes to every
    subscriber alike. The name is part of the row, so a trader opting in or out changes their row in the next diff."""

    rank: int
    user_id: str
    score: Decimal
    trade_count: int
    qualified: bool
    prize_rank: int | None
    handle: str | None = None
    name: str = ""
    colour: str = ""
    initials: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "prize_rank": self.prize_rank,
            "handle": self.handle,
            "name": self.name,
            "colour": self.colour,
            "initials": self.initials,
            "score": canonical(self.score),
            "trade_count": self.trade_count,
            "qualified": self.qualified,
        }

    def to_state(self) -> dict[str, Any]:
        """What the push remembers of the row (the connections table, never sent): the wire form and the user id."""
        return {**self.to_wire(), "user_id": self.user_id}

    @classmethod
    def from_state(cls, d: Mapping[str, Any]) -> Row:
        prize_rank, handle = d.get("prize_rank"), d.get("handle")
        return cls(
            rank=int(d["rank"]),
            user_id=str(d["user_id"]),
            score=Decimal(str(d["score"])),
            trade_count=int(d["trade_count"]),
            qualified=bool(d["qualified"]),
            prize_rank=None if prize_rank is None else int(prize_rank),
            handle=None if handle is None else str(handle),
            name=str(d.get("name", "")),
            colour=str(d.get("colour", "")),
            initials=str(d.get("initials", "")),
        )


@dataclass(frozen=True)
class BoardDiff:
    """What changed in the top rows: the rows to set (by rank) and the new length of the pushed list."""

    rows: list[Row]
    size: int

    @property
    def empty(self) -> bool:
        return not self.rows

    def to_wire(self, event_id: str, version: int, total: int) -> dict[str, Any]:
        return {
            "event_id": event_id,
            "version": version,
            "total": total,
            "size": self.size,
            "rows": [r.to_wire() for r in self.rows],
        }


def board_diff(previous: Sequence[Row], current: Sequence[Row]) -> BoardDiff:
    """Rows of `current` that differ from `previous` at the same rank. A client applies a diff by setting each
    row at its rank and truncating its list to `size`; a list shrinking (a disqualification) changes only size."""
    before = {r.rank: r for r in previous}
    changed = [r for r in current if before.get(r.rank) != r]
    if not changed and len(previous) == len(current):
        return BoardDiff([], len(current))
    return BoardDiff(changed, len(current))


def fit_diff(diff: BoardDiff, event_id: str, version: int, total: int, overhead: int = 256) -> dict[str, Any]:
    """The diff's wire form, cut to the rows that fit one frame; `partial` tells the client to refetch the rest."""
    data = diff.to_wire(event_id, version, total)
    rows = data["rows"]
    while rows and len(_dumps(data)) + overhead > MAX_FRAME_BYTES:
        rows.pop()
        data["partial"] = True
    return data


def push_delay(last_pushed_at: float | None, now: float, interval: float) -> float:
    """Seconds to wait before the next push of a topic so pushes are at least `interval` apart (coalescing: what
    changes while waiting goes out in the one push that follows, read after the wait)."""
    if last_pushed_at is None or interval <= 0:
        return 0.0
    return max(0.0, min(interval, last_pushed_at + interval - now))


# ------------------------------------------------------------------------------------------------ rank changes


@dataclass(frozen=True)
class Standing:
    """A user's place as last told to them: rank (None when off the board) and prize rank."""

    rank: int | None
    prize_rank: int | None


@dataclass(frozen=True)
class RankMove:
    """A change in a user's standing worth telling: their rank moved, or they entered the prize zone (qualifying
    can lift a user into it without moving their rank)."""

    user_id: str
    before: Standing | None  # None: never told before
    after: Standing
    rank_moved: bool
    entered_prize_zone: bool

    def to_wire(self, event_id: str, version: int) -> dict[str, Any]:
        return {
            "event_id": event_id,
            "version": version,
            "rank": self.after.rank,
            "previous_rank": self.before.rank if self.before else None,
            "prize_rank": self.after.prize_rank,
        }


def prize_places(tiers: Iterable[Any]) -> int:
    """How many prize ranks a prize table pays (the highest rank_to; 0 without prizes)."""
    return max((int(t.rank_to) for t in tiers), default=0)


def in_prize_zone(standing: Standing | None, places: int) -> bool:
    return standing is not None and standing.prize_rank is not None and standing.prize_rank <= places


def rank_moves(told: Mapping[str, Standing], now: Mapping[str, Standing], places: int) -> list[RankMove]:
    """Users whose standing changed in a way worth telling since they were last told: a different rank (or a
    first one), or entering the prize zone. A user never told and still unranked is no move; nor is a prize-rank
    shift inside or outside the zone alone (it rides along with the next rank move)."""
    moves = []
    for user_id, after in sorted(now.items()):
        before = told.get(user_id)
        rank_moved = (before.rank if before else None) != after.rank
        entered = in_prize_zone(after, places) and not in_prize_zone(before, places)
        if rank_moved or entered:
            moves.append(RankMove(user_id, before, after, rank_moved, entered))
    return moves


# ------------------------------------------------------------------------------------------------ milestones


class Milestone(StrEnum):
    FIRST_TRADE = "first_trade"
    QUALIFIED = "qualified"
    PRIZE_ZONE = "prize_zone"
    EVENT_VOLUME = "event_volume"
    EVENT_PARTICIPANTS = "event_participants"


@dataclass(frozen=True)
class Progress:
    """The part of a participant's state that personal milestones look at."""

    trade_count: int
    qualified: bool
    disqualified: bool = False


def personal_milestones(before: Progress | None, after: Progress) -> list[Milestone]:
    """A user's first counted trade; qualification reached (not by a reinstatement of a disqualified user)."""
    out = []
    if (before.trade_count if before else 0) == 0 and after.trade_count > 0:
        out.append(Milestone.FIRST_TRADE)
    if after.qualified and not after.disqualified and not (before and before.qualified):
        out.append(Milestone.QUALIFIED)
    return out


def crossed(before: Decimal, after: Decimal, thresholds: Iterable[Decimal]) -> list[Decimal]:
    """Thresholds passed going from `before` to `after` (reached counts: before < t <= after), ascending."""
    return sorted(t for t in set(thresholds) if before < t <= after)


# ------------------------------------------------------------------------------------------------ trade activity


@dataclass(frozen=True)
class Activity:
    """A participant's change as the public sees it: how many trades and how much volume, never who."""

    trades: int
    volume: Decimal
    at: str | None

    def to_wire(self) -> dict[str, Any]:
        return {"trades": self.trades, "volume": canonical(self.volume), "at": self.at}


def activity(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> Activity | None:
    """The trades a stream change added (None when it added none: a join, a disqualification)."""
    trades = int(after.get("trade_count", 0)) - int((before or {}).get("trade_count", 0))
    if trades <= 0:
        return None
    volume = Decimal(str(after.get("volume", 0))) - Decimal(str((before or {}).get("volume", 0)))
    return Activity(trades, volume, after.get("last_trade_at"))


def sample(items: Sequence[Any], k: int) -> list[Any]:
    """At most k items spread evenly over the sequence (deterministic, so a retry samples the same ones)."""
    if k <= 0 or not items:
        return []
    if len(items) <= k:
        return list(items)
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]
