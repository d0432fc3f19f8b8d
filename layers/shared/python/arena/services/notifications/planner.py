"""The notification planner: a domain event (EventBridge envelope) -> its audience -> one Notification per recipient
-> per channel QUEUED / HELD / SUPPRESSED (preferences, links, quiet hours, the rank-change throttle and digest) ->
the channel queues (in-app: 100 notifications per message, email 10, the chat apps and push one) and the holds.

Audiences: an event's participants and a type's opt-in list can be any size, so they are walked by key and cut
into "plan page" messages of at most `notifications_page_size` recipients on the PlanQueue (the walk hands itself
on after `notifications_pages_per_walk` pages); pages are planned in parallel by the same function. The small
audiences (a user in the detail, the rank moves, an event's winners) are planned at once when they fit one page.

Idempotent (EventBridge and SQS deliver at least once): ids are derived from the cause (`Cause.source`, the
envelope's time, the user, the type), and a page that finished is marked so that its redelivery reads one item and
stops. A QUEUED delivery gets no record here: in-app's record is its inbox item (the dispatcher's deterministic
batch write stores it once), an external one's is created by its dispatcher's send lease (a conditional write: a
second copy of the message finds it leased or final and sends nothing). A HELD delivery (and, for a cause that
names its channels, a SUPPRESSED one, to be counted) is recorded by a conditional write and only a created record
is held. A page that failed half way is planned again: its QUEUED deliveries are queued again (their dispatchers
deliver each once), the records it created are not created twice, those still HELD are held again, so a crash
between the record and the queue loses nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from arena import clock
from arena.adapters import queues
from arena.config import settings
from arena.domain import events as event_rules
from arena.domain.events import EventStatus
from arena.domain.notifications import (
    LINKED_CHANNELS,
    Channel,
    ChannelMessage,
    DeliveryStatus,
    Notification,
    NotificationType,
    Preferences,
    notification_id,
    plan,
    to_wire,
)
from arena.domain.statuses import DomainEvent, PrizeStatus
from arena.errors import ArenaError
from arena.factories import cached
from arena.models.events import Event
from arena.store import events as event_store
from arena.store import notifications as store
from arena.store import participants as participant_store
from arena.store import user_prizes

# One in-app message = one dispatcher write of 4 parallel BatchWriteItems (about 40 KB: far below SQS's 256 KB).
IN_APP_PER_MESSAGE = 100
# Emails a message (about 5 KB): SES has no per-recipient pacing, so one message's emails go out one after the
# other in one invocation (10 messages a batch: 100 emails, well inside the 60 s timeout at SES's speed); a
# throttled one sends the message back and its sent ones are final, skipped when it returns. The chat apps and
# push stay one a message: a 429 of one chat must not hold back another user's.
EMAIL_PER_MESSAGE = 10
CLAIM_CHUNK = 100  # one TransactWriteItems
# A walk sends the pages it cuts this many at a time (queues.send_all splits them into SendMessageBatch calls).
PAGES_PER_SEND = 10
SHARDS = participant_store.SHARDS

PARTICIPANT_CAUSES = {DomainEvent.EVENT_REMINDER_DUE, DomainEvent.EVENT_STARTED, DomainEvent.EVENT_ENDED}
# Told only while the event is live (EVENT_ENDED is the end itself: told unless the event was cancelled).
REMINDER_CAUSES = {DomainEvent.EVENT_REMINDER_DUE, DomainEvent.EVENT_STARTED}
CAUSE_TYPES: dict[DomainEvent, NotificationType] = {
    DomainEvent.EVENT_REMINDER_DUE: NotificationType.EVENT_REMINDER,
    DomainEvent.EVENT_STARTED: NotificationType.EVENT_REMINDER,
    DomainEvent.EVENT_ENDED: NotificationType.EVENT_REMINDER,
    DomainEvent.RANKS_CHANGED: NotificationType.RANK_CHANGE,
    DomainEvent.MILESTONE_REACHED: NotificationType.MILESTONE,
    DomainEvent.CLAIM_DEADLINE_APPROACHING: NotificationType.CLAIM_DEADLINE,
    DomainEvent.PRIZE_PAID: NotificationType.PRIZE_PAID,
    DomainEvent.PRIZES_DISTRIBUTED: NotificationType.PRIZE_WON,
    DomainEvent.EVENT_PUBLISHED: NotificationType.NEW_EVENT,
    DomainEvent.ANNOUNCEMENT_POSTED: NotificationType.ANNOUNCEMENT,
}
WON_STATUSES = set(PrizeStatus) - {PrizeStatus.PLANNED, PrizeStatus.ROLLED_BACK}
# A reminder's moment, from the event's times: its notification id does not depend on when Scheduler fired it.
REMINDER_OFFSETS = {
    "start_24h": ("start_at", timedelta(hours=-24)),
    "start_1h": ("start_at", timedelta(hours=-1)),
    "end_1h": ("end_at", timedelta(hours=-1)),
}


class NotACause(ValueError):
    """An envelope or plan message the planner cannot read (reported as that record's failure)."""


@dataclass(frozen=True)
class Cause:
    """The domain event a notification comes from, as the plan messages carry it."""

    id: str
    name: DomainEvent
    time: datetime
    detail: Mapping[str, Any]

    @classmethod
    def of(cls, envelope: Mapping[str, Any]) -> Cause:
        try:
            return cls(
                id=str(envelope["id"]),
                name=DomainEvent(envelope["detail-type"]),
                time=clock.from_iso(str(envelope["time"])),
                detail=dict(envelope.get("detail") or {}),
            )
        except (KeyError, ValueError, TypeError) as error:
            raise NotACause(f"not a domain event the planner reads: {error}") from error

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "detail-type": self.name.value, "time": clock.to_iso(self.time), "detail": self.detail}

    @property
    def event_id(self) -> str | None:
        value = self.detail.get("event_id")
        return str(value) if value else None

    @property
    def source(self) -> str:
        """What the notifications' ids and the delivery counts are keyed by: the cause itself, not the envelope, so
        two envelopes of one cause (Scheduler firing twice) plan the same notifications."""
        d, event = self.detail, self.event_id
        match self.name:
            case DomainEvent.EVENT_REMINDER_DUE:
                return f"reminder:{event}:{d.get('reminder')}"
            case DomainEvent.EVENT_STARTED:
                return f"started:{event}"
            case DomainEvent.EVENT_ENDED:
                return f"ended:{event}"
            case DomainEvent.EVENT_PUBLISHED:
                return f"published:{event}"
            case DomainEvent.RANKS_CHANGED:
                return f"ranks:{event}:{d.get('generation')}"
            case DomainEvent.MILESTONE_REACHED:
                return f"milestone:{event}:{d.get('user_id')}:{d.get('milestone')}"
            case DomainEvent.CLAIM_DEADLINE_APPROACHING:
                return f"claim-deadline:{d.get('prize_id')}"
            case DomainEvent.PRIZE_PAID:
                return f"paid:{d.get('prize_id')}"
            case DomainEvent.ANNOUNCEMENT_POSTED:
                return str(d.get("announcement_id") or self.id)
        return self.id

    @property
    def channels(self) -> frozenset[Channel] | None:
        """The channels the cause names (an announcement's); None: every channel."""
        named = self.detail.get("channels")
        if not named:
            return None
        try:
            return frozenset(Channel(c) for c in named)
        except ValueError as error:
            raise NotACause(f"unknown channel in {named!r}") from error


