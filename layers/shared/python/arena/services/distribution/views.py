"""What a manager reads about a distribution: the run's status with per-batch progress, and one user's prizes (from
the plan, with each prize's status once written). Reads only."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from decimal import Decimal

from arena.auth import Principal
from arena.domain.exact import EXACT
from arena.domain.statuses import PrizeStatus
from arena.models.prizes import BatchProgress, DistributionStatus, PrizeAward, UserPrize
from arena.services.distribution.common import (
    frozen_results,
    plan_of,
    require_completed,
    require_manager_unless_system,
    require_run,
    run_view,
)
from arena.services.events import load
from arena.store import distribution as store


def distribution_status(event_id: str, principal: Principal | None = None) -> DistributionStatus:
    event = load(event_id)
    require_manager_unless_system(principal, event)
    run = require_run(event_id)
    return DistributionStatus(
        run=run_view(run),
        batches=[
            BatchProgress(batch_index=b.batch_index, status=b.status, awards=len(b.awards), user_ids=b.user_ids)
            for b in store.batches(event_id)
        ],
        prizes_by_status=dict(Counter(p.status.value for p in store.prizes(event_id))),
    )


def calculate_user_prize(event_id: str, user_id: str, principal: Principal | None = None) -> UserPrize:
    """What the user gets (from the plan), with each prize's status when a distribution has written it."""
    event = load(event_id)
    require_manager_unless_system(principal, event)
    require_completed(event)
    results = frozen_results(event)
    dry = plan_of(event, results)
    mine = next((r for r in results if r["user_id"] == user_id), None)
    placed = next((p for p in dry.placed if p.user_id == user_id), None)
    stored = {p.rule_index: p.status for p in store.user_prizes(event_id, user_id)}
    awards = []
    totals: dict[str, Decimal] = {}
    for award in (a for a in dry.awards if a.user_id == user_id):
        status = stored.get(award.rule_index, PrizeStatus.PLANNED)
        awards.append(PrizeAward(**asdict(award), status=status))
        totals[award.currency_name] = EXACT.add(totals.get(award.currency_name, Decimal(0)), award.amount)
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
