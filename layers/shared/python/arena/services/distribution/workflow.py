"""Prize distribution: from a COMPLETED event's frozen results to points credited, payouts requested and custom
prizes queued, exactly once, resumable after a crash at any point, verifiable and reversible.

The workflow (statemachine/distribution.asl.json, one task per step below, run by Step Functions in AWS and by
moto's interpreter on the local stack; without a state machine `run_to_end` runs the same steps in-process). The
run (store/distribution.py) moves PLANNED -> DISTRIBUTING -> VERIFIED -> COMPLETED (FAILED when the verification
finds a mismatch; ROLLED_BACK after a rollback). Every step is idempotent (at-least-once delivery is safe):

1. **validate**: the event is COMPLETED and ``domain.prizes.calculate`` can plan its frozen results (eligible =
   qualified and not disqualified; a result's ``tie_group`` ties it for prizes with the others of its group).
2. **freeze**: one conditional put creates the run, pinning the plan's fingerprint and totals: two requests
   start one run.
3. **calculate**: the awards are written in batches of at most 30 (deterministic keys), the run moves to
   DISTRIBUTING, and the event pool is funded once from issuance with the points put up (key
   ``prize-pool:<event>``); the points not paid (unfilled ranks, rounding, caps) move on to the treasury
   (``prize-treasury:<event>``).
4. **distribute_batch** (a Map over the batches): one transaction per batch holds its ledger posting (the pool
   pays every points prize of the batch, key ``prize-batch:<event>:<batch>``), its prize records, DONE and the
   run's progress: all or nothing, so a crash leaves a batch either paid or untouched. Token prizes publish a
   ``PayoutRequested`` domain event (``payout_id`` = the prize's key; at least once, the consumer dedupes) after
   the commit, through an outbox flag; custom prizes wait for an admin (CUSTOM_PENDING). Events in the ``manual``
   claim mode pay nobody yet: their points move to the event's claims account and every prize is CLAIMABLE until
   its ``claim_deadline`` (services/claims.py takes it from there).
5. **verify**: payouts left in the outbox are published; the sum and count of the user prizes equal the plan
   exactly per currency, every batch is DONE and the pool is back to zero -> VERIFIED, else FAILED.
6. **complete**: ``PrizesDistributed`` is published, then COMPLETED.

Any failure the workflow's retries do not cure goes to **rollback**: every paid batch is reversed by one
compensating posting (``prize-rollback:<event>:<batch>``) written with its prizes turning ROLLED_BACK, the pool is
returned to issuance (the treasury and funding postings reversed) and ``PrizesRolledBack`` is published once.
Prizes past a reversible state (paid out, claimed...) and points the user has since spent are refused and listed;
the rest is rolled back. Repeating a rollback finishes what a crash left.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from arena import clock
from arena.adapters import domain_events, workflows
from arena.auth import Principal
from arena.config import settings
from arena.domain import ledger as ledger_rules
from arena.domain import prizes
from arena.domain.events import EventStatus
from arena.domain.exact import EXACT
from arena.domain.prizes import Award, Currency, Placed, Plan
from arena.domain.statuses import BatchStatus, DomainEvent, PrizeStatus, RunStatus
from arena.errors import BadRequest, Conflict, NotFound
from arena.ids import new_id
from arena.models.events import Event
from arena.models.prizes import (
    BatchProgress,
    DistributionRun,
    DistributionStatus,
    PrizeAward,
    RefusedPrize,
    RollbackResult,
    UserPrize,
    ValidationResult,
)
from arena.observability import count, logger
from arena.services import ledger
from arena.services.events import load, require_manager
from arena.store import audit
from arena.store import distribution as store
from arena.store import results as results_store

# 30 awards: a batch's transaction holds its posting (1 + 2 x 31 legs at most), 30 prize puts and 2 progress
# updates: 95 of DynamoDB's 100 actions.
BATCH_SIZE = 30
SYSTEM = "arena-distribution"  # who acts when the workflow or a schedule does
_ROLLBACK_ATTEMPTS = 10
POINTS = Currency("points", None)

PLANNED, DISTRIBUTING, VERIFIED, COMPLETED, FAILED, ROLLED_BACK = (
    RunStatus.PLANNED,
    RunStatus.DISTRIBUTING,
    RunStatus.VERIFIED,
    RunStatus.COMPLETED,
    RunStatus.FAILED,
    RunStatus.ROLLED_BACK,
)
CREDITED, PAYOUT_REQUESTED, CUSTOM_PENDING, CLAIMABLE = (
    PrizeStatus.CREDITED,
    PrizeStatus.PAYOUT_REQUESTED,
    PrizeStatus.CUSTOM_PENDING,
    PrizeStatus.CLAIMABLE,
)
# A rollback reverses prizes in these states; any other (claimed, paid out, fulfilled...) is refused and listed.
REVERSIBLE = frozenset({PrizeStatus.PLANNED, CREDITED, CUSTOM_PENDING, CLAIMABLE, PrizeStatus.ROLLED_BACK})

PRIZES_DISTRIBUTED = DomainEvent.PRIZES_DISTRIBUTED
PRIZES_ROLLED_BACK = DomainEvent.PRIZES_ROLLED_BACK
PAYOUT_REQUESTED_EVENT = DomainEvent.PAYOUT_REQUESTED


class DistributionInvalid(Conflict):
    """The prizes cannot be planned (the dry run lists why), or the frozen results changed since they were."""


class DistributionMismatch(Conflict):
    """Verification found the written prizes differ from the plan: the workflow rolls the run back."""


# ---------------------------------------------------------------------------------------------- keys and names


def prize_key(event_id: str, user_id: str, rule_index: int) -> str:
    return f"prize:{event_id}:{user_id}:{rule_index}"


def batch_key(event_id: str, batch_index: int) -> str:
    """The idempotency key of the posting that pays a batch's points prizes."""
    return f"prize-batch:{event_id}:{batch_index}"