@dataclass
class PlanReport:
    """What one planner call did (logged; returned to tests and the benchmark)."""

    notifications: int = 0
    queued: dict[str, int] = field(default_factory=dict)
    held: int = 0
    suppressed: int = 0
    digested: int = 0
    throttled: int = 0
    already_planned: int = 0
    pages: int = 0
    messages: int = 0
    # Deliveries queued without a record, channel -> source -> count (counted when the page is marked planned).
    unrecorded: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, other: PlanReport) -> None:
        for name in ("notifications", "held", "suppressed", "digested", "throttled", "already_planned", "pages"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.messages += other.messages
        for channel, count in other.queued.items():
            self.queued[channel] = self.queued.get(channel, 0) + count
        for channel, per_source in other.unrecorded.items():
            mine = self.unrecorded.setdefault(channel, {})
            for source, count in per_source.items():
                mine[source] = mine.get(source, 0) + count

    def count_queued(self, note: Notification, channel: Channel) -> None:
        per_source = self.unrecorded.setdefault(channel.value, {})
        per_source[note.source] = per_source.get(note.source, 0) + 1


@cached
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="planner")


# ------------------------------------------------------------------------------------------------ entry points


def plan_domain_event(envelope: Mapping[str, Any]) -> PlanReport:
    """A domain event from the bus: plan its audience now, or hand a big one to the PlanQueue as pages."""
    cause = Cause.of(envelope)
    if cause.name not in CAUSE_TYPES:
        return PlanReport()
    if cause.name in PARTICIPANT_CAUSES or (cause.name is DomainEvent.ANNOUNCEMENT_POSTED and cause.event_id):
        if not cause.event_id:
            raise NotACause(f"{cause.name.value} without an event_id")
        return walk(cause, {"participants": cause.event_id}, None)
    if cause.name is DomainEvent.EVENT_PUBLISHED:
        return walk(cause, {"opted_in": NotificationType.NEW_EVENT.value}, None)
    if cause.name is DomainEvent.ANNOUNCEMENT_POSTED:
        return walk(cause, {"opted_in": NotificationType.ANNOUNCEMENT.value}, None)
    users = _named_users(cause)
    size = settings().notifications_page_size
    if len(users) <= size:
        return plan_page(cause, users)
    pages = [users[i : i + size] for i in range(0, len(users), size)]
    _send_plan_messages([{"kind": "page", "cause": cause.to_wire(), "users": page} for page in pages])
    return PlanReport(pages=len(pages))


