"""Prize claim rules. Pure: no I/O, no clock (the time is an argument).

* **Ids.** A prize id is opaque and stable: ``pz_`` + base64url of ``<event>#<user>#<rule>``, so it names exactly
  one prize item forever and needs no lookup table. The claim of that prize is ``cl_`` + the same token: a prize
  is claimed at most once, so its claim id is derived from it, and that id is the claim's idempotency key in the
  ledger and its payout id for the wallet service.
* **Status machine.** ``CLAIMABLE`` -> the paid state of its type (points ``CLAIMED``, token ``PAYOUT_REQUESTED``,
  custom ``CUSTOM_PENDING``) or ``IN_REVIEW``; ``IN_REVIEW`` -> paid state (approved) or ``REJECTED``;
  ``CLAIMABLE`` -> ``EXPIRED`` after the deadline; ``PAYOUT_REQUESTED`` -> ``PAID`` / ``PAYOUT_FAILED``
  (``PAYOUT_FAILED`` -> ``PAID`` when the wallet retried); ``CUSTOM_PENDING`` -> ``FULFILLED``.
* **Refusals** (`claim_refusal`): someone else's prize (refused exactly as a prize that does not exist, so a
  caller learns nothing about other users' prizes from ids anyone can build), a prize that is not claimable (auto
  mode, already claimed, expired, rolled back) or past its deadline.
* **Review reasons** (`review_reasons`): a flagged account, one counterparty on most of the user's volume, a
  burst of volume right before the end.
* **Counterparty summary** (`add_counterparty`): the heaviest counterparties of a participant by volume in
  bounded space (Metwally's space-saving, weighted): any counterparty holding more than 1/capacity of the
  volume is certain to be kept, with a lower bound of its volume that never overstates it.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from arena.domain import exact
from arena.domain.statuses import PrizeStatus

# The state a prize of each type reaches when its claim is accepted (directly or on approval).
PAID_STATE = {
    "points": PrizeStatus.CLAIMED,
    "token": PrizeStatus.PAYOUT_REQUESTED,
    "custom": PrizeStatus.CUSTOM_PENDING,
}
# Still waiting for something (the owner, a reviewer, the wallet, an admin): shown under "my prizes".
OPEN_STATES = frozenset(
    {
        PrizeStatus.CLAIMABLE,
        PrizeStatus.IN_REVIEW,
        PrizeStatus.PAYOUT_REQUESTED,
        PrizeStatus.PAYOUT_FAILED,
        PrizeStatus.CUSTOM_PENDING,
    }
)
# Paid or being paid: at distribution (auto mode, no deadline) or after an accepted claim.
_PAID_OR_PAYING = (
    PrizeStatus.CLAIMED,
    PrizeStatus.PAYOUT_REQUESTED,
    PrizeStatus.PAID,
    PrizeStatus.PAYOUT_FAILED,
    PrizeStatus.CUSTOM_PENDING,
    PrizeStatus.FULFILLED,
)
# How many counterparties a participant's summary keeps.
COUNTERPARTY_CAPACITY = 16

# How long before a claim deadline its owner is reminded (ClaimDeadlineApproaching, published by the hourly sweep).
DEADLINE_NOTICE = timedelta(hours=24)


def deadline_notice_due(deadline: datetime | None, now: datetime) -> bool:
    """Whether a claimable prize's deadline is close enough to remind its owner: still ahead, within DEADLINE_NOTICE."""
    return deadline is not None and now < deadline <= now + DEADLINE_NOTICE


PRIZE_PREFIX = "pz_"
CLAIM_PREFIX = "cl_"
MAX_ID_LENGTH = 400
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{4,400}")
_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+\-]{0,127}")


@dataclass(frozen=True)
class PrizeRef:
    """Which prize: the event, its owner and the rule of the prize table."""

    event_id: str
    user_id: str
    rule_index: int

    @property
    def token(self) -> str:
        raw = f"{self.event_id}#{self.user_id}#{self.rule_index}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @property
    def prize_id(self) -> str:
        return PRIZE_PREFIX + self.token

    @property
    def claim_id(self) -> str:
        return CLAIM_PREFIX + self.token


def _decode(token: str) -> PrizeRef | None:
    if not _TOKEN.fullmatch(token):
        return None
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    parts = text.split("#")
    if len(parts) != 3 or not all(_PART.fullmatch(p) for p in parts[:2]) or not parts[2].isdigit():
        return None
    ref = PrizeRef(parts[0], parts[1], int(parts[2]))
    return ref if ref.token == token and ref.rule_index < 1000 else None  # one spelling per prize


def parse_prize_id(prize_id: str) -> PrizeRef | None:
    """The prize a prize id names; None for anything this API did not issue."""
    if not isinstance(prize_id, str) or len(prize_id) > MAX_ID_LENGTH or not prize_id.startswith(PRIZE_PREFIX):
        return None
    return _decode(prize_id[len(PRIZE_PREFIX) :])


def valid_user_id(user_id: str) -> bool:
    """A user id as prize ids and ledger accounts spell it (no '#' or ':', which separate key parts)."""
    return isinstance(user_id, str) and bool(_PART.fullmatch(user_id))


