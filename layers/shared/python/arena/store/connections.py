"""The Connections table: WebSocket connections, their subscriptions and the fan-out's own state.

Items (pk, sk):
* ("C#<connection>", "C") - the connection: user id, roles, its topics (a string set), expires_at.
* ("T#<topic>", "<connection>") - one subscription; a query on the topic's partition finds its subscribers.
* ("USERS", "<user>#<connection>") - a subscription to a private `user:` channel: the fan-out reads this
  partition once per leaderboard push to learn which connected users to check for rank changes.
* ("S#<topic>", "S") - the topic's state: `seq` (the per-topic message counter, an atomic ADD), for a leaderboard
  the last pushed generation and rows, for an event topic its running volume, for a user channel the standing
  last told per event (attribute "rank#<event>").
* ("P#<event>", "<user>") - the last participant version the activity fan-out applied (its idempotency gate).
* ("M#<event>", "<milestone>") - an event milestone already announced (put once, conditionally); with
  "notice#<milestone>#<user>", a personal milestone already published on the bus (MilestoneReached).
* ("W#<event>", "W") - the watched top of the board at the last generation diffed for rank moves (RanksChanged):
  its generation and places (domain/rank_watch.Window).
* ("D#<delivery id>", "D") - a domain event already pushed (EventBridge delivers at least once).

Every connection item and subscription expires (TTL) with API Gateway's two-hour connection limit, so stale
rows vanish even when `$disconnect` never arrives (it is best effort) and no 410 ever cleans them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from arena.config import settings
from arena.domain.rank_watch import Window
from arena.domain.realtime import CONNECTION_LIFETIME_SECONDS, Row, Standing
from arena.store import dynamo

USERS = "USERS"
# Fan-out state (gates, milestones) outlives any connection but not the event by much.
STATE_RETENTION_SECONDS = 30 * 24 * 3600


def _table() -> str:
    return settings().connections_table


def _connection_key(connection_id: str) -> dict[str, str]:
    return {"pk": f"C#{connection_id}", "sk": "C"}


def _state_key(topic: str) -> dict[str, str]:
    return {"pk": f"S#{topic}", "sk": "S"}


def expiry(now_epoch: float) -> int:
    return int(now_epoch) + CONNECTION_LIFETIME_SECONDS + 60


# ------------------------------------------------------------------------------------------------ connections


def put_connection(connection_id: str, user_id: str, roles: list[str], now_epoch: float) -> None:
    item = {
        **_connection_key(connection_id),
        "user_id": user_id,
        "is_admin": "admin" in roles,
        "roles": sorted(roles),
        "connected_at": Decimal(int(now_epoch)),
        "expires_at": expiry(now_epoch),
    }
    dynamo.client().put_item(TableName=_table(), Item=dynamo.to_item(item))


@dataclass(frozen=True)
class Connection:
    """A WebSocket connection as stored: who opened it, with which roles, and the topics it subscribed to."""

    user_id: str
    is_admin: bool
    roles: tuple[str, ...]
    topics: frozenset[str]


def get_connection(connection_id: str) -> Connection | None:
    answer = dynamo.client().get_item(
        TableName=_table(), Key=dynamo.to_item(_connection_key(connection_id)), ConsistentRead=True
    )
    if "Item" not in answer:
        return None
    values = dynamo.from_item(answer["Item"])
    return Connection(
        user_id=values["user_id"],
        is_admin=bool(values.get("is_admin")),
        roles=tuple(values.get("roles") or ()),
        topics=frozenset(values.get("topics") or ()),
    )


def _subscription_keys(connection_id: str, user_id: str, topic: str) -> list[dict[str, str]]:
    keys = [{"pk": f"T#{topic}", "sk": connection_id}]
    if topic.startswith("user:"):
        keys.append({"pk": USERS, "sk": f"{user_id}#{connection_id}"})
    return keys


def delete_connection(connection_id: str) -> int:
    """Remove a connection and every subscription it held; returns how many items went. Idempotent."""
    connection = get_connection(connection_id)
    if connection is None:
        return 0
    keys = [_connection_key(connection_id)]
    for topic in connection.topics:
        keys += _subscription_keys(connection_id, connection.user_id, topic)
    dynamo.batch_write(_table(), [], keys)
    return len(keys)


def _topic_set_update(connection_id: str, action: str, topic: str) -> dict[str, Any]:
    """The transaction item that adds a topic to (ADD) or takes it from (DELETE) the connection's topic set."""
    return {
        "Update": {
            "TableName": _table(),
            "Key": dynamo.to_item(_connection_key(connection_id)),
            "UpdateExpression": f"{action} topics :t",
            "ExpressionAttributeValues": {":t": {"SS": [topic]}},
        }
    }


