"""Trade ingest: every valid trade counts exactly once for every live event it belongs to.

Delivery: the exchange may send a trade any number of times (HTTP retries, SQS at-least-once); the
(trade, event) dedupe record written in the same transaction as the participant's totals makes a repeat a
no-op. Idempotent per (trade_id, event). Every unique valid trade also leaves one feed record (the analytics
rollups' input), written again unchanged on a repeat.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import ValidationError

from arena import clock
from arena.config import settings
from arena.domain import claims as claim_rules
from arena.domain import events as rules
from arena.domain import exact, ranking
from arena.domain.events import EventStatus
from arena.errors import InvalidInput
from arena.models.events import Event
from arena.models.trades import (
    IgnoredTrade,
    IgnoreReason,
    RejectedTrade,
    TradeBatchResult,
    TradeIn,
)
from arena.observability import logger
from arena.services.events import current_status
from arena.store import events as event_store
from arena.store import participants as participant_store
from arena.store import trades as trade_store
from arena.store.participants import ParticipantRecord

T = TypeVar("T")
# Concurrent writers on one participant retry with a fresh read; past this something is wrong.
MAX_ATTEMPTS = 20
# Participants are independent items: count their groups in parallel.
WORKERS = 8


@dataclass
class _TradeFate:
    new_for: set[str] = field(default_factory=set)
    duplicate_for: set[str] = field(default_factory=set)
    ignored_because: list[IgnoreReason] = field(default_factory=list)


def describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in problem['loc']) or 'trade'}: {problem['msg']}" for problem in error.errors()
    )


def _validate(raw_trades: list[Any], now: datetime) -> tuple[list[tuple[int, TradeIn]], list[RejectedTrade]]:
    valid: list[tuple[int, TradeIn]] = []
    rejected: list[RejectedTrade] = []
    skew = timedelta(seconds=settings().max_clock_skew_seconds)
    for index, raw in enumerate(raw_trades):
        raw_id = raw.get("trade_id") if isinstance(raw, dict) else None
        trade_id = raw_id if isinstance(raw_id, str) else None
        try:
            trade = TradeIn.model_validate(raw)
        except ValidationError as error:
            rejected.append(
                RejectedTrade(index=index, trade_id=trade_id, code="invalid_trade", message=describe(error))
            )
            continue
        refusal = None
        if not exact.fits_dynamodb(exact.product(trade.quantity, trade.price)):
            refusal = ("amount_out_of_range", "quantity x price needs more than 38 significant digits.")
        elif trade.executed_at > now + skew:
            refusal = ("executed_in_future", "executed_at is in the future; check the feed's clock.")
        if refusal:
            rejected.append(RejectedTrade(index=index, trade_id=trade.trade_id, code=refusal[0], message=refusal[1]))
            continue
        valid.append((index, trade))
    return valid, rejected


def _trade_values(trade: TradeIn) -> dict[str, Any]:
    return {
        "trade_id": trade.trade_id,
        "user_id": trade.user_id,
        "market": trade.market,
        "side": trade.side,
        "quantity": trade.quantity,
        "price": trade.price,
        "volume": exact.product(trade.quantity, trade.price),
        "realized_pnl": trade.realized_pnl,
        "fee": trade.fee,
        "executed_at": clock.to_iso(trade.executed_at),
        "counterparty_id": trade.counterparty_id,
    }


def _counted(trade: TradeIn) -> ranking.CountedTrade:
    return ranking.CountedTrade(
        volume=exact.product(trade.quantity, trade.price),
        realized_pnl=trade.realized_pnl or Decimal(0),
        fee=trade.fee or Decimal(0),
        executed_at=trade.executed_at,
    )


def _after(
    event: Event, before: ParticipantRecord | None, user_id: str, trades: list[TradeIn], now: datetime
) -> ParticipantRecord:
    base = before or ParticipantRecord(
        event_id=event.id,
        user_id=user_id,
        joined_at=now,  # auto-participation (join not required): joined with the first counted trade
        totals=ranking.Totals(),
        score=Decimal(0),
        board_key=None,
        version=0,
    )
    totals = ranking.add_trades(base.totals, [_counted(t) for t in trades])
    base = _with_claim_signals(event, base, trades)
    if not all(exact.fits_dynamodb(v) for v in (totals.volume, totals.pnl, totals.fees)):
        raise InvalidInput(
            f"The totals of {user_id} in {event.id} would exceed 38 significant digits.", code="amount_out_of_range"
        )
    return with_score(event, replace(base, totals=totals, version=base.version + 1))


def _with_claim_signals(event: Event, record: ParticipantRecord, trades: list[TradeIn]) -> ParticipantRecord:
    """Fold the trades into the participant's fraud signals for prize claims: volume per counterparty (bounded
    summary) and the volume and count of trades executed in the last minutes before the event's end."""
    counterparties = record.counterparties or {}
    late_volume, late_trades = record.late_volume, record.late_trades
    late_from = event.end_at - timedelta(seconds=settings().claim_burst_window_seconds)
    for trade in trades:
        volume = exact.product(trade.quantity, trade.price)
        if trade.counterparty_id:
            counterparties = claim_rules.add_counterparty(counterparties, trade.counterparty_id, volume)
        if trade.executed_at >= late_from:
            late_volume, late_trades = exact.total([late_volume, volume]), late_trades + 1
    return replace(record, counterparties=counterparties or None, late_volume=late_volume, late_trades=late_trades)


