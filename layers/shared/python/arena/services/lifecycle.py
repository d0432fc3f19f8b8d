"""The event lifecycle: UPCOMING -> ACTIVE -> FINALIZING -> COMPLETED (or CANCELLED), driven by the clock.

Triggers: a one-shot EventBridge Scheduler schedule at start_at and at end_at (adapters/schedules.py; the reminder
schedules beside them put EventReminderDue on the bus and are moved and removed with them), a sweep
every minute (`sweep`) and a check every hour (`process_completed`). Every trigger calls `advance`, which moves an
event as far as the clock allows. Each step is a conditional write (store/events.set_status) and its domain event
is published only when that write succeeded, so a repeated, late or concurrent trigger changes and publishes
nothing. Idempotent throughout; safe under at-least-once delivery.

Completion: FINALIZING -> COMPLETED needs end_at + grace passed (late trades executed before end_at are still
counted during the grace period) AND a fresh ranking (domain/lifecycle.stale_users: every participant item's latest
version applied to the snapshot). The final ranking is then frozen into the results table (deterministic keys, so a
retry rewrites the same items) before the COMPLETED write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from arena import clock
from arena.adapters import domain_events, schedules
from arena.auth import Principal
from arena.domain import board, ranking
from arena.domain import events as event_rules
from arena.domain import lifecycle as rules
from arena.domain.board import RankedEntry
from arena.domain.events import EventStatus
from arena.errors import Conflict
from arena.models.events import Event
from arena.models.lifecycle import EventExtend, LifecycleAction
from arena.observability import count, logger
from arena.services import distribution as distribution_service
from arena.services.analytics import snapshot as analytics_snapshot
from arena.services.events import current_status, grace, load, require_manager, update_fields, with_current_status
from arena.store import audit
from arena.store import events as event_store
from arena.store import leaderboard as snapshot_store
from arena.store import results as results_store

MAX_STEPS = 6  # more than the longest path (UPCOMING -> ACTIVE -> FINALIZING -> COMPLETED) plus races
RECENT_COMPLETIONS = timedelta(days=7)  # how far back the hourly check looks


@dataclass
class Advanced:
    """What one `advance` did: the transitions it wrote (each published once) and why it stopped early."""

    event_id: str
    status: EventStatus
    transitions: list[str] = field(default_factory=list)
    blocked: str | None = None
    stale_users: list[str] = field(default_factory=list)


def _detail(event: Event, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "status": event.status,
        "start_at": event.start_at,
        "end_at": event.end_at,
        "version": event.version,
        **extra,
    }


def _transition(event: Event, target: EventStatus, now: datetime, **extra: Any) -> Event | None:
    """The conditional write; publishes the domain event only when this call made the change."""
    updated = event_store.set_status(event.id, rules.ALLOWED_FROM[target], target, now, **extra)
    if updated is not None:
        domain_events.publish(rules.EVENT_NAMES[target], _detail(updated, previous_status=event.status))
        count(f"Event{target.value.title()}")
    return updated


# ---------------------------------------------------------------------------------------------- results


def final_ranking(event_id: str) -> tuple[int, list[RankedEntry]]:
    """The current snapshot's generation and every entry, best first (all buckets in one BatchGetItem)."""
    snapshot = snapshot_store.read_head(event_id)
    index = snapshot.index
    if not index.buckets:
        return index.generation, []
    buckets = snapshot_store.read_buckets(event_id, {ref.bucket_id for ref in index.buckets})
    return index.generation, board.page(index, buckets.__getitem__, 0, index.total)


def results_of(event_id: str, generation: int, ranked: list[RankedEntry], now: datetime) -> list[dict[str, Any]]:
    """One result per entry. ``tie_group`` (the rank of the group's first member; absent when alone): entries with
    an equal score reached at the same time, tied for prizes however the board ordered them."""
    groups = ranking.tie_groups([r.entry.key for r in ranked], ranked[0].rank if ranked else 1)
    return [
        {
            "rank": r.rank,
            "prize_rank": r.prize_rank,
            "user_id": r.entry.user_id,
            "score": r.entry.score,
            "trade_count": r.entry.trade_count,
            "qualified": r.entry.qualified,
            "tie_group": group,
            "rule": rules.RANKING_RULE,
            "generation": generation,
            "frozen_at": clock.to_iso(now),
        }
        for r, group in zip(ranked, groups, strict=True)
    ]


def _complete(event: Event, now: datetime, outcome: Advanced) -> Event | None:
    """Freeze the results and complete, unless the ranking is stale (then None and `outcome.blocked`)."""
    generation, ranked = final_ranking(event.id)
    stale = rules.stale_users(
        results_store.participant_states(event.id), {r.entry.user_id: r.entry.version for r in ranked}
    )
    if stale:
        outcome.blocked, outcome.stale_users = "ranking_stale", stale
        logger.info("completion waits for the leaderboard", extra={"event_id": event.id, "stale": len(stale)})
        count("EventCompletionDeferred")
        return None
    results_store.write(event.id, results_of(event.id, generation, ranked, now))
    updated = event_store.set_status(
        event.id,
        rules.ALLOWED_FROM[EventStatus.COMPLETED],
        EventStatus.COMPLETED,
        now,
        results_generation=generation,
        results_count=len(ranked),
    )
    if updated is not None:
        domain_events.publish(
            rules.EVENT_NAMES[EventStatus.COMPLETED],
            _detail(updated, previous_status=event.status, generation=generation, ranked=len(ranked)),
        )
        count("EventCompleted")
        analytics_snapshot.after_completion(updated)
    return updated


