"""Rolling a distribution back, asked for by a manager or by the workflow's Catch when a step failed for good.

Every paid batch is reversed by one compensating posting written with its prizes turning ROLLED_BACK (all or
nothing), the pool is returned to issuance (the treasury and funding postings reversed) and ``PrizesRolledBack``
is published once. Prizes past a reversible state (paid out, claimed...) and points their owner has since spent
are refused and listed; the rest is rolled back. A repeat finishes what a crash left and answers what it moved
itself (0 after a complete rollback), with the distribution's total beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from arena import clock
from arena.adapters import domain_events
from arena.auth import Principal
from arena.domain import distribution as plans
from arena.domain import ledger as ledger_rules
from arena.domain.distribution import REVERSIBLE, PrizeRecord
from arena.domain.exact import EXACT
from arena.domain.statuses import BatchStatus, DomainEvent, PrizeStatus, RunStatus
from arena.errors import Conflict
from arena.models.events import Event
from arena.models.prizes import RefusedPrize, RollbackResult
from arena.observability import count
from arena.services import ledger
from arena.services.distribution.common import SYSTEM, published, require_run, run_view
from arena.services.events import load, require_manager
from arena.store import audit
from arena.store import distribution as store

_ATTEMPTS = 10


def rollback_prize_distribution(principal: Principal, event_id: str, reason: str = "rollback") -> RollbackResult:
    """rollbackPrizeDistribution: undo the distribution: reverse every batch's points with compensating postings,
    return the pool to issuance, mark the prizes ROLLED_BACK. Refuses (and lists) prizes past a reversible state
    (paid out, claimed...) and points their owner has spent. Idempotent: a repeat finishes what a crash left."""
    event = load(event_id)
    require_manager(principal, event)
    return _rollback(event_id, principal.user_id, reason, audited_by=principal)


def rollback_failed(event_id: str, error: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The workflow's Catch: roll back what a failed run paid (nothing when no run was opened)."""
    if store.get_run(event_id) is None:
        return {"event_id": event_id, "rolled_back": 0, "refused": 0}
    cause = str((error or {}).get("Cause") or (error or {}).get("Error") or "distribution failed")[:500]
    result = _rollback(event_id, SYSTEM, f"workflow failed: {cause}", audited_by=None)
    return {"event_id": event_id, "rolled_back": result.rolled_back, "refused": len(result.refused)}


def _rollback(event_id: str, actor: str, reason: str, audited_by: Principal | None) -> RollbackResult:
    event = load(event_id)
    run = require_run(event_id)
    now = clock.now()
    if run.status != RunStatus.ROLLED_BACK:
        others = tuple(s for s in RunStatus if s != RunStatus.ROLLED_BACK)
        updated = store.set_run_status(
            event_id,
            others,
            RunStatus.ROLLED_BACK,
            now,
            rolled_back_by=actor,
            previous_status=run.status,
            reason=reason,
        )
        if updated is not None and audited_by is not None:
            audit.append(
                audit.event_subject(event_id),
                audited_by.user_id,
                "prizes.rollback",
                now,
                reason,
                previous_status=run.status,
            )
        run = updated or require_run(event_id)
    if run.status != RunStatus.ROLLED_BACK:
        raise Conflict("The distribution changed meanwhile; retry.", code="distribution_changed")

    moved = 0  # prizes this call turned ROLLED_BACK; a repeat after a complete rollback moves none
    stored: dict[int, list[PrizeRecord]] = {}
    for prize in store.prizes(event_id):
        stored.setdefault(-1 if prize.batch_index is None else prize.batch_index, []).append(prize)
    for batch in store.batches(event_id):
        if batch.status == BatchStatus.DONE:
            moved += _rollback_batch(event, batch.batch_index, stored.get(batch.batch_index, []), now)
        else:  # never paid (all or nothing): its awards are simply rolled back
            written = {(p.user_id, p.rule_index) for p in stored.get(batch.batch_index, [])}
            unwritten = [
                award.written(
                    event_id,
                    PrizeStatus.ROLLED_BACK,
                    previous_status=PrizeStatus.PLANNED,
                    rolled_back_at=now,
                )
                for award in batch.awards
                if (award.user_id, award.rule_index) not in written
            ]
            store.put_prizes(unwritten)
            moved += len(unwritten)
    for original, compensating in (
        (plans.treasury_key(event_id), plans.treasury_rollback_key(event_id)),
        (plans.pool_key(event_id), plans.pool_rollback_key(event_id)),
    ):
        if ledger.get_posting(original) is not None:
            ledger.reverse(original, compensating, "prize_rollback", "prize pool returned")

    final = store.prizes(event_id)
    rolled = sum(1 for p in final if p.status == PrizeStatus.ROLLED_BACK)
    refused = [
        _refused(p, "points_spent" if p.status == PrizeStatus.CREDITED else p.status.lower())
        for p in final
        if p.status != PrizeStatus.ROLLED_BACK
    ]
    if not run.rollback_published:
        domain_events.publish(
            DomainEvent.PRIZES_ROLLED_BACK,
            published(run, rolled_back=rolled, refused=[r.model_dump(mode="json") for r in refused]),
        )
        run = store.set_run_status(
            event_id,
            (RunStatus.ROLLED_BACK,),
            RunStatus.ROLLED_BACK,
            clock.now(),
            rollback_published=True,
            refused_count=len(refused),
        ) or require_run(event_id)
        count("PrizesRolledBack")
    return RollbackResult(run=run_view(run), rolled_back=moved, rolled_back_total=rolled, refused=refused)