def plan_message(body: Mapping[str, Any]) -> PlanReport:
    """A PlanQueue message: {"kind": "page", "cause", "users"} or {"kind": "walk", "cause", "audience", "position"}."""
    try:
        cause = Cause.of(body["cause"])
        if body["kind"] == "page":
            return plan_page(cause, [str(u) for u in body["users"]])
        if body["kind"] == "walk":
            return walk(cause, dict(body["audience"]), body.get("position"))
    except (KeyError, TypeError) as error:
        raise NotACause(f"not a plan message: {error}") from error
    raise NotACause(f"unknown plan message kind {body.get('kind')!r}")


# ------------------------------------------------------------------------------------------------ audiences


def walk(cause: Cause, audience: Mapping[str, Any], position: Mapping[str, Any] | None) -> PlanReport:
    """List the audience by key from `position`, cut it into plan pages for the PlanQueue (sent as they are cut,
    `PAGES_PER_SEND` at a time), and hand the rest on as another walk message after `notifications_pages_per_walk`
    pages. A redelivered walk step sends its pages again: a page already planned is marked and plans nothing."""
    size, budget = settings().notifications_page_size, settings().notifications_pages_per_walk
    if cause.name in PARTICIPANT_CAUSES and not _still_live(cause):
        return PlanReport()
    if "participants" in audience:
        reader = _participant_reader(str(audience["participants"]), position)
    elif "opted_in" in audience:
        reader = _opt_in_reader(cause, NotificationType(audience["opted_in"]), position)
    else:
        raise NotACause(f"unknown audience {audience!r}")
    wire = cause.to_wire()
    pages, unsent = 0, []
    current: list[str] = []
    next_position: dict[str, Any] | None = None
    for users, after in reader:
        current.extend(users)
        while len(current) >= size:
            unsent.append({"kind": "page", "cause": wire, "users": current[:size]})
            current, pages = current[size:], pages + 1
        if len(unsent) >= PAGES_PER_SEND:
            # Pages go out as they are cut: the planners start on the first while the walk reads on.
            _send_plan_messages(unsent)
            unsent = []
        if pages >= budget and after is not None:
            next_position = after
            break
    if current:
        # A walk handed on may cut a page short: pages are any size up to `size`.
        unsent.append({"kind": "page", "cause": wire, "users": current})
        pages += 1
    if next_position is not None:
        unsent.append({"kind": "walk", "cause": wire, "audience": dict(audience), "position": next_position})
    _send_plan_messages(unsent)
    return PlanReport(pages=pages)