def rollback_batch_key(event_id: str, batch_index: int) -> str:
    return f"prize-rollback:{event_id}:{batch_index}"


def pool_key(event_id: str) -> str:
    return f"prize-pool:{event_id}"


def treasury_key(event_id: str) -> str:
    return f"prize-treasury:{event_id}"


def currency_name(currency: Currency) -> str:
    return currency.prize_type if currency.token is None else f"{currency.prize_type}:{currency.token}"


def _award_currency(award: dict[str, Any]) -> str:
    token = award.get("description") if award["type"] == "custom" else award.get("token")
    return currency_name(Currency(award["type"], token))


def canonical(value: Decimal | int | str) -> Decimal:
    """Without trailing zeros and without an exponent ("1000.00000000" -> "1000", "250.50" -> "250.5"), exactly as
    DynamoDB reads it back, so a plan compares equal to what was stored."""
    normal = EXACT.normalize(Decimal(value))
    exponent = normal.as_tuple().exponent
    return normal.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else normal


def _names(amounts: dict[Currency, Decimal]) -> dict[str, Decimal]:
    return {currency_name(c): canonical(amount) for c, amount in amounts.items()}


# ---------------------------------------------------------------------------------------------- planning


def _placed(results: Iterable[dict[str, Any]]) -> list[Placed]:
    return [
        Placed(
            user_id=r["user_id"],
            rank=int(r["rank"]),
            score=Decimal(r["score"]),
            eligible=bool(r.get("qualified")) and not r.get("disqualified"),
            # tied for prizes with the other results of the group (equal score, reached at the same time)
            tie_group=None if r.get("tie_group") is None else str(r["tie_group"]),
        )
        for r in results
    ]


def _record(event_id: str, award: Award) -> dict[str, Any]:
    return {
        "user_id": award.user_id,
        "rule_index": award.rule_index,
        "prize_rank": award.prize_rank,
        "type": award.prize_type,
        "token": award.token,
        "description": award.description,
        "amount": canonical(award.amount),
        "key": prize_key(event_id, award.user_id, award.rule_index),
    }