def parse_payout_id(payout_id: str) -> PrizeRef | None:
    """The prize a payout id pays: a claim id (manual mode) or the distribution's ``prize:<event>:<user>:<rule>``
    key (auto mode pays token prizes at distribution under that key)."""
    if not isinstance(payout_id, str) or len(payout_id) > MAX_ID_LENGTH:
        return None
    if payout_id.startswith(CLAIM_PREFIX):
        return _decode(payout_id[len(CLAIM_PREFIX) :])
    parts = payout_id.split(":")
    if len(parts) == 4 and parts[0] == "prize" and all(_PART.fullmatch(p) for p in parts[1:3]) and parts[3].isdigit():
        return PrizeRef(parts[1], parts[2], int(parts[3]))
    return None


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    # The error kind: "not_found" (no such prize, or not yours), "conflict" (the prize's state refuses it).
    kind: str


# Someone else's prize answers as one that does not exist: the same code and message, nothing about the prize.
PRIZE_NOT_FOUND = Refusal("prize_not_found", "No prize with this id.", "not_found")


def claim_refusal(
    owner: str, status: PrizeStatus, deadline: datetime | None, user_id: str, now: datetime
) -> Refusal | None:
    """Why `user_id` may not claim this prize now; None when the claim may proceed."""
    if owner != user_id:
        return PRIZE_NOT_FOUND
    if status == PrizeStatus.CLAIMABLE and deadline is not None and now >= deadline:
        return Refusal("claim_deadline_passed", "The claim deadline of this prize has passed.", "conflict")
    if status == PrizeStatus.CLAIMABLE:
        return None
    if status in _PAID_OR_PAYING and deadline is None:
        return Refusal("not_claimable", "This prize was paid at distribution; there is nothing to claim.", "conflict")
    if status == PrizeStatus.IN_REVIEW:
        return Refusal("claim_in_review", "This prize was claimed and is being reviewed.", "conflict")
    if status in _PAID_OR_PAYING or status == PrizeStatus.REJECTED:
        return Refusal("already_claimed", "This prize was already claimed.", "conflict")
    if status == PrizeStatus.EXPIRED:
        return Refusal("claim_deadline_passed", "The claim deadline of this prize has passed.", "conflict")
    return Refusal("not_claimable", f"This prize cannot be claimed ({status.lower()}).", "conflict")


def paid_state(prize_type: str) -> PrizeStatus:
    return PAID_STATE[prize_type]


# ---------------------------------------------------------------------------------------------- velocity


def velocity_window(now: datetime, window_seconds: int) -> datetime:
    """The start of the fixed window `now` falls in (windows are aligned on the epoch)."""
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_seconds, tz=now.tzinfo)


def retry_after(now: datetime, window_seconds: int) -> int:
    """Whole seconds until the next window opens (at least 1)."""
    end = velocity_window(now, window_seconds) + timedelta(seconds=window_seconds)
    return max(1, int((end - now).total_seconds() + 0.999))


# ---------------------------------------------------------------------------------------------- fraud signals


def add_counterparty(
    summary: dict[str, tuple[Decimal, Decimal]],
    counterparty: str,
    volume: Decimal,
    capacity: int = COUNTERPARTY_CAPACITY,
) -> dict[str, tuple[Decimal, Decimal]]:
    """Fold one trade's volume into the summary {counterparty: (volume counted, overestimate)}. Weighted
    space-saving: a new counterparty in a full summary replaces the lightest one and inherits its count as its
    overestimate, so `volume - overestimate` is a lower bound of its true volume and a counterparty with more than
    1/capacity of the total is never evicted. Returns a new dict; the input is not changed."""
    folded = dict(summary)
    if counterparty in folded:
        counted, over = folded[counterparty]
        folded[counterparty] = (exact.total([counted, volume]), over)
    elif len(folded) < capacity:
        folded[counterparty] = (volume, Decimal(0))
    else:
        lightest = min(folded, key=lambda c: (folded[c][0], c))
        floor = folded.pop(lightest)[0]
        folded[counterparty] = (exact.total([floor, volume]), floor)
    return folded


def top_counterparty(summary: dict[str, tuple[Decimal, Decimal]]) -> tuple[str, Decimal] | None:
    """The counterparty with the largest guaranteed volume, and that volume (a lower bound)."""
    if not summary:
        return None
    best = max(summary, key=lambda c: (summary[c][0] - summary[c][1], c))
    counted, over = summary[best]
    return best, counted - over


@dataclass(frozen=True)
class Signals:
    """What Arena knows about a claimant in the prize's event, and whether the exchange flagged the account."""

    volume: Decimal = Decimal(0)
    counterparties: dict[str, tuple[Decimal, Decimal]] | None = None
    late_volume: Decimal = Decimal(0)
    late_trades: int = 0
    flagged: bool = False
    flag_reason: str | None = None


@dataclass(frozen=True)
class Thresholds:
    counterparty_share: Decimal
    burst_share: Decimal
    burst_min_trades: int


def review_reasons(signals: Signals, limits: Thresholds) -> list[str]:
    """Why the claim must be reviewed by an admin before paying; [] pays it."""
    reasons: list[str] = []
    if signals.flagged:
        reasons.append(f"account_flagged: {signals.flag_reason or 'flagged by the exchange'}")
    if signals.volume > 0:
        top = top_counterparty(signals.counterparties or {})
        if top is not None and top[1] >= exact.product(signals.volume, limits.counterparty_share):
            share = (top[1] / signals.volume * 100).quantize(Decimal("0.1"))
            reasons.append(f"counterparty_concentration: {top[0]} took {share}% of the volume")
        late_enough = signals.late_trades >= limits.burst_min_trades
        if late_enough and signals.late_volume >= exact.product(signals.volume, limits.burst_share):
            share = (signals.late_volume / signals.volume * 100).quantize(Decimal("0.1"))
            reasons.append(f"end_burst: {signals.late_trades} trades, {share}% of the volume just before the end")
    return reasons