def _still_live(cause: Cause) -> bool:
    """A reminder (24 h / 1 h before start, 1 h before end, "started") is for an event still on: one cancelled,
    ended or deleted since its schedule was set is told nothing (checked at every walk step, so a cancellation
    also stops a walk under way). The event's stored status decides: UPCOMING and ACTIVE are live. The end itself
    (EVENT_ENDED) is told unless the event was cancelled."""
    event = _event(cause.event_id)
    if event is None:
        return False
    if cause.name in REMINDER_CAUSES:
        return event.status in event_rules.LIVE_STATUSES
    return event.status is not EventStatus.CANCELLED


def _participant_reader(event_id: str, position: Mapping[str, Any] | None) -> Iterable[tuple[list[str], dict | None]]:
    """The event's participant ids shard by shard; each step yields the ids and where to start after them."""
    shard = int(position["shard"]) if position else 0
    after: str | None = position.get("after") if position else None
    size = settings().notifications_page_size
    while shard < SHARDS:
        ids, last = participant_store.user_ids_page(event_id, shard, after, size)
        if last is None:
            shard, after = shard + 1, None
        else:
            after = last
        yield ids, ({"shard": shard, "after": after} if shard < SHARDS else None)


def _opt_in_reader(
    cause: Cause, kind: NotificationType, position: Mapping[str, Any] | None
) -> Iterable[tuple[list[str], dict | None]]:
    """The type's opt-in list; for a new event only the users its eligibility rules admit (the KYC level and
    account type they had when they opted in; unknown counts as level 0, no account type)."""
    event = _event(cause.event_id) if kind is NotificationType.NEW_EVENT else None
    if kind is NotificationType.NEW_EVENT and event is None:
        return
    cursor: str | None = position.get("cursor") if position else None
    while True:
        found, cursor = store.opted_in_page(kind, cursor, settings().notifications_page_size)
        users = [o.user_id for o in found if event is None or _eligible(event, o)]
        yield users, ({"cursor": cursor} if cursor else None)
        if cursor is None:
            return


def _eligible(event: Event, opt_in: store.OptIn) -> bool:
    """The participation rule (arena/domain/events.py check_can_join) with the user's stored attributes: open
    for joining, KYC level, account type. Capacity is not checked (a full event may free a place)."""
    try:
        event_rules.check_can_join(
            event.status,
            participant_count=0,
            max_participants=None,
            min_kyc_level=event.eligibility.min_kyc_level,
            excluded_account_types=event.eligibility.excluded_account_types,
            kyc_level=opt_in.kyc_level or 0,
            account_type=opt_in.account_type,
        )
    except ArenaError:
        return False
    return True


def _named_users(cause: Cause) -> list[str]:
    """The recipients a small cause names: the detail's user, the users of the rank moves, an event's winners."""
    if cause.name is DomainEvent.RANKS_CHANGED:
        return list(dict.fromkeys(str(m["user_id"]) for m in cause.detail.get("moves") or [] if m.get("user_id")))
    if cause.name is DomainEvent.PRIZES_DISTRIBUTED:
        return list(dict.fromkeys(p.user_id for p in _prizes(cause.event_id)))
    user = cause.detail.get("user_id")
    return [str(user)] if user else []


def _send_plan_messages(messages: Sequence[Mapping[str, Any]]) -> None:
    if not messages:
        return
    queue = settings().notifications_plan_queue_url
    if not queue:
        raise RuntimeError("NOTIFICATIONS_PLAN_QUEUE_URL is not set: a big audience cannot be paged")
    queues.send_all(queue, [json.dumps(m, separators=(",", ":"), default=str) for m in messages])


# ------------------------------------------------------------------------------------------------ one page


def page_key(users: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(users)).encode()).hexdigest()[:32]


