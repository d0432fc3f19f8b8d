"""Equity updates for ROI events: ROI = realised PnL / (starting equity + net deposits), as exchanges define it.

Delivery: the feed may repeat an update any number of times; each counts once per (update_id, event), through
the same dedupe-record-plus-versioned-update transaction as trades. Idempotent.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from arena import clock
from arena.domain import exact
from arena.domain.events import LIVE_STATUSES, EventStatus, RankingMetric
from arena.domain.ranking import Totals
from arena.models.accounts import EquityBatchResult, EquityUpdateIn, IgnoredUpdate, RejectedUpdate
from arena.models.events import Event
from arena.services.events import current_status
from arena.services.ingest import count_exactly_once, describe, with_score
from arena.store import events as event_store
from arena.store import participants as participant_store
from arena.store import trades as trade_store
from arena.store.participants import ParticipantRecord, equity_of

TAKING_UPDATES = (*LIVE_STATUSES, EventStatus.FINALIZING)


def _dedupe_record(event: Event, now: datetime, u: EquityUpdateIn) -> dict[str, Any]:
    """The dedupe record of one equity update, as a trade item of the event."""
    return trade_store.trade_item(
        event.id,
        event.end_at,
        {
            "trade_id": f"equity#{u.update_id}",
            "user_id": u.user_id,
            "kind": u.kind,
            "amount": u.amount,
            "at": clock.to_iso(u.at),
        },
        now,
    )


def _fold(event: Event, user_id: str, now: datetime) -> Any:
    def fold(record: ParticipantRecord | None, updates: list[EquityUpdateIn]) -> ParticipantRecord:
        base = record or ParticipantRecord(
            event_id=event.id,
            user_id=user_id,
            joined_at=now,
            totals=Totals(),
            score=Decimal(0),
            board_key=None,
            version=0,
        )
        equity_base, equity_at, net = base.equity_base, base.equity_at, base.net_deposits
        for update in sorted(updates, key=lambda u: (u.at, u.update_id)):
            if update.kind == "starting_equity":
                if equity_at is None or update.at >= equity_at:
                    equity_base, equity_at = update.amount, update.at
            else:
                signed = update.amount if update.kind == "deposit" else -update.amount
                net = exact.total([signed], net)
        totals = replace(base.totals, equity=equity_of(equity_base, net))
        updated = replace(
            base,
            equity_base=equity_base,
            equity_at=equity_at,
            net_deposits=net,
            totals=totals,
            version=base.version + 1,
        )
        return with_score(event, updated)

    return fold


def apply_updates(raw_updates: list[Any]) -> EquityBatchResult:
    now = clock.now()
    valid: list[tuple[int, EquityUpdateIn]] = []
    rejected: list[RejectedUpdate] = []
    for index, raw in enumerate(raw_updates):
        try:
            valid.append((index, EquityUpdateIn.model_validate(raw)))
        except ValidationError as error:
            raw_id = raw.get("update_id") if isinstance(raw, dict) else None
            rejected.append(
                RejectedUpdate(
                    index=index,
                    update_id=raw_id if isinstance(raw_id, str) else None,
                    code="invalid_update",
                    message=describe(error),
                )
            )
    first: dict[str, int] = {}
    repeats = 0
    for index, update in valid:
        if update.update_id in first:
            repeats += 1
        else:
            first[update.update_id] = index
    unique = [(i, u) for i, u in valid if first[u.update_id] == i]

    roi_events = [
        e
        for e in event_store.live_events()
        if e.ranking_metric == RankingMetric.ROI and current_status(e) in TAKING_UPDATES
    ]
    groups: dict[tuple[str, str], list[EquityUpdateIn]] = defaultdict(list)
    ignored_because: dict[str, str] = {}
    for _, update in unique:
        if not roi_events:
            ignored_because[update.update_id] = "no_roi_event"
        for event in roi_events:
            groups[(event.id, update.user_id)].append(update)
    known = participant_store.get_many(list(groups)) if groups else {}
    applied: set[str] = set()
    duplicate: set[str] = set()
    events_by_id = {e.id: e for e in roi_events}
    for (event_id, user_id), updates in groups.items():
        event = events_by_id[event_id]
        before = known.get((event_id, user_id))
        if before is None and event.join_required:
            for update in updates:
                ignored_because.setdefault(update.update_id, "not_joined")
            continue
        new, repeated = count_exactly_once(
            event,
            user_id,
            before,
            updates,
            item_id=lambda u: u.update_id,
            dedupe_record=functools.partial(_dedupe_record, event, now),
            fold=_fold(event, user_id, now),
        )
        applied.update(new)
        duplicate.update(repeated)
    return EquityBatchResult(
        received=len(raw_updates),
        applied=len(applied),
        duplicates=repeats + len(duplicate - applied),
        ignored=[
            IgnoredUpdate(index=i, update_id=u.update_id, reason=ignored_because[u.update_id])
            for i, u in unique
            if u.update_id not in applied and u.update_id not in duplicate and u.update_id in ignored_because
        ],
        rejected=rejected,
    )