def add_subscription(connection_id: str, user_id: str, topic: str, now_epoch: float) -> bool:
    """Subscribe, in one transaction with the connection's topic set; False when the connection is gone."""
    expires = expiry(now_epoch)
    puts = [
        {"Put": {"TableName": _table(), "Item": dynamo.to_item({**key, "user_id": user_id, "expires_at": expires})}}
        for key in _subscription_keys(connection_id, user_id, topic)
    ]
    update = _topic_set_update(connection_id, "ADD", topic)
    update["Update"]["ConditionExpression"] = "attribute_exists(pk)"
    return dynamo.transact_write([update, *puts]) is None


def remove_subscription(connection_id: str, user_id: str, topic: str) -> None:
    """Unsubscribe; a topic never subscribed is no error (idempotent)."""
    deletes = [
        {"Delete": {"TableName": _table(), "Key": dynamo.to_item(key)}}
        for key in _subscription_keys(connection_id, user_id, topic)
    ]
    dynamo.transact_write([_topic_set_update(connection_id, "DELETE", topic), *deletes])


def subscribers(topic: str) -> list[str]:
    """Every connection subscribed to a topic (all pages)."""
    found: list[str] = []
    for page in dynamo.query_pages(
        TableName=_table(),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"T#{topic}"}},
        ProjectionExpression="sk",
    ):
        found += [item["sk"]["S"] for item in page.get("Items", [])]
    return found


def channel_users() -> dict[str, list[str]]:
    """Connected users with a private channel open: user id -> their subscribed connections."""
    users: dict[str, list[str]] = {}
    for page in dynamo.query_pages(
        TableName=_table(),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": USERS}},
        ProjectionExpression="sk",
    ):
        for item in page.get("Items", []):
            user_id, _, connection_id = item["sk"]["S"].rpartition("#")
            users.setdefault(user_id, []).append(connection_id)
    return users


# ------------------------------------------------------------------------------------------------ topic state