def plan_page(cause: Cause, users: Sequence[str]) -> PlanReport:
    """Plan the cause's notifications for these recipients (at most one page): build, decide per channel, record
    each delivery once, queue and hold. Idempotent (see the module docstring)."""
    if not users:
        return PlanReport()
    page = page_key(users)
    if store.page_planned(cause.source, page):
        return PlanReport(already_planned=len(users))
    now = clock.now()
    report = plan_notifications(build(cause, users), now, cause.channels)
    if store.mark_page_planned(cause.source, page, now):
        store.count_queued(report.unrecorded)
    return report


def plan_notifications(
    notifications: Sequence[Notification], now: datetime, named: frozenset[Channel] | None = None
) -> PlanReport:
    """Decide, record, queue and hold these notifications' deliveries (the planner's pages, the daily digests).
    `named`: the channels the cause names (an announcement's); their suppressed deliveries are recorded and counted
    too, so the announcement shows how many preferences kept away.

    A QUEUED delivery writes no record here: in-app's inbox item is its record (the dispatcher's batch of
    deterministic items is idempotent, arena/store/notifications.py `deliver_in_app`) and an external one's is
    created by its dispatcher's send lease (`lease_delivery`), so a queued in-app notification costs one write in
    all and an email two (lease, outcome) instead of a transactional create more. Every QUEUED delivery planned is
    queued, also on a replan of a page that failed half way (its dispatcher delivers it once); the caller counts
    `report.unrecorded` once (`plan_page`: when it marks the page planned)."""
    report = PlanReport(notifications=len(notifications))
    prefs = store.preferences_of(list(dict.fromkeys(n.user_id for n in notifications)))
    kept = _apply_rank_rules(list(notifications), prefs, report, now)
    linked = _linked(kept, prefs)
    claims: list[tuple[Notification, Channel, DeliveryStatus]] = []
    not_before: dict[tuple[str, Channel], datetime] = {}
    unrecorded: list[tuple[Notification, Channel]] = []
    for note in kept:
        for planned in plan(note, prefs[note.user_id], linked.get(note.user_id, frozenset()), now, named):
            if planned.status is DeliveryStatus.QUEUED:
                unrecorded.append((note, planned.channel))
                report.count_queued(note, planned.channel)
                continue
            if planned.status is DeliveryStatus.SUPPRESSED:
                report.suppressed += 1
                if named is None:
                    continue
            claims.append((note, planned.channel, planned.status))
            if planned.not_before is not None:
                not_before[(note.notification_id, planned.channel)] = planned.not_before
    created = _claim(claims, now)
    fresh = [claim for claim, new in zip(claims, created, strict=True) if new]
    fresh += _unfinished(claim for claim, new in zip(claims, created, strict=True) if not new)
    queued = unrecorded + [(n, c) for n, c, s in fresh if s is DeliveryStatus.QUEUED]
    held = [
        store.held_delivery(n, c, not_before.get((n.notification_id, c), now))
        for n, c, s in fresh
        if s is DeliveryStatus.HELD
    ]
    report.messages += _enqueue(queued, report)
    if held:
        store.add_holds(held, now)
        report.held += len(held)
    return report


def _claim(claims: Sequence[tuple[Notification, Channel, DeliveryStatus]], now: datetime) -> list[bool]:
    """The delivery records, a transaction of 100 per call, the calls in parallel."""
    chunks = [claims[i : i + CLAIM_CHUNK] for i in range(0, len(claims), CLAIM_CHUNK)]
    if len(chunks) <= 1:
        return store.claim_deliveries(claims, now) if claims else []
    results = _pool().map(lambda chunk: store.claim_deliveries(chunk, now), chunks)
    return [created for chunk in results for created in chunk]


def _unfinished(
    existing: Iterable[tuple[Notification, Channel, DeliveryStatus]],
) -> list[tuple[Notification, Channel, DeliveryStatus]]:
    """Of the deliveries recorded before (this page ran before and did not finish), those still waiting: queued
    or held again (a held one's hold is keyed by what it holds; the dispatchers deliver a record once)."""
    existing = list(existing)
    if not existing:
        return []
    status = store.deliveries([(n.notification_id, c) for n, c, _ in existing])
    return [(n, c, s) for n, c, s in existing if status.get((n.notification_id, c)) in store.OPEN]


