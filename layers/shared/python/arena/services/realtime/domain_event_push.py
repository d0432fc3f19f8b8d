"""The domain-event push: an EventBridge domain event to the event's topic, the user's channel and the admin
topic; after a distribution, each connected winner's prizes."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from arena import clock
from arena.domain import realtime as rt
from arena.domain.claims import PrizeRef
from arena.domain.distribution import PrizeRecord
from arena.domain.statuses import DomainEvent, PrizeStatus
from arena.services.realtime.sending import Report, publish
from arena.store import connections as store
from arena.store import distribution as distribution_store

STATUS_EVENTS = {
    DomainEvent.EVENT_STARTED,
    DomainEvent.EVENT_ENDED,
    DomainEvent.RESULTS_FROZEN,
    DomainEvent.EVENT_CANCELLED,
    DomainEvent.EVENT_EXTENDED,
}
PRIZE_EVENTS = {DomainEvent.PRIZES_DISTRIBUTED, DomainEvent.PRIZES_ROLLED_BACK}


def push_domain_event(envelope: Mapping[str, Any]) -> Report:
    """An EventBridge domain event -> the event's topic, the user's channel (their payouts) and the admin topic.
    EventBridge delivers at least once; the event's id is claimed first, so a repeat posts nothing."""
    name, detail = str(envelope.get("detail-type", "")), dict(envelope.get("detail") or {})
    delivery = str(envelope.get("id") or "")
    if not delivery or not store.claim_delivery(delivery, time.time()):
        return Report()
    event_id = detail.get("event_id")
    report = Report()
    data = {"name": name, **detail}
    if event_id and name in STATUS_EVENTS:
        report.add(publish(rt.event_topic(str(event_id)), "event_status", data))
    if event_id and name in PRIZE_EVENTS:
        report.add(publish(rt.event_topic(str(event_id)), "prizes", _public_view(data)))
    if name == DomainEvent.PAYOUT_REQUESTED and detail.get("user_id"):
        report.add(publish(rt.user_topic(str(detail["user_id"])), "prize", data))
    if name == DomainEvent.PRIZES_DISTRIBUTED and event_id:
        report.add(_tell_winners(str(event_id)))
    report.add(publish(rt.ADMIN_TOPIC, "domain_event", _admin_view(name, data)))
    return report


def _public_view(data: dict[str, Any]) -> dict[str, Any]:
    """What every subscriber of `event:<event>` is shown of a prize event: a rollback's refused prizes name their
    winners by user id, so the public topic gets only how many were refused (admins see them on `admin`)."""
    if isinstance(data.get("refused"), list):
        return {**data, "refused": len(data["refused"])}
    return data


def _admin_view(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """What admins are shown of a domain event: all of it, except a RanksChanged's moves (up to about 200 KB, more
    than one WebSocket frame), shown as their number."""
    if name == DomainEvent.RANKS_CHANGED and isinstance(data.get("moves"), list):
        return {**data, "moves": len(data["moves"])}
    return data


def _tell_winners(event_id: str) -> Report:
    """Each connected user with a private channel open learns what the distribution gave them (and, for a prize
    to claim, its id and deadline). Bounded by connected users, not by winners: one read per listening user."""
    report = Report()
    for user_id in store.channel_users():
        prizes = [_prize_message(p) for p in distribution_store.user_prizes(event_id, user_id)]
        if prizes:
            data = {"name": "PrizesAwarded", "event_id": event_id, "prizes": prizes}
            report.add(publish(rt.user_topic(user_id), "prize", data))
    return report


def _prize_message(prize: PrizeRecord) -> dict[str, Any]:
    shown = {
        "type": prize.type,
        "token": prize.token,
        "description": prize.description,
        "amount": prize.amount,
        "status": prize.status,
        "prize_rank": prize.prize_rank,
        "claim_deadline": clock.to_iso(prize.claim_deadline) if prize.claim_deadline else None,
    }
    message = {name: value for name, value in shown.items() if value is not None}
    if prize.status == PrizeStatus.CLAIMABLE:
        message["prize_id"] = PrizeRef(prize.event_id, prize.user_id, prize.rule_index).prize_id
    return message
