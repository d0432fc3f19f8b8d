"""Starting an event's prize distribution: the dry run a manager reads first, the request that opens the event's
one run (or resumes it after a failure), and the hourly hook for COMPLETED events with none. The run is handed to
the workflow (Step Functions when `DISTRIBUTION_STATE_MACHINE_ARN` is set) or run to its end in this call."""

from __future__ import annotations

from dataclasses import asdict

from arena import clock
from arena.adapters import workflows
from arena.auth import Principal
from arena.config import settings
from arena.domain import distribution as plans
from arena.domain.distribution import Run
from arena.domain.events import EventStatus
from arena.domain.statuses import RunStatus
from arena.models.events import Event
from arena.models.prizes import DistributionRun, PrizeAward, ValidationResult
from arena.observability import logger
from arena.services.distribution.common import (
    SYSTEM,
    DistributionInvalid,
    frozen_results,
    plan_of,
    require_completed,
    require_manager_unless_system,
    rolled_back,
    run_view,
)
from arena.services.distribution.workflow import open_run, run_to_end
from arena.services.events import load, require_manager
from arena.store import audit
from arena.store import distribution as store


def validate_prize_distribution(event_id: str, principal: Principal | None = None) -> ValidationResult:
    """The dry run: who would get what, the pool totals and the treasury, and every problem found. Once the event is
    distributed, each award carries its prize's status (claimed, fulfilled, waiting to be fulfilled...), so the
    manager's one list shows what is left to do. Writes nothing."""
    event = load(event_id)
    require_manager_unless_system(principal, event)
    results = frozen_results(event)
    dry = plan_of(event, results)
    plan = dry.plan
    awards = [PrizeAward(**asdict(a)) for a in dry.awards]
    if awards and store.get_run(event_id) is not None:
        stored = store.get_prizes(event_id, [(a.user_id, a.rule_index) for a in awards])
        awards = [
            a.model_copy(update={"status": stored[(a.user_id, a.rule_index)].status})
            if (a.user_id, a.rule_index) in stored
            else a
            for a in awards
        ]
    return ValidationResult(
        event_id=event.id,
        event_status=event.status.value,
        ok=not dry.problems,
        problems=dry.problems,
        results_count=len(results),
        eligible_count=dry.eligible_count,
        awards=awards,
        pool_total=plans.names(plan.pool_total) if plan else {},
        paid=plans.names(plan.paid()) if plan else {},
        treasury=plans.names(plan.treasury) if plan else {},
    )


def distribute_event_prizes(principal: Principal, event_id: str) -> DistributionRun:
    """distributeEventPrizes: open the event's one run and hand it to the distribution workflow (the answer then
    shows the run as the workflow found it), or run its steps to the end in this call. A repeat resumes a run that
    stopped (FAILED, or crashed half-way)."""
    event = load(event_id)
    require_manager(principal, event)
    require_completed(event)
    run, created = open_run(event, principal.user_id)
    if created:
        audit.append(
            audit.event_subject(event_id),
            principal.user_id,
            "prizes.distribute",
            clock.now(),
            "prize distribution requested",
        )
    return run_view(_launch(event, run), created)


def start_for_completed(event: Event) -> str | None:
    """processCompletedEvents' hook: open and launch the run of a COMPLETED event with a prize table and none yet.
    Idempotent; returns the run's status, or None when the event has nothing to distribute."""
    if event.status != EventStatus.COMPLETED or not event.prizes or store.get_run(event.id) is not None:
        return None
    try:
        run, _ = open_run(event, SYSTEM)
    except DistributionInvalid as error:
        logger.warning("prizes not distributable", extra={"event_id": event.id, "problems": error.details})
        return None
    return str(_launch(event, run).status)


def _launch(event: Event, run: Run) -> Run:
    if run.status == RunStatus.ROLLED_BACK:
        raise rolled_back()
    if run.status == RunStatus.COMPLETED:
        return run
    machine = settings().distribution_state_machine_arn
    if machine:
        # One execution per attempt: its name is the run and the attempt (a FAILED run's redo is a new one).
        workflows.start(machine, f"{run.run_id}-{run.attempt}", {"event_id": event.id, "requested_by": SYSTEM})
        return run
    return run_to_end(event.id)