def _enqueue(queued: Sequence[tuple[Notification, Channel]], report: PlanReport) -> int:
    """Channel messages for the queued deliveries: in-app 100 notifications a message, email 10, the others one."""
    by_channel: dict[Channel, list[Notification]] = {}
    for note, channel in queued:
        by_channel.setdefault(channel, []).append(note)
    sent = 0
    for channel, notes in by_channel.items():
        url = queue_url(channel)
        per = {Channel.IN_APP: IN_APP_PER_MESSAGE, Channel.EMAIL: EMAIL_PER_MESSAGE}.get(channel, 1)
        bodies = [to_wire(ChannelMessage(channel, tuple(notes[i : i + per]))) for i in range(0, len(notes), per)]
        queues.send_all(url, bodies)
        sent += len(bodies)
        report.queued[channel.value] = report.queued.get(channel.value, 0) + len(notes)
    return sent


def queue_url(channel: Channel) -> str:
    config = settings()
    url = {
        Channel.IN_APP: config.notifications_in_app_queue_url,
        Channel.EMAIL: config.notifications_email_queue_url,
        Channel.DISCORD: config.notifications_discord_queue_url,
        Channel.TELEGRAM: config.notifications_telegram_queue_url,
        Channel.PUSH: config.notifications_push_queue_url,
    }[channel]
    if not url:
        raise RuntimeError(f"no queue URL for the {channel.value} channel (NOTIFICATIONS_{channel.name}_QUEUE_URL)")
    return url


def _linked(notifications: Sequence[Notification], prefs: Mapping[str, Preferences]) -> dict[str, frozenset[Channel]]:
    """The linked channels of the users who want a channel that needs a link for their notification (most users
    want none: nothing is read for them)."""
    wanting = [n.user_id for n in notifications if prefs[n.user_id].enabled_channels(n.type) & LINKED_CHANNELS]
    return store.verified_channels_of(list(dict.fromkeys(wanting))) if wanting else {}


def _apply_rank_rules(
    notifications: list[Notification], prefs: Mapping[str, Preferences], report: PlanReport, now: datetime
) -> list[Notification]:
    """Rank changes of users with the digest on go to their digest (not planned now); the others pass the throttle
    (at most one per user per event per window) or are dropped."""
    kept: list[Notification] = []
    window = timedelta(minutes=settings().rank_change_throttle_minutes)
    digests: list[store.Hold] = []
    for note in notifications:
        if note.type is not NotificationType.RANK_CHANGE:
            kept.append(note)
            continue
        user_prefs = prefs[note.user_id]
        if user_prefs.digest.enabled:
            due = user_prefs.digest_due(note.created_at)
            day = user_prefs.digest_day(due)
            store.add_digest_entry(note, day, now)
            digests.append(store.digest_hold(note.user_id, day, due))
            report.digested += 1
        elif window <= timedelta(0) or store.claim_throttle(
            note.user_id, note.type, note.event_id or "", note.notification_id, note.created_at, window
        ):
            kept.append(note)
        else:
            report.throttled += 1
    if digests:
        store.add_holds(digests, now)
    return kept


# ------------------------------------------------------------------------------------------------ notifications


