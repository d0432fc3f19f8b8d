"""The participants table: one item per (event, user) with running totals, and the sparse `leaderboard` GSI."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from arena import clock
from arena.config import settings
from arena.domain import exact
from arena.domain.events import LIVE_STATUSES
from arena.domain.ranking import Totals
from arena.store import dynamo


@dataclass(frozen=True)
class ParticipantRecord:
    event_id: str
    user_id: str
    joined_at: datetime
    totals: Totals
    score: Decimal
    board_key: str | None
    version: int
    qualified: bool = False
    disqualified: bool = False
    disqualified_reason: str | None = None
    # From the exchange's account feed (ROI events): starting equity, as of `equity_at`, and net deposits since.
    equity_base: Decimal | None = None
    equity_at: datetime | None = None
    net_deposits: Decimal = Decimal(0)
    # Fraud signals for prize claims (domain/claims.py), folded at ingest: the heaviest counterparties by volume
    # {counterparty: (volume counted, overestimate)}, and the volume and trades of the last minutes before the end.
    counterparties: dict[str, tuple[Decimal, Decimal]] | None = None
    late_volume: Decimal = Decimal(0)
    late_trades: int = 0


class JoinOutcome(Enum):
    JOINED = "joined"
    ALREADY_JOINED = "already_joined"
    REFUSED = "refused"  # the event changed under us (closed or full): re-read it to say why


# Participant items of one event spread over this many partition keys (see template.yaml).
SHARDS = 16


def _table() -> str:
    return settings().participants_table


def shard_of(event_id: str, user_id: str) -> str:
    # crc32, not hash(): the shard must be the same in every process, forever.
    return f"{event_id}#{zlib.crc32(user_id.encode()) % SHARDS:02d}"


def key(event_id: str, user_id: str) -> dict[str, str]:
    return {"shard": shard_of(event_id, user_id), "user_id": user_id}


def _events_table() -> str:
    return settings().events_table


def _optional_time(value: Any) -> datetime | None:
    return clock.from_iso(value) if value else None


def to_record(item: dict[str, Any]) -> ParticipantRecord:
    v = dynamo.from_item(item)
    return ParticipantRecord(
        event_id=v["event_id"],
        user_id=v["user_id"],
        joined_at=clock.from_iso(v["joined_at"]),
        totals=Totals(
            volume=v.get("volume", Decimal(0)),
            pnl=v.get("pnl", Decimal(0)),
            fees=v.get("fees", Decimal(0)),
            trade_count=int(v.get("trade_count", 0)),
            first_trade_at=_optional_time(v.get("first_trade_at")),
            last_trade_at=_optional_time(v.get("last_trade_at")),
            equity=equity_of(v.get("equity_base"), v.get("net_deposits", Decimal(0))),
        ),
        score=v.get("score", Decimal(0)),
        board_key=v.get("board_key"),
        version=int(v.get("version", 0)),
        qualified=bool(v.get("qualified", False)),
        disqualified=bool(v.get("disqualified", False)),
        disqualified_reason=v.get("disqualified_reason"),
        equity_base=v.get("equity_base"),
        equity_at=_optional_time(v.get("equity_at")),
        net_deposits=v.get("net_deposits", Decimal(0)),
        counterparties={c: (pair[0], pair[1]) for c, pair in v["counterparty_volume"].items()}
        if v.get("counterparty_volume")
        else None,
        late_volume=v.get("late_volume", Decimal(0)),
        late_trades=int(v.get("late_trades", 0)),
    )


def record_values(record: ParticipantRecord) -> dict[str, Any]:
    t = record.totals
    return {
        "shard": shard_of(record.event_id, record.user_id),
        "event_id": record.event_id,
        "user_id": record.user_id,
        "joined_at": clock.to_iso(record.joined_at),
        "volume": t.volume,
        "pnl": t.pnl,
        "fees": t.fees,
        "trade_count": t.trade_count,
        "first_trade_at": clock.to_iso(t.first_trade_at) if t.first_trade_at else None,
        "last_trade_at": clock.to_iso(t.last_trade_at) if t.last_trade_at else None,
        "score": record.score,
        "board_key": record.board_key,
        "version": record.version,
        "qualified": record.qualified,
        "disqualified": record.disqualified,
        "disqualified_reason": record.disqualified_reason,
        "equity_base": record.equity_base,
        "equity_at": clock.to_iso(record.equity_at) if record.equity_at else None,
        "net_deposits": record.net_deposits,
        "counterparty_volume": {c: list(pair) for c, pair in record.counterparties.items()}
        if record.counterparties
        else None,
        "late_volume": record.late_volume or None,
        "late_trades": record.late_trades or None,
    }


def equity_of(base: Decimal | None, net_deposits: Decimal) -> Decimal | None:
    """The ROI denominator: starting equity plus net deposits; unknown until the starting equity is."""
    return None if base is None else exact.total([net_deposits], base)


def get(event_id: str, user_id: str) -> ParticipantRecord | None:
    answer = dynamo.client().get_item(
        TableName=_table(), Key=dynamo.to_item(key(event_id, user_id)), ConsistentRead=True
    )
    return to_record(answer["Item"]) if "Item" in answer else None


def get_many(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], ParticipantRecord]:
    items = dynamo.batch_get(_table(), [key(e, u) for e, u in pairs])
    return {(i["event_id"], i["user_id"]): to_record(dynamo.to_item(i)) for i in items}


def of_event(event_id: str) -> list[ParticipantRecord]:
    """Every participant of the event, each of its shards queried to the end (eventually consistent reads: analytics
    and exports, not accounting; not for request paths of large events)."""
    found: list[ParticipantRecord] = []
    for shard in range(SHARDS):
        for page in dynamo.query_pages(
            TableName=_table(),
            KeyConditionExpression="#shard = :s",
            ExpressionAttributeNames={"#shard": "shard"},
            ExpressionAttributeValues={":s": {"S": f"{event_id}#{shard:02d}"}},
        ):
            found.extend(to_record(item) for item in page.get("Items", []))
    return found


def user_ids_page(event_id: str, shard: int, start_after: str | None, limit: int) -> tuple[list[str], str | None]:
    """Up to `limit` participant ids of one shard of the event, in id order after `start_after`, and the last id
    read when more may follow (None at the shard's end). Keys only: an audience walk, not a leaderboard."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "#shard = :s",
        "ExpressionAttributeNames": {"#shard": "shard"},
        "ExpressionAttributeValues": {":s": {"S": f"{event_id}#{shard:02d}"}},
        "ProjectionExpression": "user_id",
        "Limit": limit,
    }
    if start_after:
        kwargs["ExclusiveStartKey"] = {"shard": {"S": f"{event_id}#{shard:02d}"}, "user_id": {"S": start_after}}
    answer = dynamo.client().query(**kwargs)
    ids = [item["user_id"]["S"] for item in answer.get("Items", [])]
    return ids, (ids[-1] if ids and "LastEvaluatedKey" in answer else None)


