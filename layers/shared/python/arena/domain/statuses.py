"""The statuses prizes, distribution runs and their batches move through, each defined once (an event's own
statuses are EventStatus in domain/events.py), and the names of the domain events Arena publishes."""

from __future__ import annotations

from enum import StrEnum


class PrizeStatus(StrEnum):
    """One user's prize under one rule of the prize table (distribution, then claims)."""

    PLANNED = "PLANNED"
    CREDITED = "CREDITED"
    PAYOUT_REQUESTED = "PAYOUT_REQUESTED"
    CUSTOM_PENDING = "CUSTOM_PENDING"
    CLAIMABLE = "CLAIMABLE"
    ROLLED_BACK = "ROLLED_BACK"
    CLAIMED = "CLAIMED"
    PAID = "PAID"
    PAYOUT_FAILED = "PAYOUT_FAILED"
    FULFILLED = "FULFILLED"
    IN_REVIEW = "IN_REVIEW"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


class RunStatus(StrEnum):
    """An event's prize distribution run."""

    PLANNED = "PLANNED"
    DISTRIBUTING = "DISTRIBUTING"
    VERIFIED = "VERIFIED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ROLLED_BACK = "ROLLED_BACK"


class BatchStatus(StrEnum):
    """One batch of a run's awards: paid in one transaction, or not at all."""

    PENDING = "PENDING"
    DONE = "DONE"


class DomainEvent(StrEnum):
    """The DetailType of each event Arena puts on its EventBridge bus."""

    EVENT_STARTED = "EventStarted"
    EVENT_ENDED = "EventEnded"
    RESULTS_FROZEN = "ResultsFrozen"
    EVENT_CANCELLED = "EventCancelled"
    EVENT_EXTENDED = "EventExtended"
    PRIZES_DISTRIBUTED = "PrizesDistributed"
    PRIZES_ROLLED_BACK = "PrizesRolledBack"
    PAYOUT_REQUESTED = "PayoutRequested"
    # Notification sources (arena/domain/notifications.py); each detail carries `event_id` where it has one.
    EVENT_REMINDER_DUE = "EventReminderDue"  # Scheduler one-shot: {event_id, reminder: start_24h|start_1h|end_1h}
    EVENT_PUBLISHED = "EventPublished"  # an event became visible to traders: {event_id}
    RANKS_CHANGED = "RanksChanged"  # meaningful rank moves of one snapshot: {event_id, generation, moves: [...]}
    MILESTONE_REACHED = "MilestoneReached"  # a personal milestone: {event_id, user_id, milestone}
    CLAIM_DEADLINE_APPROACHING = "ClaimDeadlineApproaching"  # {event_id, user_id, prize_id, claim_deadline}
    PRIZE_PAID = "PrizePaid"  # {event_id, user_id, prize_id, amount, token}
    ANNOUNCEMENT_POSTED = "AnnouncementPosted"  # {announcement_id, event_id|null, channels, title, body}


class ExportStatus(StrEnum):
    """An analytics export job: PENDING when asked for, RUNNING while its worker writes the files, then SUCCEEDED
    (files and download links) or FAILED (the reason). Only PENDING -> RUNNING -> SUCCEEDED | FAILED; a retried
    worker may re-enter RUNNING, never leave a final status."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
