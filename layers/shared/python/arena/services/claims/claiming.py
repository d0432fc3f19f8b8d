"""Claiming a prize: the owner claims it once, before its deadline; it is paid, or held for review when something
looks wrong.

How a claim runs (``claim``):
1. velocity: one attempt counted in the user's fixed window by a conditional ADD (429 past the limit);
2. the prize is read and the rules of ``arena.domain.claims`` refuse a prize that is not CLAIMABLE or past its
   deadline (409), and someone else's prize exactly as one that does not exist (404 ``prize_not_found``, and a
   history entry that names only the id the caller sent): prize ids are built from event and user ids, so anyone
   can write one, and neither the answer nor the caller's history may tell whether that prize exists;
3. the fraud checks: the exchange's flag on the account, and Arena's own signals from the participant's totals
   (one counterparty on most of the volume, a burst of volume right before the end). Any reason -> IN_REVIEW and
   a review-queue item instead of paying;
4. ONE transaction moves the prize CLAIMABLE -> its paid state (or IN_REVIEW), conditional on the status, the owner
   and the deadline, and appends the history entry: of 100 simultaneous claims exactly one passes;
5. settle, after the transition (``settlement``). A crash between 4 and 5 is finished by the sweep (or by a repeat
   of the claim), so a claimed prize is always paid.

Every attempt, accepted or refused, is appended to the claimant's claim history (who, when, what, outcome, why);
the prize's type and amount only when the prize is the claimant's. Refusals are appended after the fact; an
accepted claim's entry is written in the transaction that accepts it.

With an ``Idempotency-Key`` header the claim runs under Powertools' idempotency utility (its own DynamoDB table):
a repeat with the same key and the same request returns the first answer; the same key with another prize or
body is refused (422 ``idempotency_key_reused``); a repeat while the first is still running is 409. Refusals are
not stored (Powertools deletes the record when the function raises), so a refused request may be retried.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from arena import clock
from arena.auth import Principal
from arena.config import settings
from arena.domain import claims as rules
from arena.domain.claims import PrizeRef
from arena.domain.distribution import PrizeRecord
from arena.domain.statuses import PrizeStatus
from arena.errors import ArenaError, Conflict, InvalidInput, RateLimited
from arena.models.claims import ClaimRequest, ClaimResult
from arena.observability import count
from arena.services.claims.settlement import settle_or_leave
from arena.services.claims.shared import history_record, load, not_found, prize_ref
from arena.store import claims as store
from arena.store import participants as participant_store
from arena.store import user_prizes
from arena.store.claims import HistoryRecord, ReviewRecord


def claim(
    principal: Principal,
    prize_id: str,
    request: ClaimRequest | None = None,
    idempotency_key: str | None = None,
    lambda_context: Any = None,
) -> ClaimResult:
    """POST /api/events/prizes/{prizeId}/claim. With an idempotency key, the first answer is stored and returned
    to every repeat of the same request (Powertools idempotency); without one, a repeat is refused as already
    claimed. See the module docstring for the steps."""
    body = request or ClaimRequest()
    if idempotency_key is None:
        return _claim(principal, prize_id, body)
    if not 1 <= len(idempotency_key) <= 255 or not idempotency_key.isprintable():
        raise InvalidInput("The Idempotency-Key header is 1 to 255 printable characters.", code="invalid_key")
    config = IdempotencyConfig(
        event_key_jmespath="[user, key]",
        payload_validation_jmespath="request",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=24 * 3600,
        lambda_context=lambda_context,
    )

    @idempotent_function(data_keyword_argument="attempt", persistence_store=store.idempotency_records(), config=config)
    def claim_once(attempt: dict[str, Any]) -> dict[str, Any]:
        return _claim(principal, prize_id, body).model_dump(mode="json")

    attempt = {
        "user": principal.user_id,
        "key": idempotency_key,
        "request": {"prize_id": prize_id, "body": body.model_dump(mode="json")},
    }
    try:
        return ClaimResult.model_validate(claim_once(attempt=attempt))
    except IdempotencyValidationError:
        refusal: ArenaError = InvalidInput(
            "This Idempotency-Key was already used for a different request.", code="idempotency_key_reused"
        )
    except IdempotencyAlreadyInProgressError:
        refusal = Conflict(
            "A request with this Idempotency-Key is still being processed; retry shortly.", code="claim_in_progress"
        )
    # Refused before the claim ran: still an attempt, so it goes into the history too.
    ref = rules.parse_prize_id(prize_id)
    _record_refusal(principal, prize_id, ref, None, body, refusal)
    raise refusal


def _claim(principal: Principal, prize_id: str, body: ClaimRequest) -> ClaimResult:
    now = clock.now()
    ref = rules.parse_prize_id(prize_id)
    prize: PrizeRecord | None = None
    try:
        _count_attempt(principal.user_id, now)
        ref = prize_ref(prize_id)
        prize = load(ref)
        return _accept(principal, prize, body, now)
    except ArenaError as refusal:
        _record_refusal(principal, prize_id, ref, _own(prize, principal), body, refusal)
        raise


def _own(prize: PrizeRecord | None, principal: Principal) -> PrizeRecord | None:
    """The prize when it is the caller's; None (as if it did not exist) when it is someone else's."""
    return prize if prize is not None and prize.user_id == principal.user_id else None


def _record_refusal(
    principal: Principal,
    prize_id: str,
    ref: PrizeRef | None,
    prize: PrizeRecord | None,
    body: ClaimRequest,
    refusal: ArenaError,
) -> None:
    count("PrizeClaimRefused")
    entry: dict[str, Any] = {
        "user_id": principal.user_id,
        "at": clock.now(),
        "action": "claim",
        "outcome": "REFUSED",
        "reason": refusal.code,
        "actor": principal.user_id,
        "note": body.note,
    }
    if ref is None:  # an id this API did not issue: kept as given, cut short
        store.append_history(HistoryRecord(**entry, prize_id=str(prize_id)[:200]))
    else:
        store.append_history(history_record(ref, prize, **entry))


def _count_attempt(user_id: str, now: datetime) -> None:
    config = settings()
    window = config.claim_velocity_window_seconds
    start = rules.velocity_window(now, window)
    expires = start + timedelta(seconds=window) + timedelta(days=1)
    if not store.count_attempt(user_id, start, config.claim_velocity_limit, expires):
        raise RateLimited(
            f"Too many claims: at most {config.claim_velocity_limit} per {window} s. Retry later.",
            code="claim_velocity_exceeded",
            details={
                "limit": config.claim_velocity_limit,
                "window_seconds": window,
                "retry_after_seconds": rules.retry_after(now, window),
            },
        )


def _refuse(refusal: rules.Refusal) -> ArenaError:
    if refusal.kind == "not_found":
        return not_found()
    return Conflict(refusal.message, code=refusal.code)


def _refusal(prize: PrizeRecord, user_id: str, now: datetime) -> rules.Refusal | None:
    return rules.claim_refusal(prize.user_id, prize.status, prize.claim_deadline, user_id, now)


def _signals(ref: PrizeRef) -> rules.Signals:
    flag = store.get_flag(ref.user_id)
    participant = participant_store.get(ref.event_id, ref.user_id)
    flagged = bool(flag and flag.flagged)
    flag_reason = flag.reason if flag else None
    if participant is None:
        return rules.Signals(flagged=flagged, flag_reason=flag_reason)
    return rules.Signals(
        volume=participant.totals.volume,
        counterparties=participant.counterparties,
        late_volume=participant.late_volume,
        late_trades=participant.late_trades,
        flagged=flagged,
        flag_reason=flag_reason,
    )


def _thresholds() -> rules.Thresholds:
    config = settings()
    return rules.Thresholds(config.claim_counterparty_share, config.claim_burst_share, config.claim_burst_min_trades)


def _accept(principal: Principal, prize: PrizeRecord, body: ClaimRequest, now: datetime) -> ClaimResult:
    ref = prize.ref
    refusal = _refusal(prize, principal.user_id, now)
    if refusal is not None:
        if refusal.code == "already_claimed" and prize.claim_id == ref.claim_id:
            settle_or_leave(prize)  # finish what a crashed first attempt left, then refuse the repeat
        raise _refuse(refusal)
    reasons = rules.review_reasons(_signals(ref), _thresholds())
    status = PrizeStatus.IN_REVIEW if reasons else rules.paid_state(prize.type)
    claimed_at = clock.to_iso(now)
    entry = history_record(
        ref,
        prize,
        user_id=principal.user_id,
        at=now,
        action="claim",
        outcome=status,
        # The user reads their history: the fraud signals stay in `review_reasons` (admins, audit), not in the
        # reason shown, so a claimant is not told which check to work around.
        reason="held_for_review" if reasons else None,
        review_reasons=reasons or None,
        actor=principal.user_id,
        note=body.note,
    )
    actions = [
        user_prizes.transition(
            ref,
            (PrizeStatus.CLAIMABLE,),
            status,
            {
                "claim_id": ref.claim_id,
                "claimed_at": claimed_at,
                "claimed_by": principal.user_id,
                "review_reasons": reasons or None,
                "claim_note": body.note,
            },
            owner=principal.user_id,
            deadline_after=now,
        ),
        store.history_put(entry),
    ]
    if reasons:
        review = ReviewRecord(
            prize_id=ref.prize_id,
            claim_id=ref.claim_id,
            event_id=ref.event_id,
            user_id=ref.user_id,
            type=prize.type,
            amount=prize.amount,
            reasons=reasons,
            queued_at=now,
        )
        actions.append(store.enqueue_review(review))
    if not store.apply(actions):
        # Another request moved the prize first (or the deadline passed meanwhile): say which.
        again = _refusal(load(ref), principal.user_id, now)
        raise _refuse(again or rules.Refusal("claim_conflict", "The prize changed meanwhile; retry.", "conflict"))
    count("PrizeClaimed" if not reasons else "PrizeClaimInReview")
    if not reasons:
        settle_or_leave(replace(prize, status=status, claim_id=ref.claim_id))
    return ClaimResult(
        claim_id=ref.claim_id,
        prize_id=ref.prize_id,
        event_id=ref.event_id,
        type=prize.type,
        amount=prize.amount,
        status=status,
        claimed_at=now,
    )
