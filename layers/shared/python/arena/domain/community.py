"""Community rules, pure: the anonymised name and public handle of a trader (HMAC of the user id, stable, not
reversible without the key), referral codes, what a profile shows, badges from a trader's results, percentiles.

A trader who has not opted in to a public profile is shown everywhere public as "Trader XXXX" and by a handle that
is not their user id; the HMAC key (COMMUNITY_SECRET) keeps both from being recomputed from a guessed user id.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

# Crockford's base 32: no I, L, O, U (never mistaken for 1, 0 or V).
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NAME_LENGTH = 4
HANDLE_LENGTH = 12
REFERRAL_LENGTH = 8
# Avatar colours a trader may choose (and the one derived for whoever has not).
AVATAR_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def _code(secret: str, purpose: str, user_id: str, length: int) -> str:
    if not secret:
        raise ValueError("the community secret is not set")
    digest = hmac.new(secret.encode(), f"{purpose}\x00{user_id}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    out = []
    for _ in range(length):
        number, digit = divmod(number, 32)
        out.append(_ALPHABET[digit])
    return "".join(out)


def anonymised_name(secret: str, user_id: str) -> str:
    """ "Trader 7KQ2": the same for a user for as long as the key is kept."""
    return f"Trader {_code(secret, 'name', user_id, NAME_LENGTH)}"


def handle(secret: str, user_id: str) -> str:
    """The trader's public handle (profile URLs, follows, share cards): 12 characters, so collisions are negligible."""
    return _code(secret, "handle", user_id, HANDLE_LENGTH).lower()


def referral_code(secret: str, user_id: str) -> str:
    return _code(secret, "referral", user_id, REFERRAL_LENGTH)


def default_colour(secret: str, user_id: str) -> str:
    return AVATAR_COLOURS[_ALPHABET.index(_code(secret, "colour", user_id, 1)) % len(AVATAR_COLOURS)]


def initials(name: str) -> str:
    """Up to two letters from the name's words ("Ada Lovelace" -> "AL", "Trader 7KQ2" -> "T7")."""
    words = [w for w in name.split() if w]
    return "".join(w[0] for w in words[:2]).upper() or "?"


@dataclass(frozen=True)
class Identity:
    """How a trader appears in public: `public` says whether they opted in (their chosen name) or not (the
    anonymised one)."""

    handle: str
    name: str
    public: bool
    colour: str
    initials: str


def identity(secret: str, user_id: str, display_name: str | None, colour: str | None, public: bool) -> Identity:
    name = display_name if public and display_name else anonymised_name(secret, user_id)
    return Identity(
        handle=handle(secret, user_id),
        name=name,
        public=public,
        colour=colour if public and colour else default_colour(secret, user_id),
        initials=initials(name),
    )


class Badge(StrEnum):
    FIRST_EVENT = "first_event"
    FIVE_EVENTS = "five_events"
    TOP_TEN = "top_ten"
    PODIUM = "podium"
    CHAMPION = "champion"
    PRIZE_WINNER = "prize_winner"


def badges(events_joined: int, best_ranks: Iterable[int], prizes_won: int) -> list[Badge]:
    """Milestones reached, in a fixed order."""
    best = min(best_ranks, default=None)
    earned = []
    if events_joined >= 1:
        earned.append(Badge.FIRST_EVENT)
    if events_joined >= 5:
        earned.append(Badge.FIVE_EVENTS)
    if best is not None and best <= 10:
        earned.append(Badge.TOP_TEN)
    if best is not None and best <= 3:
        earned.append(Badge.PODIUM)
    if best == 1:
        earned.append(Badge.CHAMPION)
    if prizes_won > 0:
        earned.append(Badge.PRIZE_WINNER)
    return earned


def top_percent(rank: int, total: int) -> Decimal:
    """ "Top 2.5%": rank / total as a percentage, one decimal, never 0 (rank 1 of 10,000 is top 0.1%)."""
    if total <= 0 or rank <= 0:
        raise ValueError("rank and total must be positive")
    value = (Decimal(rank) * 100 / Decimal(total)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return max(value, Decimal("0.1"))