class _DryRun:
    """The plan of an event, and every problem found on the way."""

    def __init__(self, event: Event) -> None:
        self.event = event
        self.results = results_store.read(event.id) if event.status == EventStatus.COMPLETED else []
        self.placed = _placed(self.results)
        self.problems: list[str] = []
        self.plan: Plan | None = None
        if event.status != EventStatus.COMPLETED:
            self.problems.append(f"the event is {event.status.value}, not COMPLETED")
        elif not self.results:
            self.problems.append("the event has no frozen results")
        if not event.prizes:
            self.problems.append("the event has no prize table")
        table = event.prize_settings.table(event.prizes)
        table_problems = prizes.validate(table)
        self.problems.extend(f"prize table: {p}" for p in table_problems)
        if self.results and not any(p.eligible for p in self.placed):
            self.problems.append("nobody is eligible for a prize (none qualified)")
        if not table_problems and event.status == EventStatus.COMPLETED:
            try:
                self.plan = prizes.calculate(table, self.placed)
            except ValueError as error:
                self.problems.append(f"the results cannot be ranked for prizes: {error}")
        if self.plan is not None and self.results and event.prizes and not self.plan.awards:
            self.problems.append("no participant is placed in a prize range")
        self.records = [_record(event.id, a) for a in self.plan.awards] if self.plan else []

    def fingerprint(self) -> str:
        canonical = json.dumps(self.records, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def counts(self) -> dict[str, int]:
        return dict(Counter(_award_currency(r) for r in self.records))

    def result(self) -> ValidationResult:
        plan = self.plan
        return ValidationResult(
            event_id=self.event.id,
            event_status=self.event.status.value,
            ok=not self.problems,
            problems=self.problems,
            results_count=len(self.results),
            eligible_count=sum(1 for p in self.placed if p.eligible),
            awards=[PrizeAward(**r) for r in self.records],
            pool_total=_names(plan.pool_total) if plan else {},
            paid=_names(plan.paid()) if plan else {},
            treasury=_names(plan.treasury) if plan else {},
        )


def _principal_may_manage(principal: Principal | None, event: Event) -> None:
    if principal is not None:
        require_manager(principal, event)


def validate_prize_distribution(event_id: str, principal: Principal | None = None) -> ValidationResult:
    """The dry run: who would get what, the pool totals and the treasury, and every problem found. Writes nothing."""
    event = load(event_id)
    _principal_may_manage(principal, event)
    return _DryRun(event).result()


def _require_completed(event: Event) -> None:
    if event.status != EventStatus.COMPLETED:
        raise Conflict(
            f"Prizes are distributed once the event is COMPLETED; it is {event.status.value}.",
            code="event_not_completed",
            details={"status": event.status.value},
        )


def calculate_user_prize(event_id: str, user_id: str, principal: Principal | None = None) -> UserPrize:
    """What the user gets (from the plan), with each prize's status when a distribution has written it."""
    event = load(event_id)
    _principal_may_manage(principal, event)
    _require_completed(event)
    dry = _DryRun(event)
    mine = next((r for r in dry.results if r["user_id"] == user_id), None)
    placed = next((p for p in dry.placed if p.user_id == user_id), None)
    stored = {int(p["rule_index"]): p for p in store.user_prizes(event_id, user_id)}
    awards = []
    totals: dict[str, Decimal] = {}
    for record in (r for r in dry.records if r["user_id"] == user_id):
        status = stored.get(record["rule_index"], {}).get("status", "PLANNED")
        awards.append(PrizeAward(**record, status=status))
        name = _award_currency(record)
        totals[name] = EXACT.add(totals.get(name, Decimal(0)), record["amount"])
    # The prize rank among the eligible (prizes roll down past the ineligible); else the frozen one.
    prize_rank = min((a.prize_rank for a in awards), default=None)
    if prize_rank is None and mine and mine.get("prize_rank") is not None:
        prize_rank = int(mine["prize_rank"])
    return UserPrize(
        event_id=event_id,
        user_id=user_id,
        rank=int(mine["rank"]) if mine else None,
        prize_rank=prize_rank,
        eligible=bool(placed and placed.eligible),
        awards=awards,
        totals=totals,
    )


# ---------------------------------------------------------------------------------------------- the run


def _run_view(run: dict[str, Any], created: bool = False) -> DistributionRun:
    return DistributionRun(
        event_id=run["event_id"],
        run_id=run["run_id"],
        status=run["status"],
        created_by=run["created_by"],
        created_at=run["created_at"],
        updated_at=run["updated_at"],
        award_count=int(run["award_count"]),
        batch_count=int(run["batch_count"]),
        batches_done=int(run.get("batches_done", 0)),
        pool_total=run.get("pool_total", {}),
        paid=run.get("paid", {}),
        treasury=run.get("treasury", {}),
        problems=list(run.get("problems", [])),
        created=created,
    )


def _batches_of(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "batch_index": i,
            "status": BatchStatus.PENDING,
            "awards": records[start : start + BATCH_SIZE],
            "user_ids": list(dict.fromkeys(r["user_id"] for r in records[start : start + BATCH_SIZE])),
        }
        for i, start in enumerate(range(0, len(records), BATCH_SIZE))
    ]


def _open_run(event: Event, requested_by: str) -> tuple[dict[str, Any], bool]:
    """Validate and freeze: the run pins the plan (its fingerprint, totals and batch count) of the frozen results.
    One conditional put: two requests open one run. Returns (run, created)."""
    run = store.get_run(event.id)
    if run is not None:
        return run, False
    dry = _DryRun(event)
    if dry.problems:
        raise DistributionInvalid(
            "The prizes cannot be distributed; see the problems.",
            code="distribution_invalid",
            details={"problems": dry.problems},
        )
    now = clock.now()
    plan = dry.plan
    assert plan is not None
    created = store.create_run(
        event.id,
        {
            "run_id": new_id(),
            "status": PLANNED,
            "created_by": requested_by,
            "created_at": clock.to_iso(now),
            "updated_at": clock.to_iso(now),
            "award_count": len(dry.records),
            "batch_count": len(_batches_of(dry.records)),
            "batches_done": 0,
            "pool_total": _names(plan.pool_total),
            "paid": _names(plan.paid()),
            "treasury": _names(plan.treasury),
            "counts": dry.counts(),
            "fingerprint": dry.fingerprint(),
        },
    )
    if created:
        count("PrizeDistributionStarted")
    return _reread(event.id), created


