"""Prize claims: a manual-claim event's prizes claimed by their owners before the deadline, held for review when
something looks wrong, paid exactly once, expired back to the pool when nobody claims them.

How a claim runs (``claim``):
1. velocity: one attempt counted in the user's fixed window by a conditional ADD (429 past the limit);
2. the prize is read and the rules of ``arena.domain.claims`` refuse someone else's prize (403), a prize that is
   not CLAIMABLE or past its deadline (409);
3. the fraud checks: the exchange's flag on the account, and Arena's own signals from the participant's totals
   (one counterparty on most of the volume, a burst of volume right before the end). Any reason -> IN_REVIEW and
   a review-queue item instead of paying;
4. ONE transaction moves the prize CLAIMABLE -> its paid state (or IN_REVIEW), conditional on the status, the owner
   and the deadline, and appends the history entry: of 100 simultaneous claims exactly one passes;
5. settle, after the transition: points move ``event-claims:<event>`` -> ``user:<id>`` under the claim id (the
   ledger applies a key once, ever); a token prize publishes ``PayoutRequested`` with the claim id as payout id
   (at least once; the wallet dedupes by payout id); then ``settled_at`` is set. A crash between 4 and 5 is
   finished by the sweep (or by a repeat of the claim), so a claimed prize is always paid.

Every attempt, accepted or refused, is appended to the claim history (who, when, what, outcome, why). Refusals are
appended after the fact; an accepted claim's entry is written in the transaction that accepts it.

With an ``Idempotency-Key`` header the claim runs under Powertools' idempotency utility (its own DynamoDB table):
a repeat with the same key and the same request returns the first answer; the same key with another prize or
body is refused (422 ``idempotency_key_reused``); a repeat while the first is still running is 409. Refusals are
not stored (Powertools deletes the record when the function raises), so a refused request may be retried.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from arena import clock
from arena.adapters import domain_events
from arena.auth import Principal, Role
from arena.config import settings
from arena.domain import claims as rules
from arena.domain import ledger as ledger_rules
from arena.domain.claims import PrizeRef
from arena.domain.events import EventStatus
from arena.domain.statuses import DomainEvent
from arena.errors import ArenaError, BadRequest, Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from arena.models.claims import (
    AccountFlag,
    AccountFlagState,
    ClaimHistory,
    ClaimRequest,
    ClaimResult,
    HistoryEntry,
    MyPrize,
    MyPrizes,
    PayoutOutcome,
    PrizeState,
    ReviewItem,
    ReviewQueue,
)
from arena.observability import count, logger
from arena.services import ledger
from arena.store import audit, dynamo
from arena.store import claims as store
from arena.store import distribution as distribution_store
from arena.store import events as event_store
from arena.store import participants as participant_store

PAYOUT_REQUESTED_EVENT = DomainEvent.PAYOUT_REQUESTED
SYSTEM = "arena:claims-sweep"


def expire_key(ref: PrizeRef) -> str:
    return f"prize-expired:{ref.event_id}:{ref.user_id}:{ref.rule_index}"


def reject_key(ref: PrizeRef) -> str:
    return f"prize-rejected:{ref.event_id}:{ref.user_id}:{ref.rule_index}"


def _ref(prize: dict[str, Any]) -> PrizeRef:
    return PrizeRef(prize["event_id"], prize["user_id"], int(prize["rule_index"]))


def _prize_ref(prize_id: str) -> PrizeRef:
    ref = rules.parse_prize_id(prize_id)
    if ref is None:
        raise NotFound("No prize with this id.", code="prize_not_found")
    return ref


def _load(ref: PrizeRef) -> dict[str, Any]:
    prize = store.get_prize(ref)
    if prize is None:
        raise NotFound("No prize with this id.", code="prize_not_found")
    return prize


def _deadline(prize: dict[str, Any]) -> datetime | None:
    return clock.from_iso(prize["claim_deadline"]) if prize.get("claim_deadline") else None


def _what(prize: dict[str, Any] | None, ref: PrizeRef | None) -> dict[str, Any]:
    """The history's "what": which prize, of which event, of what type and amount."""
    values: dict[str, Any] = {}
    if ref is not None:
        values.update(prize_id=ref.prize_id, event_id=ref.event_id)
    if prize is not None:
        values.update(type=prize["type"], amount=Decimal(prize["amount"]))
    return values


