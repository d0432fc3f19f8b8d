"""Schedules on the local stack: the template's rate() safety nets, and EventBridge Scheduler one-shot schedules.

moto stores Scheduler schedules but never fires them, so `ScheduleService` does:

* every `Schedule`/`ScheduleV2` event source of a template function is invoked on its rate; locally every
  `safety_net_seconds` (default 10 s, env ARENA_LOCAL_SAFETY_NET_SECONDS; None keeps the template's rate);
* every tick it lists the schedules in moto, and for each one-shot `at(...)` schedule whose time has passed (by
  `arena.clock`, so a compressed demo clock is honoured) invokes its target function in-process with the
  schedule's Input - or, for a target that is an event bus (the reminders), puts the Input on that bus with the
  target's EventBridgeParameters, where the local EventBridge rules deliver it - then deletes it when
  ActionAfterCompletion is DELETE. A failing target is retried on the next ticks (Scheduler's retry policy), then
  dropped with an error in the log.

`create_lifecycle_resources` creates the template's EventBridge buses and Scheduler groups (and names its IAM
roles), as the stack does for tables and queues.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from local import template as tpl

if TYPE_CHECKING:
    from local.protocols import StackHandle

logger = logging.getLogger("local.schedules")

SCHEDULE_EVENT_TYPES = frozenset({"Schedule", "ScheduleV2"})
MAX_ATTEMPTS = 10
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float | None:
    """Seconds of a rate() expression; None for cron() and anything else."""
    match = _RATE.match(expression.strip())
    if not match:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def bus_name(arn: str) -> str | None:
    """The bus an EventBridge target ARN names (arn:...:event-bus/<name>); None for any other target."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "events" or not parts[5].startswith("event-bus/"):
        return None
    return parts[5][len("event-bus/") :] or None


def at_time(expression: str, timezone: str | None = "UTC") -> datetime | None:
    """The moment of a one-shot at() expression, in UTC; None for rate()/cron()."""
    match = _AT.match(expression.strip())
    if not match:
        return None
    local = datetime.fromisoformat(match.group(1)).replace(tzinfo=ZoneInfo(timezone or "UTC"))
    return local.astimezone(UTC)


def create_lifecycle_resources(
    template: Mapping[str, Any], events_client: Any, scheduler_client: Any, context: tpl.LocalContext | None = None
) -> dict[str, str]:
    """Create the template's AWS::Events::EventBus and AWS::Scheduler::ScheduleGroup resources (idempotent) and
    register their Ref/Arn, and the ARNs of its IAM roles, in `context`. Returns {logical id: name}."""
    context = context or tpl.LocalContext(template=template)
    created: dict[str, str] = {}
    # (resource type, create -> ARN, the error when it exists, describe -> ARN, whether GetAtt has a Name)
    kinds = (
        (
            "AWS::Events::EventBus",
            lambda name: events_client.create_event_bus(Name=name)["EventBusArn"],
            events_client.exceptions.ResourceAlreadyExistsException,
            lambda name: events_client.describe_event_bus(Name=name)["Arn"],
            True,
        ),
        (
            "AWS::Scheduler::ScheduleGroup",
            lambda name: scheduler_client.create_schedule_group(Name=name)["ScheduleGroupArn"],
            scheduler_client.exceptions.ConflictException,
            lambda name: scheduler_client.get_schedule_group(Name=name)["Arn"],
            False,
        ),
    )
    for resource_type, create, exists, describe, has_name in kinds:
        for logical_id, props in tpl.resources_of_type(template, resource_type).items():
            name = str(tpl.resolve(props.get("Name", logical_id), context))
            try:
                arn = create(name)
            except exists:
                arn = describe(name)
            context.refs[logical_id] = name
            context.attributes[(logical_id, "Arn")] = arn
            if has_name:
                context.attributes[(logical_id, "Name")] = name
            created[logical_id] = name
    for logical_id in tpl.resources_of_type(template, "AWS::IAM::Role"):
        context.refs.setdefault(logical_id, logical_id)
        context.attributes.setdefault((logical_id, "Arn"), f"arn:aws:iam::{context.account_id}:role/{logical_id}")
    return created