def distribute_event_prizes(principal: Principal, event_id: str) -> DistributionRun:
    """distributeEventPrizes: open the event's one run and hand it to the distribution workflow (Step Functions,
    when `DISTRIBUTION_STATE_MACHINE_ARN` is set: the answer then shows the run as the workflow found it), or run
    its steps to the end in this call. A repeat resumes a run that stopped (FAILED, or crashed half-way)."""
    event = load(event_id)
    require_manager(principal, event)
    _require_completed(event)
    run, created = _open_run(event, principal.user_id)
    if created:
        audit.append(
            audit.event_subject(event_id),
            principal.user_id,
            "prizes.distribute",
            clock.now(),
            "prize distribution requested",
        )
    return _run_view(_launch(event, run), created)


def start_for_completed(event: Event) -> str | None:
    """processCompletedEvents' hook: open and launch the run of a COMPLETED event with a prize table and none yet.
    Idempotent; returns the run's status, or None when the event has nothing to distribute."""
    if event.status != EventStatus.COMPLETED or not event.prizes or store.get_run(event.id) is not None:
        return None
    try:
        run, _ = _open_run(event, SYSTEM)
    except DistributionInvalid as error:
        logger.warning("prizes not distributable", extra={"event_id": event.id, "problems": error.details})
        return None
    return str(_launch(event, run)["status"])


def _launch(event: Event, run: dict[str, Any]) -> dict[str, Any]:
    if run["status"] in (COMPLETED, ROLLED_BACK):
        if run["status"] == ROLLED_BACK:
            raise Conflict("This event's distribution was rolled back.", code="distribution_rolled_back")
        return run
    machine = settings().distribution_state_machine_arn
    if machine:
        # One execution per attempt: its name is the run and the attempt (a FAILED run's redo is a new one).
        attempt = int(run.get("attempt", 0))
        workflows.start(machine, f"{run['run_id']}-{attempt}", {"event_id": event.id, "requested_by": SYSTEM})
        return run
    return run_to_end(event.id)


def run_to_end(event_id: str) -> dict[str, Any]:
    """The workflow's steps in this process, in order: what a test or a tool without Step Functions runs. A failure
    leaves the run where it stopped (FAILED after a verification mismatch); a repeat resumes it."""
    for index in calculate(event_id)["batches"]:
        distribute_batch(event_id, index)
    verify_run(event_id)
    complete(event_id)
    return _reread(event_id)


# ------------------------------------------------------------------------------------- the workflow's steps
# Each step is idempotent (at-least-once: Step Functions retries a task, a redrive repeats it) and takes only
# the event id (and a batch index): everything else is read from the run.


def validate(event_id: str) -> dict[str, Any]:
    """Validate: the event is COMPLETED and its prizes can be planned (raises DistributionInvalid), or its run
    exists already."""
    event = load(event_id)
    _require_completed(event)
    run = store.get_run(event_id)
    if run is None:
        problems = _DryRun(event).problems
        if problems:
            raise DistributionInvalid(
                "The prizes cannot be distributed; see the problems.",
                code="distribution_invalid",
                details={"problems": problems},
            )
    return {"event_id": event_id, "valid": True}


def freeze(event_id: str, requested_by: str = SYSTEM) -> dict[str, Any]:
    """Freeze results: the run pins the frozen results it pays (see `_open_run`)."""
    run, created = _open_run(load(event_id), requested_by)
    return {"event_id": event_id, "run_id": run["run_id"], "status": run["status"], "created": created}


