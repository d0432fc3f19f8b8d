"""EventBridge Scheduler one-shot schedules for an event's start and end.

Names: `arena-<event id>-start|end` in the configured group; target: the lifecycle function (run_transition) with
input {"event_id", "transition"}; `at(...)` in UTC to the second; deleted by Scheduler after it fires
(ActionAfterCompletion DELETE). Setting is create-or-update and removing ignores a missing schedule, so every call
here is idempotent. Scheduler fires within a minute of its time: the trade window is enforced by trade timestamps.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import boto3
from botocore.exceptions import ClientError

from arena.config import settings
from arena.factories import cached

Transition = Literal["start", "end"]
TRANSITIONS: tuple[Transition, ...] = ("start", "end")


@cached
def client() -> Any:
    return boto3.client("scheduler")


def schedule_name(event_id: str, transition: Transition) -> str:
    return f"arena-{event_id}-{transition}"


def at_expression(moment: datetime) -> str:
    """Scheduler's one-shot form: at(yyyy-mm-ddThh:mm:ss), read in the ScheduleExpressionTimezone (UTC).
    Rounded up to the second, so a schedule never fires before its moment."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return f"at({moment.strftime('%Y-%m-%dT%H:%M:%S')})"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def set_schedule(event_id: str, transition: Transition, moment: datetime) -> None:
    """Create the schedule, or update it when it exists (a changed time)."""
    s = settings()
    target: dict[str, Any] = {
        "Arn": s.lifecycle_function_arn,
        "RoleArn": s.scheduler_role_arn,
        "Input": json.dumps({"event_id": event_id, "transition": transition}),
        "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600},
    }
    if s.schedule_dead_letter_arn:
        target["DeadLetterConfig"] = {"Arn": s.schedule_dead_letter_arn}
    request = {
        "Name": schedule_name(event_id, transition),
        "GroupName": s.schedule_group,
        "ScheduleExpression": at_expression(moment),
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "State": "ENABLED",
        "Description": f"arena: {transition} of event {event_id}",
        "Target": target,
    }
    try:
        client().create_schedule(**request)
    except ClientError as error:
        if _code(error) != "ConflictException":
            raise
        client().update_schedule(**request)


def remove_schedule(event_id: str, transition: Transition) -> None:
    try:
        client().delete_schedule(Name=schedule_name(event_id, transition), GroupName=settings().schedule_group)
    except ClientError as error:
        if _code(error) != "ResourceNotFoundException":
            raise


def get_schedule(event_id: str, transition: Transition) -> dict[str, Any] | None:
    """The schedule as Scheduler holds it; None when there is none (it fired, or was never set)."""
    try:
        return client().get_schedule(Name=schedule_name(event_id, transition), GroupName=settings().schedule_group)
    except ClientError as error:
        if _code(error) == "ResourceNotFoundException":
            return None
        raise


def sync_event(event_id: str, start_at: datetime, end_at: datetime, now: datetime) -> None:
    """Schedules for the transitions still ahead of `now`; those behind it are removed (the sweep covers them)."""
    for transition, moment in (("start", start_at), ("end", end_at)):
        if moment > now:
            set_schedule(event_id, transition, moment)  # type: ignore[arg-type]
        else:
            remove_schedule(event_id, transition)  # type: ignore[arg-type]


def remove_event(event_id: str) -> None:
    for transition in TRANSITIONS:
        remove_schedule(event_id, transition)