def join(record: ParticipantRecord, max_participants: int | None) -> JoinOutcome:
    """Create the participant and count it on the event, atomically: never a participant over capacity,
    never a count without its participant."""
    capacity = ""
    values: dict[str, Any] = {":one": {"N": "1"}, ":zero": {"N": "0"}}
    for i, status in enumerate(LIVE_STATUSES):
        values[f":live{i}"] = {"S": status.value}
    if max_participants is not None:
        capacity = " AND (attribute_not_exists(participant_count) OR participant_count < :max)"
        values[":max"] = {"N": str(max_participants)}
    outcome = dynamo.transact_write(
        [
            {
                "Put": {
                    "TableName": _table(),
                    "Item": dynamo.to_item(record_values(record)),
                    "ConditionExpression": "attribute_not_exists(user_id)",
                }
            },
            {
                "Update": {
                    "TableName": _events_table(),
                    "Key": {"event_id": {"S": record.event_id}},
                    "UpdateExpression": "SET participant_count = if_not_exists(participant_count, :zero) + :one",
                    "ConditionExpression": f"#status IN ({', '.join(k for k in values if k.startswith(':live'))})"
                    + capacity,
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": values,
                }
            },
        ]
    )
    if outcome is None:
        return JoinOutcome.JOINED
    if 0 in outcome.failed_conditions():
        return JoinOutcome.ALREADY_JOINED
    return JoinOutcome.REFUSED


def participant_update(before: ParticipantRecord | None, after: ParticipantRecord) -> dict[str, Any]:
    """The transaction action that writes `after`: created if `before` is None, else only if the stored version
    is still `before`'s. An Update, not a Put, so attributes other writers own survive."""
    fields = record_values(after)
    item_key = dynamo.to_item({"shard": fields.pop("shard"), "user_id": fields.pop("user_id")})
    clause = dynamo.SetClause.of(fields)
    if before is None:
        condition, condition_values = "attribute_not_exists(user_id)", {}
    else:
        condition, condition_values = "#version = :expected", {":expected": {"N": str(before.version)}}
        clause.names["#version"] = "version"
    return {
        "Update": {
            "TableName": _table(),
            "Key": item_key,
            "UpdateExpression": clause.expression(),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": clause.names,
            "ExpressionAttributeValues": {**clause.values, **condition_values},
        }
    }