class ScheduleService:
    """Fires the template's schedules on the local stack (see the module docstring)."""

    name = "schedules"
    event_types = SCHEDULE_EVENT_TYPES

    def __init__(self, safety_net_seconds: float | None = -1.0, tick_seconds: float = 0.5) -> None:
        if safety_net_seconds is not None and safety_net_seconds < 0:
            safety_net_seconds = float(os.environ.get("ARENA_LOCAL_SAFETY_NET_SECONDS", "10"))
        self.safety_net_seconds = safety_net_seconds
        self.tick_seconds = tick_seconds
        self.fired: list[tuple[str, str]] = []  # (logical id, schedule name or event name): what ran, for tests
        self._stack: StackHandle | None = None
        self._nets: list[tuple[str, str, float]] = []  # (logical id, event name, period)
        self._next_run: dict[tuple[str, str], float] = {}
        self._attempts: dict[str, int] = {}
        self._completed: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- Service protocol

    def start(self, stack: StackHandle) -> None:
        self._stack = stack
        self._nets = []
        for function in stack.functions:
            for (event_type, props), event_name in zip(function.spec.events, function.spec.event_names, strict=False):
                if event_type not in SCHEDULE_EVENT_TYPES:
                    continue
                period = rate_seconds(str(tpl.resolve(props.get("ScheduleExpression", ""), stack.context)))
                if period is None:
                    logger.info("%s: only rate() schedules are served locally", function.spec.logical_id)
                    continue
                local_period = period if self.safety_net_seconds is None else self.safety_net_seconds
                self._nets.append((function.spec.logical_id, event_name, local_period))
        now = time.monotonic()
        self._next_run = {(fid, ev): now + period for fid, ev, period in self._nets}
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="local-schedules", daemon=True)
        self._thread.start()
        logger.info(
            "schedules: %d safety net(s), one-shot schedules polled every %ss", len(self._nets), self.tick_seconds
        )

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    # -- work

    def _run(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            try:
                self.tick()
            except Exception:
                logger.exception("schedule tick failed")

    def tick(self) -> int:
        """One pass: due safety nets, then due one-shot schedules. Returns how many invocations ran."""
        return self._fire_safety_nets() + self._fire_one_shots()

    def _fire_safety_nets(self) -> int:
        assert self._stack is not None
        fired = 0
        now = time.monotonic()
        for logical_id, event_name, period in self._nets:
            if self._stop.is_set() or now < self._next_run[(logical_id, event_name)]:
                continue
            self._next_run[(logical_id, event_name)] = now + period
            payload = {
                "version": "0",
                "detail-type": "Scheduled Event",
                "source": "aws.scheduler",
                "account": self._stack.account_id,
                "region": self._stack.region,
                "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "resources": [f"local:{logical_id}:{event_name}"],
                "detail": "{}",
            }
            try:
                self._stack.invoke(logical_id, payload)
            except Exception:
                logger.exception("%s (%s) raised", logical_id, event_name)
            self.fired.append((logical_id, event_name))
            fired += 1
        return fired

    def _function_for(self, arn: str) -> str | None:
        assert self._stack is not None
        name = arn.rsplit(":", 1)[-1]
        return name if name in self._stack.functions else None

    def _put_on_bus(self, bus: str, target: Mapping[str, Any]) -> None:
        """Scheduler's EventBridge target: one event on the bus (Source and DetailType from the target's
        EventBridgeParameters, the Input as its detail); the bus's rules deliver it (local/eventbridge.py)."""
        assert self._stack is not None
        parameters = target.get("EventBridgeParameters") or {}
        answer = self._stack.client("events").put_events(
            Entries=[
                {
                    "Source": parameters.get("Source", "aws.scheduler"),
                    "DetailType": parameters.get("DetailType", "Scheduled Event"),
                    "Detail": target.get("Input") or "{}",
                    "EventBusName": bus,
                }
            ]
        )
        if answer.get("FailedEntryCount"):
            raise RuntimeError(f"the bus {bus} refused the event: {answer['Entries'][0]}")

    def _now(self) -> datetime:
        try:
            from arena import clock  # the layer is on sys.path once the stack runs

            return clock.now()
        except ImportError:
            return datetime.now(UTC)

    def _fire_one_shots(self) -> int:
        assert self._stack is not None
        scheduler = self._stack.client("scheduler")
        summaries: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = scheduler.list_schedules(**kwargs)
            summaries.extend(page.get("Schedules", []))
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        fired = 0
        for summary in summaries:
            if self._stop.is_set():
                break
            if summary.get("State", "ENABLED") != "ENABLED":
                continue
            group, name = summary.get("GroupName") or "default", summary["Name"]
            try:
                schedule = scheduler.get_schedule(Name=name, GroupName=group)
            except scheduler.exceptions.ResourceNotFoundException:
                continue
            moment = at_time(schedule["ScheduleExpression"], schedule.get("ScheduleExpressionTimezone"))
            if moment is None or moment > self._now():
                continue
            target = schedule["Target"]
            bus = bus_name(target["Arn"])
            logical_id = bus or self._function_for(target["Arn"])
            if logical_id is None:
                logger.warning("schedule %s/%s targets %s, not a local function or bus", group, name, target["Arn"])
                continue
            key = f"{group}/{name}"
            if self._completed.get(key) == schedule["ScheduleExpression"]:
                continue
            try:
                if bus is not None:
                    self._put_on_bus(bus, target)
                else:
                    self._stack.invoke(logical_id, json.loads(target.get("Input") or "{}"))
            except Exception:
                self._attempts[key] = self._attempts.get(key, 0) + 1
                logger.exception("schedule %s: %s raised (attempt %d)", key, logical_id, self._attempts[key])
                if self._attempts[key] < MAX_ATTEMPTS:
                    continue
                logger.error("schedule %s dropped after %d attempts", key, MAX_ATTEMPTS)
            self._attempts.pop(key, None)
            self.fired.append((logical_id, name))
            fired += 1
            if schedule.get("ActionAfterCompletion") == "DELETE":
                with contextlib.suppress(scheduler.exceptions.ResourceNotFoundException):
                    scheduler.delete_schedule(Name=name, GroupName=group)
            else:  # a one-shot fires once; Scheduler keeps it (state done) when not told to delete it
                self._completed[key] = schedule["ScheduleExpression"]
        return fired
