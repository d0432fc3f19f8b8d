"""One event's metrics document (`EventMetrics`): what the post-event snapshot freezes and what `performance`
computes for a running event. Reads the rollups, the participants, their day activity, the price table and the
ranking; the metrics themselves are arena/domain/analytics.py.

Read cost: O(1) rollup reads, O(participants) participant items and O(participants * 38) user-day items (lift
and new traders look 30 days back). That is why a completed event's document is computed once, at completion,
and served from its snapshot afterwards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from arena.domain import analytics as metrics
from arena.domain import distribution as plans
from arena.domain.analytics import ParticipantActivity
from arena.domain.events import EventStatus
from arena.domain.rollups import EventTotals, Tally, UserDay
from arena.models.analytics import (
    DecileOut,
    DuringRetentionOut,
    EffectivenessOut,
    EventMetrics,
    LiftOut,
    PrizeCostOut,
    RetentionOut,
    RoiOut,
    SeriesPointOut,
    ShareOut,
    TallyOut,
    Winner,
)
from arena.models.events import Event
from arena.store import analytics as rollup_store
from arena.store import participants as participant_store
from arena.store.participants import ParticipantRecord

TOP_PAIRS = 10
WINNERS = 10


def activity_of(record: ParticipantRecord) -> ParticipantActivity:
    t = record.totals
    return ParticipantActivity(
        user_id=record.user_id,
        joined_at=record.joined_at,
        volume=t.volume,
        fees=t.fees,
        trades=t.trade_count,
        first_trade_at=t.first_trade_at,
        last_trade_at=t.last_trade_at,
    )


def tally_out(tally: Tally) -> TallyOut:
    return TallyOut(
        volume=tally.volume,
        trades=tally.trades,
        fees=tally.fees,
        buy_volume=tally.buy_volume,
        sell_volume=tally.sell_volume,
    )


def point_out(point: metrics.SeriesPoint) -> SeriesPointOut:
    t = point.tally
    return SeriesPointOut(
        start=point.start,
        volume=t.volume,
        trades=t.trades,
        fees=t.fees,
        buy_volume=t.buy_volume,
        sell_volume=t.sell_volume,
        traders=point.traders,
        market_traders=point.market_traders,
        joins=point.joins,
    )


def share_out(share: metrics.Share) -> ShareOut:
    return ShareOut(
        key=share.key, volume=share.tally.volume, trades=share.tally.trades, fees=share.tally.fees, share=share.share
    )


def retention_out(r: metrics.Retention) -> RetentionOut:
    return RetentionOut(
        days=r.days,
        participants=r.participants,
        participants_retained=r.participants_retained,
        participants_rate=r.participants_rate,
        non_participants=r.non_participants,
        non_participants_retained=r.non_participants_retained,
        non_participants_rate=r.non_participants_rate,
        complete=r.complete,
    )


def prize_amounts(event: Event, results: Sequence[Mapping[str, Any]]) -> dict[str, Decimal]:
    """What the event's prize table pays for this ranking, per currency (the distribution's own plan)."""
    dry = plans.dry_run(event.id, EventStatus.COMPLETED, event.prize_settings.table(event.prizes), results)
    amounts: dict[str, Decimal] = {}
    for award in dry.awards:
        amounts[award.currency_name] = amounts.get(award.currency_name, Decimal(0)) + award.amount
    return amounts


def window_activity(user_ids: Sequence[str], event: Event) -> dict[str, list[UserDay]]:
    """The users' days from 30 days before the start day to the end day (lift and new traders)."""
    first = event.start_at.date() - timedelta(days=metrics.NEW_TRADER_LOOKBACK_DAYS)
    return rollup_store.user_days(list(user_ids), first, event.end_at.date()) if user_ids else {}