# ---------------------------------------------------------------------------------------------- the clock


def advance(event_id: str, now: datetime | None = None) -> Advanced:
    """Move the event as far as the clock allows. Idempotent: a repeat finds nothing to do."""
    now = now or clock.now()
    event = load(event_id)
    outcome = Advanced(event_id, event.status)
    for _ in range(MAX_STEPS):
        target = rules.next_status(event.status, event.start_at, event.end_at, now, grace())
        if target is None:
            break
        if target == EventStatus.COMPLETED:
            updated = _complete(event, now, outcome)
            if outcome.blocked:
                break
        else:
            updated = _transition(event, target, now)
        if updated is None:
            event = load(event_id)  # someone else moved it first: look again
            continue
        outcome.transitions.append(f"{event.status.value}->{updated.status.value}")
        event = updated
    outcome.status = event.status
    return outcome


def sweep(now: datetime | None = None) -> list[Advanced]:
    """checkEventStatusTransitions (every minute): advance every event whose time has come. Every due transition
    has start_at <= now, so the by_status query reads only events that have started."""
    now = now or clock.now()
    done: list[Advanced] = []
    failures = 0
    for event in event_store.with_status(*rules.SWEPT, started_before=now + timedelta(milliseconds=1)):
        if not rules.is_due(event.status, event.start_at, event.end_at, now, grace()):
            continue
        try:
            done.append(advance(event.id, now))
        except Exception:  # one broken event must not stop the others; the next sweep retries it
            failures += 1
            logger.exception("lifecycle sweep failed for an event", extra={"event_id": event.id})
    if failures:
        raise RuntimeError(f"{failures} event(s) could not be advanced; see the log")
    return done


def process_completed(now: datetime | None = None) -> list[dict[str, Any]]:
    """processCompletedEvents (every hour): for events completed in the last week, check their frozen results
        against the final snapshot and re-freeze missing ones, then start the prize distribution of those that have
    none (idempotent: one run per event) and write the analytics snapshot of those without one (written once)."""
    now = now or clock.now()
    report = []
    for event in event_store.with_status(EventStatus.COMPLETED):
        if event.end_at < now - RECENT_COMPLETIONS:
            continue
        generation, ranked = final_ranking(event.id)
        have = results_store.count(event.id)
        refrozen = have < len(ranked)
        if refrozen:
            results_store.write(event.id, results_of(event.id, generation, ranked, now))
            logger.warning("re-froze missing results", extra={"event_id": event.id, "had": have, "ranked": len(ranked)})
        distribution = distribution_service.start_for_completed(event)
        analytics_snapshot.after_completion(event)  # written once; here when the completion could not write it
        report.append(
            {
                "event_id": event.id,
                "results": max(have, len(ranked)),
                "refrozen": refrozen,
                "distribution": distribution,
            }
        )
    return report


# ---------------------------------------------------------------------------------------------- admins


def _changed() -> Conflict:
    return Conflict("The event changed while this was being done; read it again and retry.", code="event_changed")


def start_now(principal: Principal, event_id: str, request: LifecycleAction) -> Event:
    event = load(event_id)
    require_manager(principal, event)
    now = clock.now()
    rules.check_start_now(current_status(event))
    updated = _transition(
        event, EventStatus.ACTIVE, now, start_at=now, start_key=event_store.start_key_of(now, event_id)
    )
    if updated is None:
        raise _changed()
    audit.append(
        audit.event_subject(event_id),
        principal.user_id,
        "event.start_now",
        now,
        request.reason,
        scheduled_start_at=clock.to_iso(event.start_at),
    )
    schedules.remove_start(event_id)
    return with_current_status(updated)


def end_now(principal: Principal, event_id: str, request: LifecycleAction) -> Event:
    """End at once: trades executed from now on no longer count; the grace period starts now."""
    event = load(event_id)
    require_manager(principal, event)
    now = clock.now()
    rules.check_end_now(current_status(event))
    if event.status == EventStatus.UPCOMING:  # started by the clock, not yet by a trigger: record the start first
        advance(event_id, now)
        event = load(event_id)
    updated = _transition(event, EventStatus.FINALIZING, now, end_at=now)
    if updated is None:
        raise _changed()
    audit.append(
        audit.event_subject(event_id),
        principal.user_id,
        "event.end_now",
        now,
        request.reason,
        scheduled_end_at=clock.to_iso(event.end_at),
    )
    schedules.remove_event(event_id)
    return with_current_status(updated)


def extend(principal: Principal, event_id: str, request: EventExtend) -> Event:
    event = load(event_id)
    require_manager(principal, event)
    now = clock.now()
    rules.check_extend(current_status(event), event.end_at, request.end_at, now)
    event_rules.validate_schedule(event.start_at, request.end_at, now)
    updated = update_fields(event_id, event.version, {"end_at": request.end_at}, now)
    audit.append(
        audit.event_subject(event_id),
        principal.user_id,
        "event.extend",
        now,
        request.reason,
        previous_end_at=clock.to_iso(event.end_at),
        end_at=clock.to_iso(request.end_at),
    )
    schedules.set_schedule(event_id, "end", request.end_at)
    schedules.sync_reminders(event_id, updated.start_at, updated.end_at, now)
    domain_events.publish(rules.EXTENDED, _detail(updated, previous_end_at=event.end_at, reason=request.reason))
    return with_current_status(updated)


def history(event_id: str) -> list[dict[str, Any]]:
    """The event's audit trail (admin actions), oldest first."""
    return audit.history(audit.event_subject(event_id))
