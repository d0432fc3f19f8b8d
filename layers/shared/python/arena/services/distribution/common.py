"""What every use case of the distribution reads: the event's plan (its frozen results read here, planned by
domain/distribution.py), its run, the API's view of a run, and the errors the workflow retries or catches by name."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from arena.auth import Principal
from arena.domain import distribution as plans
from arena.domain.distribution import DryRun, Run
from arena.domain.events import EventStatus
from arena.errors import Conflict, NotFound
from arena.models.events import Event
from arena.models.prizes import DistributionRun
from arena.services.events import require_manager
from arena.store import distribution as store
from arena.store import results as results_store

SYSTEM = "arena-distribution"  # who acts when the workflow or a schedule does


class DistributionInvalid(Conflict):
    """The prizes cannot be planned (the dry run lists why), or the frozen results changed since they were."""


class DistributionMismatch(Conflict):
    """Verification found the written prizes differ from the plan: the workflow rolls the run back."""


def frozen_results(event: Event) -> list[dict[str, Any]]:
    """The event's final ranking: none before it is COMPLETED."""
    return results_store.read(event.id) if event.status == EventStatus.COMPLETED else []


def plan_of(event: Event, results: list[dict[str, Any]]) -> DryRun:
    return plans.dry_run(event.id, event.status, event.prize_settings.table(event.prizes), results)


def read_plan(event: Event) -> DryRun:
    """The plan of the event's frozen results as they stand."""
    return plan_of(event, frozen_results(event))


def require_distributable(dry: DryRun) -> None:
    if dry.problems:
        raise DistributionInvalid(
            "The prizes cannot be distributed; see the problems.",
            code="distribution_invalid",
            details={"problems": dry.problems},
        )


def require_completed(event: Event) -> None:
    if event.status != EventStatus.COMPLETED:
        raise Conflict(
            f"Prizes are distributed once the event is COMPLETED; it is {event.status.value}.",
            code="event_not_completed",
            details={"status": event.status.value},
        )


def require_manager_unless_system(principal: Principal | None, event: Event) -> None:
    """A caller must manage the event; no principal: the system itself (the workflow, a schedule, a tool)."""
    if principal is not None:
        require_manager(principal, event)


def require_run(event_id: str) -> Run:
    run = store.get_run(event_id)
    if run is None:
        raise NotFound(f"No prize distribution for event {event_id}.", code="distribution_not_found")
    return run


def rolled_back() -> Conflict:
    return Conflict("This event's distribution was rolled back.", code="distribution_rolled_back")


def run_view(run: Run, created: bool = False) -> DistributionRun:
    return DistributionRun(**asdict(run), created=created)


def published(run: Run, **extra: Any) -> dict[str, Any]:
    """The detail of a domain event about the run."""
    return {
        "event_id": run.event_id,
        "run_id": run.run_id,
        "award_count": run.award_count,
        "paid": run.paid,
        "treasury": run.treasury,
        **extra,
    }