def build(
    event: Event,
    results: Sequence[Mapping[str, Any]],
    prices: Mapping[str, Decimal],
    now: datetime,
    *,
    projected: bool,
) -> EventMetrics:
    """Every metric of the event as of now (`projected`: the prizes are what the ranking would win now)."""
    totals = rollup_store.event_totals(event.id) or EventTotals(event.id, Tally(), {}, {}, 0, 0, 0)
    people = [activity_of(r) for r in participant_store.of_event(event.id)]
    activity = window_activity([p.user_id for p in people], event)
    lifted = metrics.lift([p.user_id for p in people], activity, event.start_at, event.end_at)
    during = metrics.retention_during(people, event.start_at, event.end_at)
    new = metrics.new_traders(people, activity, event.start_at)
    cost = metrics.prize_cost(prize_amounts(event, results), prices)
    effect = metrics.prize_effectiveness(cost, lifted.incremental_volume, during.retained, new)
    returned = metrics.roi(totals.tally, lifted.incremental_volume, cost)
    return EventMetrics(
        event_id=event.id,
        name=event.name,
        status=event.status,
        start_at=event.start_at,
        end_at=event.end_at,
        markets=list(event.markets),
        totals=tally_out(totals.tally),
        participants=len(people),
        traders=totals.traders,
        market_traders=totals.market_traders,
        joins=totals.joins,
        participation_rate=metrics.participation_rate(totals),
        retention_during=DuringRetentionOut(
            active_first_quarter=during.active_first_quarter, retained=during.retained, rate=during.rate
        ),
        lift=LiftOut(
            event_days=lifted.event_days,
            during_daily_volume=lifted.during_daily_volume,
            before_daily_volume=lifted.before_daily_volume,
            lift=lifted.lift,
            incremental_volume=lifted.incremental_volume,
        ),
        new_traders=new,
        prize_cost=PrizeCostOut(
            amounts=dict(cost.amounts),
            values=dict(cost.values),
            cost=cost.cost,
            unpriced=list(cost.unpriced),
            complete=cost.complete,
            projected=projected,
        ),
        effectiveness=EffectivenessOut(
            per_incremental_volume=effect.per_incremental_volume,
            per_retained_trader=effect.per_retained_trader,
            per_new_trader=effect.per_new_trader,
        ),
        roi=RoiOut(fee_rate=returned.fee_rate, incremental_fees=returned.incremental_fees, roi=returned.roi),
        top_pairs=[share_out(s) for s in metrics.top_pairs(totals.by_market, TOP_PAIRS)],
        hour_of_day=[share_out(s) for s in metrics.hour_of_day(totals.by_hour_of_day)],
        volume_deciles=[
            DecileOut(
                decile=d.decile,
                traders=d.traders,
                min_volume=d.min_volume,
                max_volume=d.max_volume,
                volume=d.volume,
                share=d.share,
            )
            for d in metrics.volume_deciles(people)
        ],
        winners=[
            Winner(rank=int(r["rank"]), user_id=str(r["user_id"]), score=Decimal(str(r["score"])))
            for r in sorted(results, key=lambda r: int(r["rank"]))[:WINNERS]
        ],
        rollups_consistent=totals.tally.trades == sum(p.trades for p in people),
        computed_at=now,
    )


def retention_after(event: Event, today: date) -> list[RetentionOut]:
    """Retention 1, 7 and 30 days after the end, participants who traded vs the markets' other traders; empty
    until the event has ended. Computed on read: the figures move for 30 days after the end."""
    if event.status not in (EventStatus.FINALIZING, EventStatus.COMPLETED):
        return []
    cohort = [r.user_id for r in participant_store.of_event(event.id) if r.totals.trade_count > 0]
    market_traders = rollup_store.market_traders(event.id)
    users = sorted(set(cohort) | set(market_traders or ()))
    end_day = event.end_at.date()
    activity = (
        rollup_store.user_days(
            users, end_day + timedelta(days=1), end_day + timedelta(days=max(metrics.RETENTION_DAYS))
        )
        if users
        else {}
    )
    return [
        retention_out(metrics.retention_after(cohort, market_traders, activity, event.end_at, days, today))
        for days in metrics.RETENTION_DAYS
    ]


def summary_of(document: EventMetrics) -> metrics.Summary:
    """A metrics document's headline figures."""
    return metrics.Summary(
        event_id=document.event_id,
        volume=document.totals.volume,
        trades=document.totals.trades,
        fees=document.totals.fees,
        participants=document.participants,
        traders=document.traders,
        market_traders=document.market_traders,
        participation_rate=document.participation_rate,
        retention_during=document.retention_during.rate,
        lift=document.lift.lift,
        prize_cost=document.prize_cost.cost if document.prize_cost.complete else None,
        roi=document.roi.roi,
    )


def live_summary(event: Event) -> metrics.Summary:
    """A running event's headline figures from its rollup totals alone (O(1) reads)."""
    return metrics.summary(event.id, rollup_store.event_totals(event.id), event.participant_count, None)
