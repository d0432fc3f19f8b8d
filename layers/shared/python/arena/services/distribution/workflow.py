"""The steps of the distribution workflow (statemachine/distribution.asl.json, one task each, run by
functions/prizes/distribution_workflow.py; `run_to_end` runs them in-process where there is no state machine).

Every step is idempotent (Step Functions runs each at least once: retries, redrives) and takes only the event id
(and a batch index): everything else is read from the run. The run moves PLANNED -> DISTRIBUTING -> VERIFIED ->
COMPLETED (FAILED when verification finds a mismatch). A batch is paid in one transaction (its ledger posting, its
prize records, DONE and the run's progress), so a crash leaves it paid or untouched; token payouts are requested
after the commit through an outbox flag (``payout_pending``); in the ``manual`` claim mode points wait in the
event's claims account and every prize is CLAIMABLE until its ``claim_deadline`` (services/claims/ goes on).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from arena import clock
from arena.adapters import domain_events
from arena.domain import distribution as plans
from arena.domain import ledger as ledger_rules
from arena.domain.distribution import BATCH_SIZE, POINTS, Batch, PrizeRecord, Run
from arena.domain.exact import EXACT
from arena.domain.statuses import BatchStatus, DomainEvent, PrizeStatus, RunStatus
from arena.errors import BadRequest, Conflict, NotFound
from arena.ids import new_id
from arena.models.events import Event
from arena.observability import count, logger
from arena.services import ledger
from arena.services.distribution.common import (
    SYSTEM,
    DistributionInvalid,
    DistributionMismatch,
    published,
    read_plan,
    require_completed,
    require_distributable,
    require_run,
    rolled_back,
)
from arena.services.distribution.rollback import rollback_failed
from arena.services.events import load
from arena.store import distribution as store


def open_run(event: Event, requested_by: str) -> tuple[Run, bool]:
    """Validate and freeze: the run pins the plan (its fingerprint, totals and batch count) of the frozen results.
    One conditional put: two requests open one run. Returns (run, created)."""
    run = store.get_run(event.id)
    if run is not None:
        return run, False
    dry = read_plan(event)
    require_distributable(dry)
    plan = dry.plan
    assert plan is not None
    now = clock.to_iso(clock.now())
    created = store.create_run(
        event.id,
        Run(
            event_id=event.id,
            run_id=new_id(),
            status=RunStatus.PLANNED,
            created_by=requested_by,
            created_at=now,
            updated_at=now,
            award_count=len(dry.awards),
            batch_count=len(dry.batches(BATCH_SIZE)),
            pool_total=plans.names(plan.pool_total),
            paid=plans.names(plan.paid()),
            treasury=plans.names(plan.treasury),
            counts=dry.counts(),
            fingerprint=dry.fingerprint(),
        ),
    )
    if created:
        count("PrizeDistributionStarted")
    return require_run(event.id), created


def run_to_end(event_id: str) -> Run:
    """The workflow's steps in this process, in order: what a test or a tool without Step Functions runs. A failure
    leaves the run where it stopped (FAILED after a verification mismatch); a repeat resumes it."""
    for index in calculate(event_id)["batches"]:
        distribute_batch(event_id, index)
    verify_or_fail(event_id)
    complete(event_id)
    return require_run(event_id)


def check_distributable(event_id: str) -> dict[str, Any]:
    """Validate: the event is COMPLETED and its prizes can be planned (raises DistributionInvalid), or its run
    exists already."""
    event = load(event_id)
    require_completed(event)
    if store.get_run(event_id) is None:
        require_distributable(read_plan(event))
    return {"event_id": event_id, "valid": True}


def freeze(event_id: str, requested_by: str = SYSTEM) -> dict[str, Any]:
    """Freeze results: the run pins the frozen results it pays (see `open_run`)."""
    run, created = open_run(load(event_id), requested_by)
    return {"event_id": event_id, "run_id": run.run_id, "status": run.status, "created": created}


def calculate(event_id: str) -> dict[str, Any]:
    """Calculate: write the plan's batches (PLANNED -> DISTRIBUTING; a FAILED run goes back to DISTRIBUTING to be
    finished), fund the pool, and list the batches still to pay."""
    event = load(event_id)
    run = require_run(event_id)
    if run.status == RunStatus.ROLLED_BACK:
        raise rolled_back()
    if run.status == RunStatus.PLANNED:
        dry = read_plan(event)
        if dry.fingerprint() != run.fingerprint:
            raise DistributionInvalid(
                "The frozen results changed since the distribution was planned.", code="distribution_plan_changed"
            )
        store.put_batches(event_id, dry.batches(BATCH_SIZE))
        run = _moved(event_id, (RunStatus.PLANNED,), RunStatus.DISTRIBUTING)
    if run.status == RunStatus.FAILED:
        run = _moved(event_id, (RunStatus.FAILED,), RunStatus.DISTRIBUTING, problems=[], attempt=run.attempt + 1)
    if run.status != RunStatus.DISTRIBUTING:
        return {"event_id": event_id, "status": run.status, "batches": []}
    _fund(run)
    return {"event_id": event_id, "status": run.status, "batches": store.pending_batches(event_id)}


def distribute_batch(event_id: str, batch_index: int) -> dict[str, Any]:
    """Distribute one batch, all or nothing: one transaction holds the batch's ledger posting (the pool pays every
    points prize of the batch: users, or the event's claims account in manual mode), its prize records, the batch
    turning DONE and the run's progress. Token payouts are requested after it commits (an outbox: the prize says
    ``payout_pending`` until its request is on the bus). A repeat of a DONE batch writes nothing."""
    event = load(event_id)
    run = require_run(event_id)
    if run.status != RunStatus.DISTRIBUTING:  # rolled back or finished meanwhile: pay nothing
        return {"batch_index": batch_index, "applied": False, "run_status": run.status}
    batch = store.get_batch(event_id, batch_index)
    if batch is None:
        raise NotFound(f"No batch {batch_index} in this distribution.", code="batch_not_found")
    if batch.status == BatchStatus.DONE:
        return {"batch_index": batch_index, "applied": False, "run_status": run.status}
    now = clock.now()
    prizes, credits = _batch_prizes(event, run, batch, now)
    actions = [*store.prize_puts(prizes), *store.batch_done_actions(event_id, batch_index, now)]
    if credits:
        pool = ledger_rules.event_pool_account(event_id)
        legs = [(pool, -plans.total(credits.values())), *credits.items()]
        manual = event.claim.mode == "manual"
        kind, memo = ("prize_held", "prizes to claim") if manual else ("prize_credit", "prizes")
        try:
            ledger.post(
                legs, plans.batch_key(event_id, batch_index), kind, f"{memo}, batch {batch_index}", with_actions=actions
            )
        except Conflict as error:
            if error.code != "posting_actions_refused":
                raise
            return {"batch_index": batch_index, "applied": False, "run_status": require_run(event_id).status}
    elif not store.write_all(actions):
        return {"batch_index": batch_index, "applied": False, "run_status": require_run(event_id).status}
    _publish_payouts([p for p in prizes if p.payout_pending])
    return {"batch_index": batch_index, "applied": True, "run_status": run.status}


def verify_or_fail(event_id: str) -> dict[str, Any]:
    """Verify: publish what the outbox still holds, then compare the written prizes with the plan. DISTRIBUTING ->
    VERIFIED, or FAILED and DistributionMismatch with every problem."""
    run = require_run(event_id)
    if run.status != RunStatus.DISTRIBUTING:
        return {"event_id": event_id, "status": run.status, "problems": list(run.problems)}
    prizes = store.prizes(event_id)
    _publish_payouts([p for p in prizes if p.payout_pending])
    problems = verify(event_id, prizes)
    if problems:
        logger.error("prize distribution failed verification", extra={"event_id": event_id, "problems": problems})
        count("PrizeDistributionFailed")
        store.set_run_status(event_id, (RunStatus.DISTRIBUTING,), RunStatus.FAILED, clock.now(), problems=problems)
        raise DistributionMismatch(
            "The distribution does not match its plan.", code="distribution_mismatch", details={"problems": problems}
        )
    run = _moved(event_id, (RunStatus.DISTRIBUTING,), RunStatus.VERIFIED)
    return {"event_id": event_id, "status": run.status, "problems": []}


def verify(event_id: str, prizes: list[PrizeRecord] | None = None) -> list[str]:
    """Every mismatch between the run's plan and what was written (the event's prizes, read here unless given):
    [] when the distribution is exact."""
    run = require_run(event_id)
    problems: list[str] = []
    paid: dict[str, Decimal] = {}
    counted: Counter[str] = Counter()
    for prize in store.prizes(event_id) if prizes is None else prizes:
        if prize.status == PrizeStatus.ROLLED_BACK:
            continue
        paid[prize.currency_name] = EXACT.add(paid.get(prize.currency_name, Decimal(0)), prize.amount)
        counted[prize.currency_name] += 1
    planned = {name: Decimal(v) for name, v in run.paid.items()}
    for name in sorted(set(planned) | set(paid)):
        if paid.get(name, Decimal(0)) != planned.get(name, Decimal(0)):
            problems.append(f"{name}: paid {paid.get(name, 0)}, planned {planned.get(name, 0)}")
    for name, planned_count in run.counts.items():
        if counted[name] != planned_count:
            problems.append(f"{name}: {counted[name]} prizes written, {planned_count} planned")
    pending = store.pending_batches(event_id)
    if pending:
        problems.append(f"batches not done: {pending}")
    if plans.currency_name(POINTS) in run.pool_total:
        left = ledger.balance(ledger_rules.event_pool_account(event_id))
        if left != 0:
            problems.append(f"the event pool holds {left} points, not 0")
    return problems


def complete(event_id: str) -> dict[str, Any]:
    """Complete: publish PrizesDistributed (at least once) and move VERIFIED -> COMPLETED."""
    run = require_run(event_id)
    if run.status == RunStatus.VERIFIED:
        domain_events.publish(DomainEvent.PRIZES_DISTRIBUTED, published(run))
        run = _moved(event_id, (RunStatus.VERIFIED,), RunStatus.COMPLETED)
        if run.status == RunStatus.COMPLETED:
            count("PrizesDistributed")
    return {"event_id": event_id, "status": run.status}


STEPS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "validate": lambda task: check_distributable(task["event_id"]),
    "freeze": lambda task: freeze(task["event_id"], task.get("requested_by") or SYSTEM),
    "calculate": lambda task: calculate(task["event_id"]),
    "distribute_batch": lambda task: distribute_batch(task["event_id"], int(task["batch_index"])),
    "verify": lambda task: verify_or_fail(task["event_id"]),
    "complete": lambda task: complete(task["event_id"]),
    "rollback": lambda task: rollback_failed(task["event_id"], task.get("error")),
}


def run_step(task: dict[str, Any]) -> dict[str, Any]:
    """One task of the distribution workflow (statemachine/distribution.asl.json): {"step", "event_id", ...}."""
    step = STEPS.get(str(task.get("step")))
    if step is None or not isinstance(task.get("event_id"), str):
        raise BadRequest(f"Unknown workflow task: {str(task)[:200]}", code="unknown_step")
    return step(task)


def _moved(event_id: str, allowed_from: tuple[RunStatus, ...], status: RunStatus, **extra: Any) -> Run:
    """The run moved to `status`, or as it stands when another writer moved it first."""
    return store.set_run_status(event_id, allowed_from, status, clock.now(), **extra) or require_run(event_id)


def _fund(run: Run) -> None:
    """Issuance -> the event pool (the points put up), then the pool -> the treasury (the points not paid)."""
    pool = ledger_rules.event_pool_account(run.event_id)
    put_up = Decimal(run.pool_total.get(plans.currency_name(POINTS), 0))
    kept = Decimal(run.treasury.get(plans.currency_name(POINTS), 0))
    if put_up > 0:
        ledger.post(
            ledger_rules.transfer("issuance", pool, put_up), plans.pool_key(run.event_id), "prize_pool", "prize pool"
        )
    if kept > 0:
        ledger.post(
            ledger_rules.transfer(pool, "treasury", kept),
            plans.treasury_key(run.event_id),
            "prize_treasury",
            "not paid",
        )


def _batch_prizes(event: Event, run: Run, batch: Batch, now: datetime) -> tuple[list[PrizeRecord], dict[str, Decimal]]:
    """The prize records of a batch, and the points each account is credited (per user; or all to the event's
    claims account when prizes must be claimed)."""
    manual = event.claim.mode == "manual"
    paid: dict[str, Any] = {"batch_index": batch.batch_index, "applied_at": now}
    if manual:
        paid["claim_deadline"] = claim_deadline(event, run)
    prizes: list[PrizeRecord] = []
    credits: dict[str, Decimal] = {}
    for award in batch.awards:
        if award.type == "points":
            posting_key = None
            if award.amount > 0:
                account = (
                    ledger_rules.event_claims_account(event.id) if manual else ledger_rules.user_account(award.user_id)
                )
                credits[account] = EXACT.add(credits.get(account, Decimal(0)), award.amount)
                posting_key = plans.batch_key(event.id, batch.batch_index)
            status = PrizeStatus.CLAIMABLE if manual else PrizeStatus.CREDITED
            prizes.append(award.written(event.id, status, posting_key=posting_key, **paid))
        elif award.type == "token":
            status = PrizeStatus.CLAIMABLE if manual else PrizeStatus.PAYOUT_REQUESTED
            pending = award.amount > 0 and not manual
            prizes.append(award.written(event.id, status, payout_pending=pending, **paid))
        else:
            status = PrizeStatus.CLAIMABLE if manual else PrizeStatus.CUSTOM_PENDING
            prizes.append(award.written(event.id, status, **paid))
    return prizes, credits


def claim_deadline(event: Event, run: Run) -> datetime:
    """A manual-claim prize may be claimed until the run's start plus the event's claim window: the same instant
    for every prize of the run, however often a crashed batch is repeated."""
    return clock.from_iso(run.created_at) + timedelta(days=event.claim.window_days)


def _publish_payouts(prizes: list[PrizeRecord]) -> None:
    for prize in prizes:
        request_payout(prize, prize.key)
    if prizes:
        store.mark_payouts_published(prizes, clock.now())


def request_payout(prize: PrizeRecord, payout_id: str) -> None:
    """Ask the exchange's wallet service to pay a token prize. At least once: the consumer dedupes by payout id."""
    domain_events.publish(
        DomainEvent.PAYOUT_REQUESTED,
        {
            "payout_id": payout_id,
            "event_id": prize.event_id,
            "user_id": prize.user_id,
            "rule_index": prize.rule_index,
            "token": prize.token,
            "amount": prize.amount,
        },
    )