def calculate(event_id: str) -> dict[str, Any]:
    """Calculate: write the plan's batches (PLANNED -> DISTRIBUTING; a FAILED run goes back to DISTRIBUTING to be
    finished), fund the pool, and list the batches still to pay."""
    event = load(event_id)
    run = _reread(event_id)
    if run["status"] == ROLLED_BACK:
        raise Conflict("This event's distribution was rolled back.", code="distribution_rolled_back")
    if run["status"] == PLANNED:
        dry = _DryRun(event)
        if dry.fingerprint() != run["fingerprint"]:
            raise DistributionInvalid(
                "The frozen results changed since the distribution was planned.", code="distribution_plan_changed"
            )
        store.put_batches(event_id, _batches_of(dry.records))
        run = store.set_run_status(event_id, (PLANNED,), DISTRIBUTING, clock.now()) or _reread(event_id)
    if run["status"] == FAILED:
        attempt = int(run.get("attempt", 0)) + 1
        run = store.set_run_status(event_id, (FAILED,), DISTRIBUTING, clock.now(), problems=[], attempt=attempt)
        run = run or _reread(event_id)
    if run["status"] != DISTRIBUTING:
        return {"event_id": event_id, "status": run["status"], "batches": []}
    _fund(event_id, run)
    pending = [int(b["batch_index"]) for b in store.batch_statuses(event_id) if b["status"] != BatchStatus.DONE]
    return {"event_id": event_id, "status": run["status"], "batches": pending}


def distribute_batch(event_id: str, batch_index: int) -> dict[str, Any]:
    """Distribute one batch, all or nothing: one transaction holds the batch's ledger posting (the pool pays every
    points prize of the batch: users, or the event's claims account in manual mode), its prize records, the batch
    turning DONE and the run's progress. Token payouts are requested after it commits (an outbox: the prize says
    ``payout_pending`` until its request is on the bus). A repeat of a DONE batch writes nothing."""
    event = load(event_id)
    run = _reread(event_id)
    if run["status"] != DISTRIBUTING:  # rolled back or finished meanwhile: pay nothing
        return {"batch_index": batch_index, "applied": False, "run_status": run["status"]}
    batch = store.get_batch(event_id, batch_index)
    if batch is None:
        raise NotFound(f"No batch {batch_index} in this distribution.", code="batch_not_found")
    if batch["status"] == BatchStatus.DONE:
        return {"batch_index": batch_index, "applied": False, "run_status": run["status"]}
    now = clock.now()
    prizes, credits = _batch_prizes(event, run, batch, now)
    actions = [*store.prize_puts(event_id, prizes), *store.batch_done_actions(event_id, batch_index, now)]
    if credits:
        pool = ledger_rules.event_pool_account(event_id)
        legs = [(pool, -_total(credits.values())), *credits.items()]
        manual = event.claim.mode == "manual"
        kind, memo = ("prize_held", "prizes to claim") if manual else ("prize_credit", "prizes")
        try:
            ledger.post(
                legs, batch_key(event_id, batch_index), kind, f"{memo}, batch {batch_index}", with_actions=actions
            )
        except Conflict as error:
            if error.code != "posting_actions_refused":
                raise
            return {"batch_index": batch_index, "applied": False, "run_status": _reread(event_id)["status"]}
    elif not store.write_all(actions):
        return {"batch_index": batch_index, "applied": False, "run_status": _reread(event_id)["status"]}
    _publish_payouts(event_id, [p for p in prizes if p.get("payout_pending")])
    return {"batch_index": batch_index, "applied": True, "run_status": run["status"]}


def _total(amounts: Iterable[Decimal]) -> Decimal:
    total = Decimal(0)
    for amount in amounts:
        total = EXACT.add(total, amount)
    return total


def _batch_prizes(
    event: Event, run: dict[str, Any], batch: dict[str, Any], now: datetime
) -> tuple[list[dict[str, Any]], dict[str, Decimal]]:
    """The prize records of a batch, and the points each account is credited (per user; or all to the event's
    claims account when prizes must be claimed)."""
    manual = event.claim.mode == "manual"
    index = int(batch["batch_index"])
    extra: dict[str, Any] = {"batch_index": index, "applied_at": clock.to_iso(now)}
    if manual:
        extra["claim_deadline"] = clock.to_iso(claim_deadline(event, run))
    prizes: list[dict[str, Any]] = []
    credits: dict[str, Decimal] = {}
    for award in batch["awards"]:
        amount = Decimal(award["amount"])
        prize = {**award, **extra}
        if award["type"] == "points":
            prize["status"] = CLAIMABLE if manual else CREDITED
            if amount > 0:
                account = (
                    ledger_rules.event_claims_account(event.id)
                    if manual
                    else ledger_rules.user_account(award["user_id"])
                )
                credits[account] = EXACT.add(credits.get(account, Decimal(0)), amount)
                prize["posting_key"] = batch_key(event.id, index)
        elif award["type"] == "token":
            prize["status"] = CLAIMABLE if manual else PAYOUT_REQUESTED
            if amount > 0 and not manual:
                prize["payout_pending"] = True
        else:
            prize["status"] = CLAIMABLE if manual else CUSTOM_PENDING
        prizes.append(prize)
    return prizes, credits