def with_score(event: Event, record: ParticipantRecord) -> ParticipantRecord:
    """Score, board key and qualification of a participant from its totals under the event's rules."""
    totals = record.totals
    score = ranking.score(event.ranking_metric, totals)
    key = None
    if score is not None and totals.last_trade_at is not None:
        # Ties: the earlier achiever (time of the last score change) first, then the earlier joiner.
        key = ranking.board_key(
            score, clock.to_millis(totals.last_trade_at), clock.to_millis(record.joined_at), record.user_id
        )
    rule = ranking.Qualification(event.qualification.min_volume, event.qualification.min_trades)
    return replace(
        record,
        score=score if score is not None else Decimal(0),
        board_key=key,
        qualified=not ranking.qualification_gap(rule, totals),
    )


def count_exactly_once(
    event: Event,
    user_id: str,
    before: ParticipantRecord | None,
    items: list[T],
    *,
    item_id: Callable[[T], str],
    dedupe_record: Callable[[T], dict[str, Any]],
    fold: Callable[[ParticipantRecord | None, list[T]], ParticipantRecord],
) -> tuple[list[str], list[str]]:
    """Fold feed items (trades, equity updates) into one participant of one event, each exactly once.

    Per transaction: a conditional dedupe record per item plus the participant's versioned update. A repeated item
    cancels the transaction and is dropped; a concurrent writer makes us re-read and refold. Returns (new item
    ids, duplicate item ids). Idempotent: running it again with the same items changes nothing.
    """
    new: list[str] = []
    duplicates: list[str] = []
    for start in range(0, len(items), trade_store.MAX_TRADES_PER_TRANSACTION):
        chunk = items[start : start + trade_store.MAX_TRADES_PER_TRANSACTION]
        for _ in range(MAX_ATTEMPTS):
            if not chunk:
                break
            after = fold(before, chunk)
            outcome = trade_store.record_trades(before, after, [dedupe_record(i) for i in chunk])
            if outcome is None:
                new.extend(item_id(i) for i in chunk)
                before = after
                break
            failed = set(outcome.failed_conditions())
            repeated = {i for i in failed if i < len(chunk)}
            duplicates.extend(item_id(chunk[i]) for i in sorted(repeated))
            chunk = [t for i, t in enumerate(chunk) if i not in repeated]
            if len(chunk) + len(repeated) in failed or outcome.conflicted or not failed:
                # Someone else moved this participant since we read it: read again, refold, retry.
                before = participant_store.get(event.id, user_id)
        else:
            raise RuntimeError(f"could not record items for {event.id}/{user_id} after {MAX_ATTEMPTS} attempts")
    return new, duplicates