def _rollback_batch(event: Event, index: int, prizes: list[PrizeRecord], now: datetime) -> int:
    """One compensating posting per paid batch, written with its prizes turning ROLLED_BACK: all or nothing. The
    posting's key is the batch's, so a repeat finds it and writes nothing; prizes that cannot be reversed keep
    their status (and are listed as refused). Each prize turns ROLLED_BACK only from the status it was read in: a
    claim landing meanwhile cancels the transaction, and the batch is read again and retried without it.
    Returns how many prizes this call turned ROLLED_BACK (those of the transaction it wrote; 0 for a repeat)."""
    key = plans.rollback_batch_key(event.id, index)
    if ledger.get_posting(key) is not None:
        return 0
    spent: set[str] = set()
    for _ in range(_ATTEMPTS):
        reversible = [p for p in prizes if p.status in REVERSIBLE and p.status != PrizeStatus.ROLLED_BACK]
        undone = [p for p in reversible if _credited_account(event, p) not in spent]
        debits: dict[str, Decimal] = {}
        for prize in undone:
            account = _credited_account(event, prize)
            if account is not None:
                debits[account] = EXACT.add(debits.get(account, Decimal(0)), prize.amount)
        actions = store.rolled_back_actions(undone, now)
        if not debits:
            if not actions or store.write_all(actions):
                return len(undone)
        else:
            pool = ledger_rules.event_pool_account(event.id)
            legs = [(pool, plans.total(debits.values())), *((a, -amount) for a, amount in debits.items())]
            try:
                ledger.post(legs, key, "prize_rollback", f"prizes rolled back, batch {index}", with_actions=actions)
                return len(undone)
            except Conflict as error:
                if error.code == "insufficient_balance":
                    spent |= set((error.details or {}).get("accounts", []))
                    continue
                if error.code != "posting_actions_refused":
                    raise
        # A prize moved on (claimed) since it was read: read the batch again.
        prizes = list(store.get_prizes(event.id, [(p.user_id, p.rule_index) for p in prizes]).values())
    raise Conflict("The prizes keep changing under the rollback; retry.", code="distribution_changed")


def _credited_account(event: Event, prize: PrizeRecord) -> str | None:
    """The account a points prize went to (its owner, or the claims account while it waits); None: no points."""
    if prize.type != "points" or prize.amount <= 0 or prize.posting_key is None:
        return None
    if prize.status == PrizeStatus.CLAIMABLE:
        return ledger_rules.event_claims_account(event.id)
    return ledger_rules.user_account(prize.user_id)


def _refused(prize: PrizeRecord, reason: str) -> RefusedPrize:
    return RefusedPrize(
        user_id=prize.user_id, rule_index=prize.rule_index, type=prize.type, amount=prize.amount, reason=reason
    )