# ---------------------------------------------------------------------------------------------- my prizes


def my_prizes(principal: Principal) -> MyPrizes:
    """GET /api/events/prizes/me: the caller's prizes still open (claimable, in review, awaiting payout or
    fulfilment), claimable first, earliest deadline first."""
    now = clock.now()
    prizes = [p for p in store.user_prizes(principal.user_id) if p.get("status") in rules.OPEN_STATES]
    names: dict[str, str | None] = {}
    for event_id in {p["event_id"] for p in prizes}:
        event = event_store.get(event_id)
        names[event_id] = event.name if event else None
    shown = []
    for prize in prizes:
        deadline = _deadline(prize)
        claimable = prize["status"] == rules.CLAIMABLE and (deadline is None or now < deadline)
        if prize["status"] == rules.CLAIMABLE and not claimable:
            continue  # past its deadline: expired, whether or not the sweep has run yet
        ref = _ref(prize)
        shown.append(
            MyPrize(
                prize_id=ref.prize_id,
                event_id=ref.event_id,
                event_name=names.get(ref.event_id),
                type=prize["type"],
                token=prize.get("token"),
                description=prize.get("description"),
                amount=Decimal(prize["amount"]),
                prize_rank=int(prize["prize_rank"]),
                status=prize["status"],
                claim_deadline=deadline,
                claimable=claimable,
            )
        )
    shown.sort(key=lambda p: (not p.claimable, p.claim_deadline or now, p.event_id, p.prize_id))
    return MyPrizes(prizes=shown)


# ---------------------------------------------------------------------------------------------- claiming


def _persistence() -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=settings().claim_idempotency_table, boto3_client=dynamo.client())


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

    @idempotent_function(data_keyword_argument="attempt", persistence_store=_persistence(), config=config)
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
    prize: dict[str, Any] | None = None
    try:
        _count_attempt(principal.user_id, now)
        ref = _prize_ref(prize_id)
        prize = _load(ref)
        return _accept(principal, ref, prize, body, now)
    except ArenaError as refusal:
        _record_refusal(principal, prize_id, ref, prize, body, refusal)
        raise


def _record_refusal(
    principal: Principal,
    prize_id: str,
    ref: PrizeRef | None,
    prize: dict[str, Any] | None,
    body: ClaimRequest,
    refusal: ArenaError,
) -> None:
    count("PrizeClaimRefused")
    what = _what(prize, ref) if ref else {"prize_id": str(prize_id)[:200]}
    store.append_history(
        principal.user_id,
        clock.now(),
        {
            "action": "claim",
            "outcome": "REFUSED",
            "reason": refusal.code,
            "actor": principal.user_id,
            "note": body.note,
            **what,
        },
    )


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
    kind = Forbidden if refusal.kind == "forbidden" else Conflict
    return kind(refusal.message, code=refusal.code)


def _signals(ref: PrizeRef) -> rules.Signals:
    flag = store.get_flag(ref.user_id)
    participant = participant_store.get(ref.event_id, ref.user_id)
    flagged = bool(flag and flag.get("flagged"))
    if participant is None:
        return rules.Signals(flagged=flagged, flag_reason=flag.get("reason") if flag else None)
    return rules.Signals(
        volume=participant.totals.volume,
        counterparties=participant.counterparties,
        late_volume=participant.late_volume,
        late_trades=participant.late_trades,
        flagged=flagged,
        flag_reason=flag.get("reason") if flag else None,
    )


def _thresholds() -> rules.Thresholds:
    config = settings()
    return rules.Thresholds(config.claim_counterparty_share, config.claim_burst_share, config.claim_burst_min_trades)