def build(cause: Cause, users: Sequence[str]) -> list[Notification]:
    """The cause's notifications for these users (a user may get none: a winner with no prize left, a user not in
    the moves), each with what its templates show in `data`: decimal strings, ISO times."""
    event = _event(cause.event_id) if cause.event_id else None
    base: dict[str, Any] = {}
    if event is not None:
        base = {
            "event_name": event.name,
            "starts_at": clock.to_iso(event.start_at),
            "ends_at": clock.to_iso(event.end_at),
        }
    d = cause.detail
    kind = CAUSE_TYPES[cause.name]
    at = cause.time
    per_user: dict[str, list[tuple[NotificationType, dict[str, Any]]]] = {}
    match cause.name:
        case DomainEvent.EVENT_REMINDER_DUE | DomainEvent.EVENT_STARTED | DomainEvent.EVENT_ENDED:
            reminder = {DomainEvent.EVENT_STARTED: "started", DomainEvent.EVENT_ENDED: "ended"}.get(
                cause.name, str(d.get("reminder") or "")
            )
            if event is not None and reminder in REMINDER_OFFSETS:
                attribute, offset = REMINDER_OFFSETS[reminder]
                at = getattr(event, attribute) + offset
            data = {**base, "reminder": reminder}
            per_user = {u: [(kind, data)] for u in users}
        case DomainEvent.RANKS_CHANGED:
            moves: dict[str, list[dict[str, Any]]] = {}
            for move in d.get("moves") or []:
                # The rival passed is another trader: their user id stays on the bus, never in a trader's inbox.
                mine = {k: v for k, v in move.items() if k != "rival_user_id"}
                moves.setdefault(str(move.get("user_id")), []).append(mine)
            for user in users:
                if user in moves:
                    first = moves[user][0]
                    changes = first.get("changes") or [first.get("move")]
                    data = {
                        **base,
                        **{k: v for k, v in first.items() if k != "user_id"},
                        "move": changes[0] if changes else None,
                        "generation": d.get("generation"),
                    }
                    if len(moves[user]) > 1:
                        data["moves"] = moves[user]
                    per_user[user] = [(kind, data)]
        case DomainEvent.PRIZES_DISTRIBUTED:
            per_user = _prize_notices(cause, users, base)
        case _:
            data = {**base, **{k: v for k, v in d.items() if k not in ("user_id", "channels")}}
            per_user = {u: [(kind, data)] for u in users}
    return [
        Notification(
            notification_id=notification_id(cause.source, user, note_kind, at),
            user_id=user,
            type=note_kind,
            source=cause.source,
            created_at=at,
            event_id=cause.event_id,
            data=data,
        )
        for user, notes in per_user.items()
        for note_kind, data in notes
    ]


def _prize_notices(
    cause: Cause, users: Sequence[str], base: Mapping[str, Any]
) -> dict[str, list[tuple[NotificationType, dict[str, Any]]]]:
    """Each winner: PRIZE_WON (the best prize's place, amount and token; every prize listed), and PRIZE_CLAIMABLE
    with its deadline when a prize waits to be claimed."""
    wanted = set(users)
    by_user: dict[str, list[Any]] = {}
    for prize in _prizes(cause.event_id):
        if prize.user_id in wanted:
            by_user.setdefault(prize.user_id, []).append(prize)
    notices: dict[str, list[tuple[NotificationType, dict[str, Any]]]] = {}
    for user, prizes in by_user.items():
        prizes.sort(key=lambda p: (p.prize_rank, p.rule_index))
        listed = [
            {
                "rank": p.prize_rank,
                "amount": str(p.amount),
                "token": p.token or p.description or p.type,
                "status": str(p.status),
                **({"claim_deadline": clock.to_iso(p.claim_deadline)} if p.claim_deadline else {}),
                **({"prize_id": p.ref.prize_id} if p.status is PrizeStatus.CLAIMABLE else {}),
            }
            for p in prizes
        ]
        best = listed[0]
        won = {**base, "rank": best["rank"], "amount": best["amount"], "token": best["token"], "prizes": listed}
        notes: list[tuple[NotificationType, dict[str, Any]]] = [(NotificationType.PRIZE_WON, won)]
        claimable = [p for p in listed if p["status"] == PrizeStatus.CLAIMABLE.value]
        if claimable:
            first = claimable[0]
            notes.append((NotificationType.PRIZE_CLAIMABLE, {**base, **first, "prizes": claimable}))
        notices[user] = notes
    return notices


def _prizes(event_id: str | None) -> list[Any]:
    if not event_id:
        return []
    return [p for p in user_prizes.of_event(event_id) if p.status in WON_STATUSES]


def _event(event_id: str | None) -> Event | None:
    return event_store.get(event_id) if event_id else None
