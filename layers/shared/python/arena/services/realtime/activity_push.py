"""The activity push: follows the participants stream; per participant, personal milestones once per new
version (pushed on the user's channel, and published once per (event, user, milestone) as MilestoneReached); per
event, a sample of the batch's trades (anonymised) and volume milestones; one admin message per batch."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from arena.adapters import domain_events
from arena.config import settings
from arena.domain import realtime as rt
from arena.domain.realtime import Milestone
from arena.domain.statuses import DomainEvent
from arena.observability import count, logger
from arena.services.realtime.sending import Report, pool, publish
from arena.store import connections as store
from arena.store import events as event_store
from arena.store import participant_stream


@dataclass
class ActivityBatch:
    """One participants-stream batch: its records grouped per participant, then what they added per event, for
    the pushes made once the batch is through."""

    records: int = 0
    applied: int = 0
    failures: int = 0
    oldest_change: float | None = None  # epoch seconds of the oldest change (the stream's lag)
    # (event, user) -> [(version, old image, new image, sequence number)] in stream order
    pending: dict[tuple[str, str], list[tuple[int, dict | None, dict, str]]] = field(default_factory=dict)
    volume: dict[str, Decimal] = field(default_factory=dict)
    trades: dict[str, list[rt.Activity]] = field(default_factory=dict)


def collect_participant_change(record: Mapping[str, Any], batch: ActivityBatch) -> None:
    """One participants-stream record, parsed and grouped with the others of its participant (no I/O)."""
    batch.records += 1
    stream = record.get("dynamodb") or {}
    created = stream.get("ApproximateCreationDateTime")
    if created is not None:
        created = float(created)
        batch.oldest_change = created if batch.oldest_change is None else min(batch.oldest_change, created)
    old, new = participant_stream.image(record, "OldImage"), participant_stream.image(record, "NewImage")
    if not new or "version" not in new:
        return  # a deletion, or not a participant state (moto streams bare keys for some writes)
    event_id = participant_stream.event_id_of(new)
    change = (int(new["version"]), old, new, str(stream.get("SequenceNumber", "")))
    batch.pending.setdefault((event_id, str(new["user_id"])), []).append(change)


@dataclass
class _Applied:
    event_id: str
    fresh: int  # records applied for the first time
    activity: rt.Activity | None
    report: Report
    notices: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # MilestoneReached to publish


def _apply_participant(event_id: str, user_id: str, changes: list[tuple[int, dict | None, dict, str]]) -> _Applied:
    """All of one participant's changes in a batch with one conditional write: the changes newer than the last
    version applied count once, together (first old image -> last new image); a redelivery counts nothing."""
    applied_before = store.advance_progress(event_id, user_id, max(c[0] for c in changes), time.time())
    fresh = [c for c in changes if applied_before is not None and c[0] > applied_before]
    if not fresh:
        return _Applied(event_id, 0, None, Report())
    old, new = fresh[0][1], fresh[-1][2]
    # no old image (the participant's first record): no progress before
    before = rt.Progress(int(old.get("trade_count", 0)), bool(old.get("qualified", False))) if old else None
    after = rt.Progress(int(new.get("trade_count", 0)), bool(new.get("qualified")), bool(new.get("disqualified")))
    report = Report()
    notices: list[tuple[str, dict[str, Any]]] = []
    for milestone in rt.personal_milestones(before, after):
        report.add(publish(rt.user_topic(user_id), "milestone", {"milestone": milestone.value, "event_id": event_id}))
        # Qualification can be lost and regained: notified once per (event, user, milestone) all the same.
        if store.claim_personal_milestone(event_id, user_id, milestone.value, time.time()):
            detail = {"event_id": event_id, "user_id": user_id, "milestone": milestone.value}
            notices.append((DomainEvent.MILESTONE_REACHED, detail))
    return _Applied(event_id, len(fresh), rt.activity(old, new), report, notices)


def apply_participant_changes(batch: ActivityBatch) -> tuple[Report, list[str]]:
    """Apply the batch's grouped changes, participants in parallel: personal milestones go out now, volume and
    trades are gathered for `flush_activity`. Returns the report and, for participants that failed, the
    sequence number of their first record (the batch item failures: Lambda resumes from the lowest one, and the
    version gate makes the changes already applied count nothing the second time)."""
    report, failed = Report(), []
    notices: list[tuple[str, dict[str, Any]]] = []

    def run(item: tuple[tuple[str, str], list]) -> _Applied | str:
        (event_id, user_id), changes = item
        try:
            return _apply_participant(event_id, user_id, changes)
        except Exception:
            logger.exception("participant change failed", extra={"event_id": event_id, "user_id": user_id})
            return changes[0][3]

    for outcome in pool().map(run, list(batch.pending.items())):
        if isinstance(outcome, str):
            failed.append(outcome)
            continue
        report.add(outcome.report)
        notices += outcome.notices
        batch.applied += outcome.fresh
        if outcome.activity is not None:
            batch.volume[outcome.event_id] = batch.volume.get(outcome.event_id, Decimal(0)) + outcome.activity.volume
            batch.trades.setdefault(outcome.event_id, []).append(outcome.activity)
    batch.failures += len(failed)
    _publish_milestones(notices)
    return report, failed


def _publish_milestones(notices: list[tuple[str, dict[str, Any]]]) -> None:
    """MilestoneReached for the batch's personal milestones, recorded once each (store.claim_personal_milestone)
    before this; a failed publish is logged and counted (the record stands, so a retry would not publish it)."""
    if not notices:
        return
    try:
        domain_events.publish_all(notices)
    except Exception:
        count("DomainEventPublishFailed")
        logger.exception("could not publish personal milestones", extra={"milestones": len(notices)})


def flush_activity(batch: ActivityBatch) -> Report:
    """After a batch: each event's sampled, anonymised trades; event volume milestones; one admin monitoring
    message. At most once (a crash here loses these pushes; the volume total may then lag by this batch)."""
    report = Report()
    for event_id, changes in batch.trades.items():
        delta = batch.volume.get(event_id, Decimal(0))
        sampled = rt.sample(changes, settings().realtime_trade_sample)
        data = {
            "event_id": event_id,
            "trades": sum(c.trades for c in changes),
            "volume": delta,
            "sample": [c.to_wire() for c in sampled],
        }
        if sampled:
            report.add(publish(rt.trades_topic(event_id), "trades", data))
        event = event_store.get(event_id)
        thresholds = [Decimal(v) for v in event.milestones.volume] if event else []
        if thresholds and delta > 0:
            total = store.add_volume(event_id, delta)
            for threshold in rt.crossed(total - delta, total, thresholds):
                if store.claim_milestone(event_id, f"volume#{threshold}", time.time()):
                    milestone = {
                        "milestone": Milestone.EVENT_VOLUME.value,
                        "event_id": event_id,
                        "threshold": threshold,
                    }
                    report.add(publish(rt.event_topic(event_id), "milestone", milestone))
    lag = None if batch.oldest_change is None else max(0, int((time.time() - batch.oldest_change) * 1000))
    admin = {
        "source": "participants-stream",
        "records": batch.records,
        "applied": batch.applied,
        "failures": batch.failures,
        "trades": sum(c.trades for changes in batch.trades.values() for c in changes),
        "events": sorted(batch.trades),
        "lag_ms": lag,
    }
    report.add(publish(rt.ADMIN_TOPIC, "ingest", admin))
    return report