def claim_deadline(event: Event, run: dict[str, Any]) -> datetime:
    """A manual-claim prize may be claimed until the run's start plus the event's claim window: the same instant
    for every prize of the run, however often a crashed batch is repeated."""
    return clock.from_iso(run["created_at"]) + timedelta(days=event.claim.window_days)


def _publish_payouts(event_id: str, prizes: list[dict[str, Any]]) -> None:
    for prize in prizes:
        request_payout(event_id, prize, prize["key"])
    if prizes:
        store.mark_payouts_published(event_id, prizes, clock.now())


def request_payout(event_id: str, award: dict[str, Any], payout_id: str) -> None:
    """Ask the exchange's wallet service to pay a token prize. At least once: the consumer dedupes by payout id."""
    domain_events.publish(
        PAYOUT_REQUESTED_EVENT,
        {
            "payout_id": payout_id,
            "event_id": event_id,
            "user_id": award["user_id"],
            "rule_index": int(award["rule_index"]),
            "token": award["token"],
            "amount": Decimal(award["amount"]),
        },
    )


def verify_run(event_id: str) -> dict[str, Any]:
    """Verify: publish what the outbox still holds, then compare the written prizes with the plan. DISTRIBUTING ->
    VERIFIED, or FAILED and DistributionMismatch with every problem."""
    run = _reread(event_id)
    if run["status"] != DISTRIBUTING:
        return {"event_id": event_id, "status": run["status"], "problems": list(run.get("problems", []))}
    prizes = store.prizes(event_id)
    _publish_payouts(event_id, [p for p in prizes if p.get("payout_pending")])
    problems = verify(event_id, prizes)
    if problems:
        logger.error("prize distribution failed verification", extra={"event_id": event_id, "problems": problems})
        count("PrizeDistributionFailed")
        store.set_run_status(event_id, (DISTRIBUTING,), FAILED, clock.now(), problems=problems)
        raise DistributionMismatch(
            "The distribution does not match its plan.", code="distribution_mismatch", details={"problems": problems}
        )
    run = store.set_run_status(event_id, (DISTRIBUTING,), VERIFIED, clock.now()) or _reread(event_id)
    return {"event_id": event_id, "status": run["status"], "problems": []}


def complete(event_id: str) -> dict[str, Any]:
    """Complete: publish PrizesDistributed (at least once) and move VERIFIED -> COMPLETED."""
    run = _reread(event_id)
    if run["status"] == VERIFIED:
        domain_events.publish(PRIZES_DISTRIBUTED, _published(run))
        run = store.set_run_status(event_id, (VERIFIED,), COMPLETED, clock.now()) or _reread(event_id)
        if run["status"] == COMPLETED:
            count("PrizesDistributed")
    return {"event_id": event_id, "status": run["status"]}


def rollback_failed(event_id: str, error: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The workflow's Catch: roll back what a failed run paid (nothing when no run was opened)."""
    if store.get_run(event_id) is None:
        return {"event_id": event_id, "rolled_back": 0, "refused": 0}
    cause = str((error or {}).get("Cause") or (error or {}).get("Error") or "distribution failed")[:500]
    result = _rollback(event_id, SYSTEM, f"workflow failed: {cause}", audited_by=None)
    return {"event_id": event_id, "rolled_back": result.rolled_back, "refused": len(result.refused)}


STEPS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "validate": lambda task: validate(task["event_id"]),
    "freeze": lambda task: freeze(task["event_id"], task.get("requested_by") or SYSTEM),
    "calculate": lambda task: calculate(task["event_id"]),
    "distribute_batch": lambda task: distribute_batch(task["event_id"], int(task["batch_index"])),
    "verify": lambda task: verify_run(task["event_id"]),
    "complete": lambda task: complete(task["event_id"]),
    "rollback": lambda task: rollback_failed(task["event_id"], task.get("error")),
}


def run_step(task: dict[str, Any]) -> dict[str, Any]:
    """One task of the distribution workflow (statemachine/distribution.asl.json): {"step", "event_id", ...}."""
    step = STEPS.get(str(task.get("step")))
    if step is None or not isinstance(task.get("event_id"), str):
        raise BadRequest(f"Unknown workflow task: {str(task)[:200]}", code="unknown_step")
    return step(task)


def _reread(event_id: str) -> dict[str, Any]:
    run = store.get_run(event_id)
    if run is None:
        raise NotFound(f"No prize distribution for event {event_id}.", code="distribution_not_found")
    return run


def _published(run: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "event_id": run["event_id"],
        "run_id": run["run_id"],
        "award_count": int(run["award_count"]),
        "paid": run.get("paid", {}),
        "treasury": run.get("treasury", {}),
        **extra,
    }