def next_seq(topic: str) -> int:
    """The topic's next sequence number (atomic counter: concurrent writers never share one)."""
    answer = dynamo.client().update_item(
        TableName=_table(),
        Key=dynamo.to_item(_state_key(topic)),
        UpdateExpression="ADD seq :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    return int(answer["Attributes"]["seq"]["N"])


def current_seq(topic: str) -> int:
    """The last seq a topic's messages used (0: none yet)."""
    answer = dynamo.client().get_item(
        TableName=_table(), Key=dynamo.to_item(_state_key(topic)), ProjectionExpression="seq", ConsistentRead=True
    )
    return int(answer.get("Item", {}).get("seq", {}).get("N", 0))


@dataclass(frozen=True)
class BoardState:
    """A leaderboard topic's last push: snapshot generation (-1: none yet), the rows, when, and the board's size."""

    generation: int
    rows: list[Row]
    pushed_at: float | None
    total: int


def board_state(topic: str) -> BoardState:
    answer = dynamo.client().get_item(TableName=_table(), Key=dynamo.to_item(_state_key(topic)), ConsistentRead=True)
    item = dynamo.from_item(answer["Item"]) if "Item" in answer else {}
    rows = [Row.from_state(r) for r in json.loads(item.get("rows", "[]"))]
    pushed_at = item.get("pushed_at")
    return BoardState(
        int(item.get("generation", -1)),
        rows,
        float(pushed_at) if pushed_at is not None else None,
        int(item.get("total", 0)),
    )


def claim_board_push(
    topic: str, generation: int, rows: list[Row], total: int, now_epoch: float, take_seq: bool
) -> int | None:
    """Record `generation` as pushed, only if it is newer than the last one pushed; returns the message's seq
    (0 when `take_seq` is False), None when another invocation already pushed this generation or a newer one."""
    expression = "SET generation = :g, #rows = :rows, pushed_at = :at, #total = :total"
    values = {
        ":g": {"N": str(generation)},
        ":rows": {"S": json.dumps([r.to_state() for r in rows], separators=(",", ":"))},
        ":at": {"N": f"{now_epoch:.3f}"},
        ":total": {"N": str(total)},
    }
    if take_seq:
        expression += " ADD seq :one"
        values[":one"] = {"N": "1"}
    try:
        answer = dynamo.client().update_item(
            TableName=_table(),
            Key=dynamo.to_item(_state_key(topic)),
            UpdateExpression=expression,
            ConditionExpression="attribute_not_exists(generation) OR generation < :g",
            ExpressionAttributeNames={"#rows": "rows", "#total": "total"},
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_NEW",
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return None
        raise
    return int(answer["Attributes"]["seq"]["N"]) if take_seq else 0


def told_standings(event_id: str, user_ids: Iterable[str]) -> dict[str, tuple[Standing, int]]:
    """The standing last told to each user for this event, with the generation it came from."""
    keys = [_state_key(f"user:{u}") for u in user_ids]
    found: dict[str, tuple[Standing, int]] = {}
    for item in dynamo.batch_get(_table(), keys):
        told = item.get(f"rank#{event_id}")
        if told:
            rank, prize = told.get("rank"), told.get("prize_rank")
            found[item["pk"][len("S#user:") :]] = (
                Standing(None if rank is None else int(rank), None if prize is None else int(prize)),
                int(told["generation"]),
            )
    return found


def claim_rank_message(user_id: str, event_id: str, standing: Standing, generation: int) -> int | None:
    """Record the standing as told and take the user channel's next seq in one write, only if `generation` is
    newer than the one last told; None otherwise (a redelivery, or a newer push got there first)."""
    told = {"rank": standing.rank, "prize_rank": standing.prize_rank, "generation": generation}
    try:
        answer = dynamo.client().update_item(
            TableName=_table(),
            Key=dynamo.to_item(_state_key(f"user:{user_id}")),
            UpdateExpression="SET #told = :told ADD seq :one",
            ConditionExpression="attribute_not_exists(#told) OR #told.generation < :g",
            ExpressionAttributeNames={"#told": f"rank#{event_id}"},
            ExpressionAttributeValues={
                ":told": {"M": {k: dynamo.to_value(v) for k, v in told.items()}},
                ":g": {"N": str(generation)},
                ":one": {"N": "1"},
            },
            ReturnValues="UPDATED_NEW",
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return None
        raise
    return int(answer["Attributes"]["seq"]["N"])


# ------------------------------------------------------------------------------------------------ gates


def _put_once(item: dict[str, Any]) -> bool:
    try:
        dynamo.client().put_item(
            TableName=_table(), Item=dynamo.to_item(item), ConditionExpression="attribute_not_exists(pk)"
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return False
        raise
    return True


def advance_progress(event_id: str, user_id: str, version: int, now_epoch: float) -> int | None:
    """Record `version` as the participant's last applied one if it is newer; returns the version applied
    before it (0: none), or None when `version` or a newer one was applied already (a redelivery)."""
    try:
        answer = dynamo.client().update_item(
            TableName=_table(),
            Key=dynamo.to_item({"pk": f"P#{event_id}", "sk": user_id}),
            UpdateExpression="SET version = :v, expires_at = :exp",
            ConditionExpression="attribute_not_exists(version) OR version < :v",
            ExpressionAttributeValues={
                ":v": {"N": str(version)},
                ":exp": {"N": str(int(now_epoch) + STATE_RETENTION_SECONDS)},
            },
            ReturnValues="ALL_OLD",
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return None
        raise
    return int(answer.get("Attributes", {}).get("version", {}).get("N", 0))


def add_volume(event_id: str, delta: Decimal) -> Decimal:
    """Add to the event's running volume; returns the new total."""
    answer = dynamo.client().update_item(
        TableName=_table(),
        Key=dynamo.to_item(_state_key(f"event:{event_id}")),
        UpdateExpression="ADD volume :d",
        ExpressionAttributeValues={":d": dynamo.to_value(delta)},
        ReturnValues="UPDATED_NEW",
    )
    return Decimal(answer["Attributes"]["volume"]["N"])


def claim_milestone(event_id: str, name: str, now_epoch: float) -> bool:
    """True once per (event, milestone): the caller announces it, every later caller does not."""
    return _put_once({"pk": f"M#{event_id}", "sk": name, "expires_at": int(now_epoch) + STATE_RETENTION_SECONDS})


def claim_personal_milestone(event_id: str, user_id: str, milestone: str, now_epoch: float) -> bool:
    """True once per (event, user, milestone): the caller publishes MilestoneReached, every later caller does not."""
    return claim_milestone(event_id, f"notice#{milestone}#{user_id}", now_epoch)


def _window_key(event_id: str) -> dict[str, str]:
    return {"pk": f"W#{event_id}", "sk": "W"}


def rank_window(event_id: str) -> Window | None:
    """The watched top as last diffed for rank moves; None before the first diff."""
    answer = dynamo.client().get_item(
        TableName=_table(), Key=dynamo.to_item(_window_key(event_id)), ConsistentRead=True
    )
    if "Item" not in answer:
        return None
    return Window.from_wire(json.loads(dynamo.from_item(answer["Item"])["window"]))


def claim_rank_window(event_id: str, window: Window, previous: int | None, now_epoch: float) -> bool:
    """Record `window` as the last one diffed, only if the stored one is still the generation `previous` (None: no
    window yet) that the moves were computed from; False when another invocation moved it first."""
    item = {
        **_window_key(event_id),
        "generation": window.generation,
        "window": json.dumps(window.to_wire(), separators=(",", ":")),
        "expires_at": int(now_epoch) + STATE_RETENTION_SECONDS,
    }
    if previous is None:
        condition, values = "attribute_not_exists(pk)", {}
    else:
        condition, values = "generation = :previous", {":previous": {"N": str(previous)}}
    try:
        dynamo.client().put_item(
            TableName=_table(),
            Item=dynamo.to_item(item),
            ConditionExpression=condition,
            **({"ExpressionAttributeValues": values} if values else {}),
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return False
        raise
    return True


def claim_delivery(delivery_id: str, now_epoch: float) -> bool:
    """True the first time an EventBridge delivery (its event id) is seen."""
    return _put_once({"pk": f"D#{delivery_id}", "sk": "D", "expires_at": int(now_epoch) + 7 * 24 * 3600})
