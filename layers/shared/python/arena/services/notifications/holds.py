"""The minute sweep: releases the deliveries quiet hours held whose time came (to their channel's queue), and sends
the daily digests due this minute (one DIGEST notification of the day's rank changes, planned like any other).

It works through every minute since the last one it finished (the SWEEP / MINUTE mark; at most a day back; the
very first run starts at its own minute), so a missed or late run catches up (at most MINUTES_PER_RUN minutes a run,
the rest on the next runs). Idempotent: a hold is removed only
after its message was queued, the minutes are marked only after their holds are gone; a run that fails half way
releases some holds again, and their dispatchers deliver a record once. A digest's notification id is derived from
(user, day), so sending one twice records it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from arena import clock
from arena.adapters import queues
from arena.domain.notifications import (
    ChannelMessage,
    Notification,
    NotificationType,
    hold_minute,
    minute_of,
    notification_id,
    to_wire,
)
from arena.services.notifications import planner
from arena.store import notifications as store

MAX_CATCH_UP = timedelta(days=1)
# Minutes one run works through (one query each): a run that is far behind catches up over the next runs instead of
# holding its invocation (and, locally, the schedule thread) for a day's worth of queries.
MINUTES_PER_RUN = 60


@dataclass
class SweepReport:
    minutes: int = 0
    released: int = 0
    digests: int = 0
    planned: planner.PlanReport = field(default_factory=planner.PlanReport)


def sweep(now: datetime | None = None) -> SweepReport:
    """Everything held until a minute up to now. Idempotent (see the module docstring)."""
    now = now or clock.now()
    current = minute_of(now.strftime("%Y-%m-%dT%H:%M"))
    last = store.swept_until()
    start = minute_of(last) + timedelta(minutes=1) if last else current
    start = max(start, current - MAX_CATCH_UP)
    report = SweepReport()
    minute = start
    current = min(current, start + timedelta(minutes=MINUTES_PER_RUN - 1))
    while minute <= current:
        text = hold_minute(minute)
        holds = store.holds_at(text)
        released = [h for h in holds if h.notification is not None]
        digests = [h for h in holds if h.notification is None]
        report.released += _release(released)
        for hold in digests:
            report.digests += _send_digest(hold, now, report.planned)
        store.remove_holds(holds)
        report.minutes += 1
        minute += timedelta(minutes=1)
    if report.minutes:
        store.set_swept_until(hold_minute(current))  # after every minute's holds are gone (a failed run redoes them)
    return report


def _release(holds: Sequence[store.Hold]) -> int:
    """Each held delivery to its channel's queue, with the minute it was held until."""
    by_channel: dict[str, list[str]] = {}
    for hold in holds:
        assert hold.notification is not None and hold.channel is not None
        message = ChannelMessage(hold.channel, (hold.notification,), not_before=minute_of(hold.minute))
        by_channel.setdefault(planner.queue_url(hold.channel), []).append(to_wire(message))
    for url, bodies in by_channel.items():
        queues.send_all(url, bodies)
    return len(holds)


def digest_notification(user_id: str, day: str, due: datetime, entries: Sequence[Notification]) -> Notification:
    """The one DIGEST notification of a user's day: every rank change kept for it, oldest first."""
    moves = []
    for entry in sorted(entries, key=lambda n: n.notification_id):
        data = dict(entry.data)
        moves.append(
            {
                "event_id": entry.event_id,
                "event_name": data.get("event_name"),
                "move": data.get("move"),
                "rank": data.get("rank"),
                "previous_rank": data.get("previous_rank"),
                "at": clock.to_iso(entry.created_at),
            }
        )
    source = f"digest:{user_id}:{day}"
    return Notification(
        notification_id=notification_id(source, user_id, NotificationType.DIGEST, due),
        user_id=user_id,
        type=NotificationType.DIGEST,
        source=source,
        created_at=due,
        data={"date": day, "moves": moves},
    )


def _send_digest(hold: store.Hold, now: datetime, report: planner.PlanReport) -> int:
    assert hold.user_id is not None and hold.day is not None
    entries = store.digest_entries(hold.user_id, hold.day)
    if not entries:
        return 0
    note = digest_notification(hold.user_id, hold.day, minute_of(hold.minute), entries)
    planned = planner.plan_notifications([note], now)
    store.count_queued(planned.unrecorded)  # the entries are cleared next: a sweep run again plans nothing
    report.add(planned)
    store.clear_digest(hold.user_id, hold.day, [e.notification_id for e in entries])
    return 1