def _accept(
    principal: Principal, ref: PrizeRef, prize: dict[str, Any], body: ClaimRequest, now: datetime
) -> ClaimResult:
    refusal = rules.claim_refusal(prize["user_id"], prize["status"], _deadline(prize), principal.user_id, now)
    if refusal is not None:
        if refusal.code == "already_claimed" and prize.get("claim_id") == ref.claim_id:
            _settle_or_leave(ref, prize)  # finish what a crashed first attempt left, then refuse the repeat
        raise _refuse(refusal)
    reasons = rules.review_reasons(_signals(ref), _thresholds())
    status = rules.IN_REVIEW if reasons else rules.paid_state(prize["type"])
    claimed_at = clock.to_iso(now)
    actions = [
        store.prize_transition(
            ref,
            (rules.CLAIMABLE,),
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
        store.history_entry(
            principal.user_id,
            now,
            {
                "action": "claim",
                "outcome": status,
                # The user reads their history: the fraud signals stay in `review_reasons` (admins, audit), not
                # in the reason shown, so a claimant is not told which check to work around.
                "reason": "held_for_review" if reasons else None,
                "review_reasons": reasons or None,
                "actor": principal.user_id,
                "note": body.note,
                **_what(prize, ref),
            },
        ),
    ]
    if reasons:
        actions.append(
            store.enqueue_review(
                claimed_at,
                ref.prize_id,
                {
                    "prize_id": ref.prize_id,
                    "claim_id": ref.claim_id,
                    "event_id": ref.event_id,
                    "user_id": ref.user_id,
                    "type": prize["type"],
                    "amount": Decimal(prize["amount"]),
                    "reasons": reasons,
                    "queued_at": claimed_at,
                },
            )
        )
    if not store.apply(actions):
        # Another request moved the prize first (or the deadline passed meanwhile): say which.
        current = _load(ref)
        again = rules.claim_refusal(current["user_id"], current["status"], _deadline(current), principal.user_id, now)
        raise _refuse(again or rules.Refusal("claim_conflict", "The prize changed meanwhile; retry.", "conflict"))
    count("PrizeClaimed" if not reasons else "PrizeClaimInReview")
    updated = {**prize, "status": status, "claim_id": ref.claim_id}
    if not reasons:
        _settle_or_leave(ref, updated)
    return ClaimResult(
        claim_id=ref.claim_id,
        prize_id=ref.prize_id,
        event_id=ref.event_id,
        type=prize["type"],
        amount=Decimal(prize["amount"]),
        status=status,
        claimed_at=now,
    )


def _settle_or_leave(ref: PrizeRef, prize: dict[str, Any]) -> None:
    try:
        _settle(ref, prize)
    except Exception:
        # The claim's state change is already written and recorded; what failed (a busy ledger, EventBridge) is
        # finished by the sweep or by a repeat, both idempotent. The answer stays the one the state gives.
        logger.exception("claim settlement left to the sweep", extra={"claim_id": ref.claim_id})


def _settle(ref: PrizeRef, prize: dict[str, Any]) -> bool:
    """Do what the prize's status promises and was not yet done: points to the user (claimed) or back to the pool
    (expired, rejected); a token payout requested. Idempotent: the ledger applies each key once, the payout request
    is deduplicated by its payout id, ``settled_at`` records that it was done. True when something was done."""
    if prize.get("settled_at"):
        return False
    status, amount = prize["status"], Decimal(prize["amount"])
    held = ledger_rules.event_claims_account(ref.event_id)
    if status == rules.CLAIMED and prize["type"] == "points" and amount > 0:
        legs = ledger_rules.transfer(held, ledger_rules.user_account(ref.user_id), amount)
        ledger.post(legs, ref.claim_id, "prize_claim", f"prize claimed, rank {int(prize['prize_rank'])}")
    elif status == rules.PAYOUT_REQUESTED and prize.get("claim_id") == ref.claim_id and amount > 0:
        domain_events.publish(
            PAYOUT_REQUESTED_EVENT,
            {
                "payout_id": ref.claim_id,
                "claim_id": ref.claim_id,
                "event_id": ref.event_id,
                "user_id": ref.user_id,
                "rule_index": ref.rule_index,
                "token": prize.get("token"),
                "amount": amount,
            },
        )
    elif status in (rules.EXPIRED, rules.REJECTED) and prize["type"] == "points" and amount > 0:
        key = expire_key(ref) if status == rules.EXPIRED else reject_key(ref)
        legs = ledger_rules.transfer(held, ledger_rules.event_pool_account(ref.event_id), amount)
        ledger.post(legs, key, f"prize_{status.lower()}", f"prize {status.lower()}, back to the pool")
    elif status not in (rules.CLAIMED, rules.PAYOUT_REQUESTED, rules.CUSTOM_PENDING, rules.EXPIRED, rules.REJECTED):
        return False
    store.set_prize_fields(ref, {"settled_at": clock.to_iso(clock.now())})
    return True


# ---------------------------------------------------------------------------------------------- history


def claim_history(principal: Principal, limit: int, cursor: str | None) -> ClaimHistory:
    """GET /api/events/prizes/history: the caller's claim history, newest first, cursor-paged."""
    start = dynamo.start_key(dynamo.decode_cursor(cursor), store.HISTORY_KEY)
    if start is not None and start["pk"]["S"] != store.history_pk(principal.user_id):
        raise _bad_cursor()
    page = store.history_page(principal.user_id, limit, start)
    return ClaimHistory(
        entries=[
            HistoryEntry(
                at=clock.from_iso(e["at"]),
                action=e["action"],
                outcome=e["outcome"],
                prize_id=e.get("prize_id"),
                event_id=e.get("event_id"),
                type=e.get("type"),
                amount=e.get("amount"),
                reason=e.get("reason"),
                actor=e["actor"],
            )
            for e in page.items
        ],
        next_cursor=dynamo.encode_cursor({"k": page.last_key}) if page.last_key else None,
    )


def _bad_cursor() -> BadRequest:
    # Well-formed, but another user's history (or the queue's): never page someone else's entries.
    return BadRequest("The cursor is not one this API issued.", code="invalid_cursor")


# ---------------------------------------------------------------------------------------------- review


def review_queue(principal: Principal, limit: int, cursor: str | None) -> ReviewQueue:
    """GET /api/events/prizes/reviews (admin): claims held for review, oldest first."""
    principal.require(Role.ADMIN)
    start = dynamo.start_key(dynamo.decode_cursor(cursor), store.HISTORY_KEY)
    if start is not None and start["pk"]["S"] != store.REVIEW_PK:
        raise _bad_cursor()
    page = store.review_page(limit, start)
    return ReviewQueue(
        items=[
            ReviewItem(
                prize_id=i["prize_id"],
                claim_id=i["claim_id"],
                event_id=i["event_id"],
                user_id=i["user_id"],
                type=i["type"],
                amount=Decimal(i["amount"]),
                reasons=list(i.get("reasons", [])),
                queued_at=clock.from_iso(i["queued_at"]),
            )
            for i in page.items
        ],
        next_cursor=dynamo.encode_cursor({"k": page.last_key}) if page.last_key else None,
    )


def _state(ref: PrizeRef, prize: dict[str, Any]) -> PrizeState:
    return PrizeState(
        prize_id=ref.prize_id,
        event_id=ref.event_id,
        user_id=ref.user_id,
        type=prize["type"],
        amount=Decimal(prize["amount"]),
        status=prize["status"],
    )


def _step(
    ref: PrizeRef,
    prize: dict[str, Any],
    allowed_from: tuple[str, ...],
    status: str,
    fields: dict[str, Any],
    action: str,
    actor: str,
    reason: str | None,
    now: datetime,
    extra: list[dict[str, Any]] | None = None,
) -> bool:
    """One later step of a claim (decision, payout outcome, fulfilment, expiry): the prize's conditional transition
    and the owner's history entry, in one transaction. False when the prize was not in `allowed_from`."""
    return store.apply(
        [
            store.prize_transition(ref, allowed_from, status, fields),
            store.history_entry(
                ref.user_id,
                now,
                {"action": action, "outcome": status, "reason": reason, "actor": actor, **_what(prize, ref)},
            ),
            *(extra or []),
        ]
    )


def decide(principal: Principal, prize_id: str, decision: str, reason: str) -> PrizeState:
    """POST /api/events/prizes/{prizeId}/review (admin): approve (pays the claim as it would have been paid) or
    reject (the points go back to the event's pool) a claim held for review, with a reason. Idempotent: a repeat
    of the decision already taken returns the prize as it is; the other decision is refused (409)."""
    principal.require(Role.ADMIN)
    ref = _prize_ref(prize_id)
    prize = _load(ref)
    now = clock.now()
    target = rules.paid_state(prize["type"]) if decision == "approve" else rules.REJECTED
    if prize["status"] != rules.IN_REVIEW:
        if prize.get("decision") == decision:
            _settle_or_leave(ref, prize)
            return _state(ref, prize)
        raise Conflict(f"This prize is not in review ({prize['status'].lower()}).", code="not_in_review")
    queued = store.dequeue_review(prize["claimed_at"], ref.prize_id)
    fields = {"decision": decision, "decided_by": principal.user_id, "decided_at": clock.to_iso(now)}
    fields["decision_reason"] = reason
    if not _step(ref, prize, (rules.IN_REVIEW,), target, fields, "review", principal.user_id, reason, now, [queued]):
        return decide(principal, prize_id, decision, reason)  # decided meanwhile: answer as a repeat
    count("PrizeClaimApproved" if decision == "approve" else "PrizeClaimRejected")
    updated = {**prize, "status": target}
    _settle_or_leave(ref, updated)
    return _state(ref, updated)


def fulfil(principal: Principal, prize_id: str, reason: str) -> PrizeState:
    """POST /api/events/prizes/{prizeId}/fulfil (admin): a custom prize was delivered. Idempotent."""
    principal.require(Role.ADMIN)
    ref = _prize_ref(prize_id)
    prize = _load(ref)
    if prize["type"] != "custom":
        raise Conflict("Only custom prizes are fulfilled by hand.", code="not_custom")
    if prize["status"] == rules.FULFILLED:
        return _state(ref, prize)
    now = clock.now()
    fields = {"fulfilled_by": principal.user_id, "fulfilled_at": clock.to_iso(now), "fulfil_note": reason}
    if not _step(
        ref, prize, (rules.CUSTOM_PENDING,), rules.FULFILLED, fields, "fulfil", principal.user_id, reason, now
    ):
        current = _load(ref)
        if current["status"] == rules.FULFILLED:
            return _state(ref, current)
        raise Conflict(f"This prize is not awaiting fulfilment ({current['status'].lower()}).", code="not_pending")
    return _state(ref, {**prize, "status": rules.FULFILLED})


# ---------------------------------------------------------------------------------------------- payouts


def payout_outcome(principal: Principal, payout_id: str, outcome: PayoutOutcome) -> PrizeState:
    """POST /api/events/prizes/payouts/{payoutId} (service): the wallet service confirms (PAID) or fails (FAILED) a
    token payout. Idempotent: a repeat of the recorded outcome returns it; a late PAID after FAILED is recorded (the
    wallet retried); anything after PAID is refused (409)."""
    principal.require(Role.SERVICE)
    ref = rules.parse_payout_id(payout_id)
    if ref is None:
        raise NotFound("No payout with this id.", code="payout_not_found")
    prize = _load(ref)
    if prize["type"] != "token":
        raise NotFound("No payout with this id.", code="payout_not_found")
    expected = prize.get("claim_id") or prize.get("key")
    if expected != payout_id:
        raise NotFound("No payout with this id.", code="payout_not_found")
    target = rules.PAID if outcome.outcome == "PAID" else rules.PAYOUT_FAILED
    if prize["status"] == target:
        return _state(ref, prize)
    allowed = (rules.PAYOUT_REQUESTED, rules.PAYOUT_FAILED) if target == rules.PAID else (rules.PAYOUT_REQUESTED,)
    if prize["status"] not in allowed:
        raise Conflict(f"This payout is {prize['status'].lower()}.", code="payout_settled")
    now = clock.now()
    fields = {"payout_reference": outcome.reference, "payout_reason": outcome.reason, "payout_at": clock.to_iso(now)}
    reason = outcome.reason or outcome.reference
    if not _step(ref, prize, allowed, target, fields, "payout", principal.user_id, reason, now):
        return payout_outcome(principal, payout_id, outcome)
    count("PrizePayoutPaid" if target == rules.PAID else "PrizePayoutFailed")
    return _state(ref, {**prize, "status": target})


# ---------------------------------------------------------------------------------------------- flags


def set_flag(principal: Principal, user_id: str, flag: AccountFlag) -> AccountFlagState:
    """POST /api/users/{userId}/flag (service): set or clear the exchange's flag on an account. A flagged
    account's claims go to the review queue. Idempotent (the last call wins); every change is audited."""
    principal.require(Role.SERVICE)
    if not rules.valid_user_id(user_id):
        raise InvalidInput("Not a valid user id.", code="invalid_user_id")
    now = clock.now()
    state = AccountFlagState(
        user_id=user_id, flagged=flag.flagged, reason=flag.reason, set_by=principal.user_id, set_at=now
    )
    store.put_flag(user_id, state.model_dump(mode="json"))
    # Audited where admins look (the audit table), not in the user's own claim history: a flag is the exchange's
    # risk signal, not something to show the account holder.
    dynamo.client().put_item(
        **audit.record_action(
            f"ACCOUNT#{user_id}",
            principal.user_id,
            "account.flag" if flag.flagged else "account.unflag",
            now,
            flag.reason,
        )["Put"]
    )
    return state


# ---------------------------------------------------------------------------------------------- the sweep


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Every hour (and safe at any time): expire CLAIMABLE prizes past their deadline (points back to the event's
    pool), and settle any claim a crash left half done (points not yet moved, payout not yet requested).
    Idempotent: conditional transitions, ledger postings under fixed keys, payout requests deduplicated by payout
    id. An event with nothing left to expire or settle is marked and skipped from then on."""
    moment = now or clock.now()
    done = {"expired": 0, "settled": 0, "events": 0}
    manual = [e for e in event_store.with_status(EventStatus.COMPLETED) if e.claim.mode == "manual"]
    skipped = store.settled_events([e.id for e in manual]) if manual else set()
    for event in manual:
        if event.id in skipped:
            continue
        done["events"] += 1
        open_left = False
        for prize in store.event_prizes(event.id):
            ref = _ref(prize)
            deadline = _deadline(prize)
            if prize["status"] == rules.CLAIMABLE and deadline is not None and deadline <= moment:
                fields = {"expired_at": clock.to_iso(moment)}
                if _expire(ref, prize, fields, moment):
                    done["expired"] += 1
                    prize = {**prize, "status": rules.EXPIRED}
                else:
                    prize = store.get_prize(ref) or prize
            if prize["status"] in (rules.CLAIMABLE, rules.IN_REVIEW):
                open_left = True
                continue
            try:
                done["settled"] += _settle(ref, prize)
            except Exception:
                # One prize's failure (a busy ledger, EventBridge down) must not stop the others; the event stays
                # unsettled, so the next run tries again.
                logger.exception("could not settle a prize", extra={"prize_id": ref.prize_id})
                open_left = True
        run = distribution_store.get_run(event.id)
        # Only a finished (or rolled back) run has written all its prizes: before that, more may come.
        if not open_left and run is not None and run["status"] in ("COMPLETED", "ROLLED_BACK"):
            store.mark_settled(event.id, moment)
    if done["expired"]:
        count("PrizesExpired", done["expired"])
    return done


def _expire(ref: PrizeRef, prize: dict[str, Any], fields: dict[str, Any], moment: datetime) -> bool:
    return store.apply(
        [
            store.prize_transition(ref, (rules.CLAIMABLE,), rules.EXPIRED, fields, deadline_before=moment),
            store.history_entry(
                ref.user_id,
                moment,
                {
                    "action": "expire",
                    "outcome": rules.EXPIRED,
                    "reason": "claim_deadline_passed",
                    "actor": SYSTEM,
                    **_what(prize, ref),
                },
            ),
        ]
    )