def _fund(event_id: str, run: dict[str, Any]) -> None:
    """Issuance -> the event pool (the points put up), then the pool -> the treasury (the points not paid)."""
    pool = ledger_rules.event_pool_account(event_id)
    put_up = Decimal(run.get("pool_total", {}).get(currency_name(POINTS), 0))
    kept = Decimal(run.get("treasury", {}).get(currency_name(POINTS), 0))
    if put_up > 0:
        ledger.post(ledger_rules.transfer("issuance", pool, put_up), pool_key(event_id), "prize_pool", "prize pool")
    if kept > 0:
        ledger.post(ledger_rules.transfer(pool, "treasury", kept), treasury_key(event_id), "prize_treasury", "not paid")


def verify(event_id: str, prizes: list[dict[str, Any]] | None = None) -> list[str]:
    """Every mismatch between the run's plan and what was written (the event's prizes, read here unless given):
    [] when the distribution is exact."""
    run = _reread(event_id)
    problems: list[str] = []
    paid: dict[str, Decimal] = {}
    counted: Counter[str] = Counter()
    for prize in store.prizes(event_id) if prizes is None else prizes:
        if prize["status"] == ROLLED_BACK:
            continue
        name = _award_currency(prize)
        paid[name] = EXACT.add(paid.get(name, Decimal(0)), Decimal(prize["amount"]))
        counted[name] += 1
    planned = {name: Decimal(v) for name, v in run.get("paid", {}).items()}
    for name in sorted(set(planned) | set(paid)):
        if paid.get(name, Decimal(0)) != planned.get(name, Decimal(0)):
            problems.append(f"{name}: paid {paid.get(name, 0)}, planned {planned.get(name, 0)}")
    for name, planned_count in run.get("counts", {}).items():
        if counted[name] != int(planned_count):
            problems.append(f"{name}: {counted[name]} prizes written, {int(planned_count)} planned")
    pending = [int(b["batch_index"]) for b in store.batch_statuses(event_id) if b["status"] != BatchStatus.DONE]
    if pending:
        problems.append(f"batches not done: {pending}")
    if currency_name(POINTS) in run.get("pool_total", {}):
        left = ledger.balance(ledger_rules.event_pool_account(event_id))
        if left != 0:
            problems.append(f"the event pool holds {left} points, not 0")
    return problems


# ---------------------------------------------------------------------------------------------- reading


def distribution_status(event_id: str, principal: Principal | None = None) -> DistributionStatus:
    event = load(event_id)
    _principal_may_manage(principal, event)
    run = _reread(event_id)
    return DistributionStatus(
        run=_run_view(run),
        batches=[
            BatchProgress(
                batch_index=int(b["batch_index"]),
                status=b["status"],
                awards=len(b["awards"]),
                user_ids=list(b.get("user_ids", [])),
            )
            for b in store.batches(event_id)
        ],
        prizes_by_status=dict(Counter(p["status"] for p in store.prizes(event_id))),
    )


# ---------------------------------------------------------------------------------------------- rollback


def rollback_prize_distribution(principal: Principal, event_id: str, reason: str = "rollback") -> RollbackResult:
    """rollbackPrizeDistribution: undo the distribution: reverse every batch's points with compensating postings,
    return the pool to issuance, mark the prizes ROLLED_BACK. Refuses (and lists) prizes past a reversible state
    (paid out, claimed...) and points their owner has spent. Idempotent: a repeat finishes what a crash left."""
    event = load(event_id)
    require_manager(principal, event)
    return _rollback(event_id, principal.user_id, reason, audited_by=principal)