def _count_group(
    event: Event, user_id: str, before: ParticipantRecord | None, trades: list[TradeIn], now: datetime
) -> tuple[list[str], list[str]]:
    return count_exactly_once(
        event,
        user_id,
        before,
        trades,
        item_id=lambda t: t.trade_id,
        dedupe_record=lambda t: trade_store.trade_item(event.id, event.end_at, _trade_values(t), now),
        fold=lambda record, chunk: _after(event, record, user_id, chunk, now),
    )


def ingest(raw_trades: list[Any]) -> TradeBatchResult:
    now = clock.now()
    valid, rejected = _validate(raw_trades, now)

    fates: dict[int, _TradeFate] = {}
    first_index: dict[str, int] = {}
    in_batch_repeats = 0
    unique: list[tuple[int, TradeIn]] = []
    for index, trade in valid:
        if trade.trade_id in first_index:
            in_batch_repeats += 1  # the same trade twice in one call counts once
            continue
        first_index[trade.trade_id] = index
        fates[index] = _TradeFate()
        unique.append((index, trade))

    # Analytics count every valid trade once, whether or not an event takes it (participation's denominator,
    # retention and lift need the trades of non-participants and of markets outside events).
    if unique:
        trade_store.record_feed([trade_store.feed_item(_trade_values(t), t.executed_at) for _, t in unique])

    taking_trades = [
        e for e in event_store.live_events() if current_status(e) in (EventStatus.ACTIVE, EventStatus.FINALIZING)
    ]
    groups: dict[tuple[str, str], list[tuple[int, TradeIn]]] = defaultdict(list)
    events_by_id = {e.id: e for e in taking_trades}
    for index, trade in unique:
        covering = [e for e in taking_trades if rules.in_window(e.start_at, e.end_at, trade.executed_at)]
        matching = [e for e in covering if rules.counts_market(e.markets, trade.market)]
        if not covering:
            fates[index].ignored_because.append(IgnoreReason.NO_LIVE_EVENT)
        elif len(matching) < len(covering):
            # Said even when another event's reason applies too: a trader who joined the event that does not
            # take the market must not read only "not_joined".
            fates[index].ignored_because.append(IgnoreReason.MARKET_NOT_IN_EVENT)
        for event in matching:
            groups[(event.id, trade.user_id)].append((index, trade))

    known = participant_store.get_many(list(groups)) if groups else {}
    work: list[tuple[Event, str, ParticipantRecord | None, list[tuple[int, TradeIn]]]] = []
    for (event_id, user_id), members in groups.items():
        event = events_by_id[event_id]
        before = known.get((event_id, user_id))
        if before is None and event.join_required:
            for index, _ in members:
                fates[index].ignored_because.append(IgnoreReason.NOT_JOINED)
            continue
        members.sort(key=lambda m: (m[1].executed_at, m[1].trade_id))
        work.append((event, user_id, before, members))

    def run(
        job: tuple[Event, str, ParticipantRecord | None, list[tuple[int, TradeIn]]],
    ) -> tuple[str, list[str], list[str]]:
        event, user_id, before, members = job
        new, repeated = _count_group(event, user_id, before, [t for _, t in members], now)
        return event.id, new, repeated

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for event_id, new, repeated in pool.map(run, work):
            for trade_id in new:
                fates[first_index[trade_id]].new_for.add(event_id)
            for trade_id in repeated:
                fates[first_index[trade_id]].duplicate_for.add(event_id)

    accepted = sum(1 for f in fates.values() if f.new_for)
    duplicates = in_batch_repeats + sum(1 for f in fates.values() if not f.new_for and f.duplicate_for)
    ignored = [
        IgnoredTrade(index=index, trade_id=trade.trade_id, reason=",".join(sorted(set(fates[index].ignored_because))))
        for index, trade in unique
        if not fates[index].new_for and not fates[index].duplicate_for
    ]
    logger.info(
        "trades ingested",
        extra={
            "received": len(raw_trades),
            "accepted": accepted,
            "duplicates": duplicates,
            "ignored": len(ignored),
            "rejected": len(rejected),
        },
    )
    return TradeBatchResult(
        received=len(raw_trades), accepted=accepted, duplicates=duplicates, ignored=ignored, rejected=rejected
    )
