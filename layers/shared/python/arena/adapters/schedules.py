"""EventBridge Scheduler one-shot schedules for an event's start and end, and its reminders.

Transitions: `arena-<event id>-start|end` in the configured group; target: the lifecycle function (run_transition)
with input {"event_id", "transition"}. Reminders (domain/lifecycle.REMINDERS): `arena-<event id>-<reminder>`
(start_24h, start_1h, end_1h); target: the Arena bus itself (Scheduler's EventBridge target), which receives an
EventReminderDue event with detail {"event_id", "reminder"}. All are `at(...)` in UTC to the second and deleted by
Scheduler after they fire (ActionAfterCompletion DELETE). Setting is create-or-update and removing ignores a
missing schedule, so every call here is idempotent. Scheduler fires within a minute of its time: the trade window
is enforced by trade timestamps.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import boto3
from botocore.exceptions import ClientError

from arena.config import settings
from arena.domain import lifecycle as rules
from arena.domain.statuses import DomainEvent
from arena.factories import cached

Transition = Literal["start", "end"]
TRANSITIONS: tuple[Transition, ...] = ("start", "end")


@cached
def client() -> Any:
    return boto3.client("scheduler")


def schedule_name(event_id: str, kind: str) -> str:
    """`kind`: a transition (start, end) or a reminder (start_24h, start_1h, end_1h)."""
    return f"arena-{event_id}-{kind}"


def at_expression(moment: datetime) -> str:
    """Scheduler's one-shot form: at(yyyy-mm-ddThh:mm:ss), read in the ScheduleExpressionTimezone (UTC).
    Rounded up to the second, so a schedule never fires before its moment."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return f"at({moment.strftime('%Y-%m-%dT%H:%M:%S')})"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _put(name: str, moment: datetime, target: dict[str, Any], description: str) -> None:
    """Create the one-shot schedule, or update it when it exists (a changed time)."""
    s = settings()
    target = {
        **target,
        "RoleArn": s.scheduler_role_arn,
        "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600},
    }
    if s.schedule_dead_letter_arn:
        target["DeadLetterConfig"] = {"Arn": s.schedule_dead_letter_arn}
    request = {
        "Name": name,
        "GroupName": s.schedule_group,
        "ScheduleExpression": at_expression(moment),
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "State": "ENABLED",
        "Description": description,
        "Target": target,
    }
    try:
        client().create_schedule(**request)
    except ClientError as error:
        if _code(error) != "ConflictException":
            raise
        client().update_schedule(**request)


def set_schedule(event_id: str, transition: Transition, moment: datetime) -> None:
    """Create the transition's schedule, or update it when it exists (a changed time)."""
    target = {
        "Arn": settings().lifecycle_function_arn,
        "Input": json.dumps({"event_id": event_id, "transition": transition}),
    }
    _put(schedule_name(event_id, transition), moment, target, f"arena: {transition} of event {event_id}")


def reminder_detail(event_id: str, reminder: str) -> dict[str, str]:
    """The EventReminderDue detail a reminder schedule puts on the bus."""
    return {"event_id": event_id, "reminder": reminder}


def set_reminder(event_id: str, reminder: str, moment: datetime) -> None:
    """Create the reminder's schedule (an EventReminderDue put on the bus at `moment`), or move it."""
    target = {
        "Arn": settings().event_bus_arn,
        "Input": json.dumps(reminder_detail(event_id, reminder), separators=(",", ":"), sort_keys=True),
        "EventBridgeParameters": {"DetailType": DomainEvent.EVENT_REMINDER_DUE.value, "Source": "arena"},
    }
    _put(schedule_name(event_id, reminder), moment, target, f"arena: {reminder} reminder of event {event_id}")


def remove_schedule(event_id: str, kind: str) -> None:
    """Remove a transition's or a reminder's schedule; one that is not there (fired, never set) is no error."""
    try:
        client().delete_schedule(Name=schedule_name(event_id, kind), GroupName=settings().schedule_group)
    except ClientError as error:
        if _code(error) != "ResourceNotFoundException":
            raise


def get_schedule(event_id: str, kind: str) -> dict[str, Any] | None:
    """The schedule as Scheduler holds it; None when there is none (it fired, or was never set)."""
    try:
        return client().get_schedule(Name=schedule_name(event_id, kind), GroupName=settings().schedule_group)
    except ClientError as error:
        if _code(error) == "ResourceNotFoundException":
            return None
        raise


def sync_reminders(event_id: str, start_at: datetime, end_at: datetime, now: datetime, *, new: bool = False) -> None:
    """The reminders still ahead of `now` set (or moved); those behind it, or no longer sent, removed (`new`: an
    event just created has none to remove)."""
    for reminder, moment in rules.reminder_moments(start_at, end_at, now).items():
        if moment is not None:
            set_reminder(event_id, reminder, moment)
        elif not new:
            remove_schedule(event_id, reminder)


def sync_event(event_id: str, start_at: datetime, end_at: datetime, now: datetime, *, new: bool = False) -> None:
    """Schedules for the transitions and reminders still ahead of `now`; those behind it are removed (the sweep
    covers the transitions; a reminder whose moment passed is not sent). `new`: an event just created, with no
    schedule yet to remove."""
    for transition, moment in (("start", start_at), ("end", end_at)):
        if moment > now:
            set_schedule(event_id, transition, moment)  # type: ignore[arg-type]
        elif not new:
            remove_schedule(event_id, transition)
    sync_reminders(event_id, start_at, end_at, now, new=new)


def remove_start(event_id: str) -> None:
    """The event started early (an admin's start now): its start schedule and start reminders go."""
    for kind in ("start", *(name for name, anchor, _ in rules.REMINDERS if anchor == "start")):
        remove_schedule(event_id, kind)


def remove_event(event_id: str) -> None:
    for kind in (*TRANSITIONS, *rules.REMINDER_NAMES):
        remove_schedule(event_id, kind)