def _rollback(event_id: str, actor: str, reason: str, audited_by: Principal | None) -> RollbackResult:
    event = load(event_id)
    run = _reread(event_id)
    now = clock.now()
    if run["status"] != ROLLED_BACK:
        others = (PLANNED, DISTRIBUTING, VERIFIED, COMPLETED, FAILED)
        updated = store.set_run_status(
            event_id, others, ROLLED_BACK, now, rolled_back_by=actor, previous_status=run["status"], reason=reason
        )
        if updated is not None and audited_by is not None:
            audit.append(
                audit.event_subject(event_id),
                audited_by.user_id,
                "prizes.rollback",
                now,
                reason,
                previous_status=run["status"],
            )
        run = updated or _reread(event_id)
    if run["status"] != ROLLED_BACK:
        raise Conflict("The distribution changed meanwhile; retry.", code="distribution_changed")

    stored: dict[int, list[dict[str, Any]]] = {}
    for prize in store.prizes(event_id):
        stored.setdefault(int(prize.get("batch_index", -1)), []).append(prize)
    for batch in store.batches(event_id):
        index = int(batch["batch_index"])
        if batch["status"] == BatchStatus.DONE:
            _rollback_batch(event, index, stored.get(index, []), now)
        else:  # never paid (all or nothing): its awards are simply rolled back
            written = {(p["user_id"], int(p["rule_index"])) for p in stored.get(index, [])}
            store.put_prizes(
                event_id,
                [
                    _rolled_back(award, "PLANNED", now)
                    for award in batch["awards"]
                    if (award["user_id"], int(award["rule_index"])) not in written
                ],
            )
    for original, compensating in (
        (treasury_key(event_id), f"prize-treasury-rollback:{event_id}"),
        (pool_key(event_id), f"prize-pool-rollback:{event_id}"),
    ):
        if ledger.get_posting(original) is not None:
            ledger.reverse(original, compensating, "prize_rollback", "prize pool returned")

    final = store.prizes(event_id)
    rolled = sum(1 for p in final if p["status"] == ROLLED_BACK)
    refused = [
        _refused(p, "points_spent" if p["status"] == CREDITED else p["status"].lower())
        for p in final
        if p["status"] != ROLLED_BACK
    ]
    if not run.get("rollback_published"):
        domain_events.publish(
            PRIZES_ROLLED_BACK,
            _published(run, rolled_back=rolled, refused=[r.model_dump(mode="json") for r in refused]),
        )
        run = store.set_run_status(
            event_id, (ROLLED_BACK,), ROLLED_BACK, clock.now(), rollback_published=True, refused_count=len(refused)
        ) or _reread(event_id)
        count("PrizesRolledBack")
    return RollbackResult(run=_run_view(run), rolled_back=rolled, refused=refused)


def _rolled_back(prize: dict[str, Any], previous: str, now: datetime) -> dict[str, Any]:
    return {**prize, "status": ROLLED_BACK, "previous_status": previous, "rolled_back_at": clock.to_iso(now)}


def _rollback_batch(event: Event, index: int, prizes: list[dict[str, Any]], now: datetime) -> None:
    """One compensating posting per paid batch, written with its prizes turning ROLLED_BACK: all or nothing. The
    posting's key is the batch's, so a repeat finds it and writes nothing; prizes that cannot be reversed keep
    their status (and are listed as refused). Each prize turns ROLLED_BACK only from the status it was read in: a
    claim landing meanwhile cancels the transaction, and the batch is read again and retried without it."""
    key = rollback_batch_key(event.id, index)
    if ledger.get_posting(key) is not None:
        return
    spent: set[str] = set()
    for _ in range(_ROLLBACK_ATTEMPTS):
        reversible = [p for p in prizes if p["status"] in REVERSIBLE and p["status"] != ROLLED_BACK]
        undone = [p for p in reversible if _credited_account(event, p) not in spent]
        debits: dict[str, Decimal] = {}
        for prize in undone:
            account = _credited_account(event, prize)
            if account is not None:
                debits[account] = EXACT.add(debits.get(account, Decimal(0)), Decimal(prize["amount"]))
        actions = store.prize_puts(
            event.id, [_rolled_back(p, p["status"], now) for p in undone], was=[p["status"] for p in undone]
        )
        if not debits:
            if not actions or store.write_all(actions):
                return
        else:
            pool = ledger_rules.event_pool_account(event.id)
            legs = [(pool, _total(debits.values())), *((a, -amount) for a, amount in debits.items())]
            try:
                ledger.post(legs, key, "prize_rollback", f"prizes rolled back, batch {index}", with_actions=actions)
                return
            except Conflict as error:
                if error.code == "insufficient_balance":
                    spent |= set((error.details or {}).get("accounts", []))
                    continue
                if error.code != "posting_actions_refused":
                    raise
        # A prize moved on (claimed) since it was read: read the batch again.
        prizes = list(store.get_prizes(event.id, [(p["user_id"], int(p["rule_index"])) for p in prizes]).values())
    raise Conflict("The prizes keep changing under the rollback; retry.", code="distribution_changed")


def _credited_account(event: Event, prize: dict[str, Any]) -> str | None:
    """The account a points prize went to (its owner, or the claims account while it waits); None: no points."""
    if prize["type"] != "points" or Decimal(prize["amount"]) <= 0 or "posting_key" not in prize:
        return None
    if prize["status"] == CLAIMABLE:
        return ledger_rules.event_claims_account(event.id)
    return ledger_rules.user_account(prize["user_id"])


def _refused(award: dict[str, Any], reason: str) -> RefusedPrize:
    return RefusedPrize(
        user_id=award["user_id"],
        rule_index=int(award["rule_index"]),
        type=award["type"],
        amount=Decimal(award["amount"]),
        reason=reason,
    )
