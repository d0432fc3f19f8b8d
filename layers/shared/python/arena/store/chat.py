"""The chat table: event chat messages and everything that moderates them.

Items (pk, sk), one partition per event ("E#<event>"):
* ("E#<e>", "M#<message id>") - a message (ULID ids: the sort key orders the history by time); its reaction
  counts (map emoji -> n) and pinned flag live on it. Expires (TTL `expires_at`) after the retention period.
* ("E#<e>", "X#<message id>#<user>#<emoji>") - one user's reaction (put once, conditionally: idempotent); expires
  with its message.
* ("E#<e>", "PIN#<message id>") - a pinned message (at most a few per event).
* ("E#<e>", "SETTINGS") - enabled, who reads, who writes; absent: the defaults.
* ("E#<e>", "FILTER") - the word filter (a list of normalised entries).
* ("E#<e>", "MUTE#<user>") - muted until `until` (expires a day after it).
* ("E#<e>", "BAN#<user>") - banned, with the reason.
* ("E#<e>", "R#<report id>") - a report of a message, open or resolved; ("E#<e>", "RG#<message>#<reporter>") is
  its guard, so one user reports one message once.

A post reads settings, filter, mute and ban of the poster in one BatchGetItem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from arena import clock
from arena.config import settings
from arena.domain.chat import Ban, Mute, ReadAccess, ReportOutcome, ReportStatus, Settings, WriteAccess
from arena.errors import BadRequest
from arena.store import dynamo

MESSAGE_PREFIX = "M#"
KEY_ATTRIBUTES = frozenset({"pk", "sk"})


def _table() -> str:
    return settings().chat_table


def _pk(event_id: str) -> str:
    return f"E#{event_id}"


def _key(event_id: str, sk: str) -> dict[str, Any]:
    return dynamo.to_item({"pk": _pk(event_id), "sk": sk})


def expiry(posted_at: datetime) -> int:
    return int((posted_at + timedelta(days=settings().chat_retention_days)).timestamp())


# ------------------------------------------------------------------------------------------------ messages


@dataclass(frozen=True)
class MessageRecord:
    event_id: str
    id: str
    user_id: str
    text: str
    created_at: datetime
    reply_to: str | None = None
    reply_to_user: str | None = None
    reactions: dict[str, int] = field(default_factory=dict)
    pinned: bool = False
    expires_at: int = 0


def _message(values: Mapping[str, Any]) -> MessageRecord:
    return MessageRecord(
        event_id=values["event_id"],
        id=values["id"],
        user_id=values["user_id"],
        text=values["text"],
        created_at=clock.from_iso(values["created_at"]),
        reply_to=values.get("reply_to"),
        reply_to_user=values.get("reply_to_user"),
        reactions={k: int(v) for k, v in (values.get("reactions") or {}).items() if int(v) > 0},
        pinned=bool(values.get("pinned")),
        expires_at=int(values.get("expires_at") or 0),
    )


def put_message(record: MessageRecord) -> None:
    item: dict[str, Any] = {
        "pk": _pk(record.event_id),
        "sk": MESSAGE_PREFIX + record.id,
        "event_id": record.event_id,
        "id": record.id,
        "user_id": record.user_id,
        "text": record.text,
        "created_at": clock.to_iso(record.created_at),
        "reactions": {},
        "expires_at": record.expires_at,
    }
    if record.reply_to:
        item["reply_to"] = record.reply_to
        item["reply_to_user"] = record.reply_to_user
    dynamo.client().put_item(
        TableName=_table(), Item=dynamo.to_item(item), ConditionExpression="attribute_not_exists(pk)"
    )


def get_message(event_id: str, message_id: str) -> MessageRecord | None:
    answer = dynamo.client().get_item(
        TableName=_table(), Key=_key(event_id, MESSAGE_PREFIX + message_id), ConsistentRead=True
    )
    if "Item" not in answer:
        return None
    record = _message(dynamo.from_item(answer["Item"]))
    # Past its TTL but not yet swept: gone for everyone.
    return None if record.expires_at and record.expires_at <= clock.now().timestamp() else record


def get_messages(event_id: str, message_ids: list[str]) -> list[MessageRecord]:
    keys = [{"pk": _pk(event_id), "sk": MESSAGE_PREFIX + m} for m in message_ids]
    found = [_message(values) for values in dynamo.batch_get(_table(), keys)] if keys else []
    by_id = {m.id: m for m in found}
    return [by_id[m] for m in message_ids if m in by_id]


def delete_message(event_id: str, message_id: str) -> MessageRecord | None:
    """Delete a message and its pin; the record as it was (None: it was not there). Its reactions expire with
    their TTL (no reader reaches them without the message)."""
    try:
        answer = dynamo.client().delete_item(
            TableName=_table(),
            Key=_key(event_id, MESSAGE_PREFIX + message_id),
            ConditionExpression="attribute_exists(pk)",
            ReturnValues="ALL_OLD",
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return None
        raise
    dynamo.client().delete_item(TableName=_table(), Key=_key(event_id, f"PIN#{message_id}"))
    return _message(dynamo.from_item(answer["Attributes"]))


@dataclass(frozen=True)
class MessagePage:
    items: list[MessageRecord]
    next_cursor: str | None


def history(event_id: str, limit: int, cursor: str | None) -> MessagePage:
    """Newest first. The cursor is the last key returned (bound to this event's partition): a page starts strictly
    after it, so pages never repeat or skip a message, whatever is posted meanwhile."""
    state = dynamo.decode_cursor(cursor)
    start = dynamo.start_key(state, KEY_ATTRIBUTES, {"pk": _pk(event_id)})
    if start is not None and not start["sk"]["S"].startswith(MESSAGE_PREFIX):
        raise BadRequest(dynamo.NOT_OURS, code="invalid_cursor")
    now = int(clock.now().timestamp())
    items: list[MessageRecord] = []
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :m)",
        "ExpressionAttributeValues": {":pk": {"S": _pk(event_id)}, ":m": {"S": MESSAGE_PREFIX}},
        "ScanIndexForward": False,
        "ConsistentRead": True,
    }
    if start is not None:
        kwargs["ExclusiveStartKey"] = start
    while True:
        kwargs["Limit"] = limit - len(items)
        page = dynamo.client().query(**kwargs)
        for raw in page.get("Items", []):
            record = _message(dynamo.from_item(raw))
            if not record.expires_at or record.expires_at > now:  # past its TTL, not yet swept
                items.append(record)
        last = page.get("LastEvaluatedKey")
        if not last:
            return MessagePage(items, None)
        if len(items) >= limit:
            return MessagePage(items, dynamo.encode_cursor({"k": {"pk": last["pk"], "sk": last["sk"]}}))
        kwargs["ExclusiveStartKey"] = last


# ------------------------------------------------------------------------------------------------ reactions


def set_reaction(event_id: str, message_id: str, user_id: str, emoji: str, on: bool, expires_at: int) -> bool:
    """Add (on) or remove one user's reaction, with the message's count, in one transaction. Idempotent: adding a
    reaction the user already made, or removing one they did not, changes nothing and answers False. Raises
    LookupError when the message is gone."""
    reaction_key = {"pk": _pk(event_id), "sk": f"X#{message_id}#{user_id}#{emoji}"}
    if on:
        mark: dict[str, Any] = {
            "Put": {
                "TableName": _table(),
                "Item": dynamo.to_item({**reaction_key, "expires_at": expires_at}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
    else:
        mark = {
            "Delete": {
                "TableName": _table(),
                "Key": dynamo.to_item(reaction_key),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
    count = {
        "Update": {
            "TableName": _table(),
            "Key": _key(event_id, MESSAGE_PREFIX + message_id),
            "UpdateExpression": "ADD reactions.#e :d",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": {"#e": emoji},
            "ExpressionAttributeValues": {":d": {"N": "1" if on else "-1"}},
        }
    }
    outcome = dynamo.transact_write([mark, count])
    if outcome is None:
        return True
    failed = outcome.failed_conditions()
    if 1 in failed:
        raise LookupError(message_id)
    if 0 in failed:
        return False
    raise RuntimeError(f"reaction transaction cancelled: {outcome.codes}")


# ------------------------------------------------------------------------------------------------ pins


def set_pinned(event_id: str, message_id: str, pinned: bool, at: datetime) -> bool:
    """Pin or unpin; False when the message is gone."""
    update = {
        "Update": {
            "TableName": _table(),
            "Key": _key(event_id, MESSAGE_PREFIX + message_id),
            "UpdateExpression": "SET pinned = :p",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":p": {"BOOL": pinned}},
        }
    }
    pin_key = {"pk": _pk(event_id), "sk": f"PIN#{message_id}"}
    pin: dict[str, Any] = (
        {
            "Put": {
                "TableName": _table(),
                "Item": dynamo.to_item({**pin_key, "message_id": message_id, "at": clock.to_iso(at)}),
            }
        }
        if pinned
        else {"Delete": {"TableName": _table(), "Key": dynamo.to_item(pin_key)}}
    )
    return dynamo.transact_write([update, pin]) is None


def pinned_ids(event_id: str) -> list[str]:
    """Pinned message ids, most recently pinned first."""
    pins: list[tuple[str, str]] = []
    for page in dynamo.query_pages(
        TableName=_table(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
        ExpressionAttributeValues={":pk": {"S": _pk(event_id)}, ":p": {"S": "PIN#"}},
        ConsistentRead=True,
    ):
        for raw in page.get("Items", []):
            values = dynamo.from_item(raw)
            pins.append((values.get("at", ""), values["message_id"]))
    return [m for _, m in sorted(pins, reverse=True)]


# ------------------------------------------------------------------------------------------------ moderation state


@dataclass(frozen=True)
class ChatState:
    """What a post or a read is decided on: the event's settings and filter, the user's mute and ban."""

    settings: Settings
    filter_words: list[str]
    mute: Mute | None
    ban: Ban | None


def _settings(values: Mapping[str, Any] | None) -> Settings:
    if not values:
        return Settings()
    return Settings(
        enabled=bool(values.get("enabled", True)),
        read=ReadAccess(values.get("read", ReadAccess.SIGNED_IN.value)),
        write=WriteAccess(values.get("write", WriteAccess.PARTICIPANTS.value)),
    )


def _mute(values: Mapping[str, Any] | None) -> Mute | None:
    if not values:
        return None
    return Mute(values["user_id"], clock.from_iso(values["until"]), values["reason"], values["by"])


def _ban(values: Mapping[str, Any] | None) -> Ban | None:
    if not values:
        return None
    return Ban(values["user_id"], values["reason"], values["by"], clock.from_iso(values["at"]))


def state(event_id: str, user_id: str | None) -> ChatState:
    """Settings, filter and (for a user) their mute and ban, in one BatchGetItem."""
    sks = ["SETTINGS", "FILTER"] + ([f"MUTE#{user_id}", f"BAN#{user_id}"] if user_id else [])
    found = {v["sk"]: v for v in dynamo.batch_get(_table(), [{"pk": _pk(event_id), "sk": sk} for sk in sks])}
    return ChatState(
        settings=_settings(found.get("SETTINGS")),
        filter_words=list((found.get("FILTER") or {}).get("words") or []),
        mute=_mute(found.get(f"MUTE#{user_id}")),
        ban=_ban(found.get(f"BAN#{user_id}")),
    )


def settings_action(event_id: str, value: Settings, by: str, at: datetime) -> dict[str, Any]:
    item = {
        "pk": _pk(event_id),
        "sk": "SETTINGS",
        "enabled": value.enabled,
        "read": value.read.value,
        "write": value.write.value,
        "by": by,
        "at": clock.to_iso(at),
    }
    return {"Put": {"TableName": _table(), "Item": dynamo.to_item(item)}}


def filter_action(event_id: str, words: list[str], by: str, at: datetime) -> dict[str, Any]:
    item = {"pk": _pk(event_id), "sk": "FILTER", "words": words, "by": by, "at": clock.to_iso(at)}
    return {"Put": {"TableName": _table(), "Item": dynamo.to_item(item)}}


def mute_action(event_id: str, mute: Mute) -> dict[str, Any]:
    item = {
        "pk": _pk(event_id),
        "sk": f"MUTE#{mute.user_id}",
        "user_id": mute.user_id,
        "until": clock.to_iso(mute.until),
        "reason": mute.reason,
        "by": mute.by,
        "expires_at": int(mute.until.timestamp()) + 86_400,
    }
    return {"Put": {"TableName": _table(), "Item": dynamo.to_item(item)}}


def ban_action(event_id: str, ban: Ban) -> dict[str, Any]:
    item = {
        "pk": _pk(event_id),
        "sk": f"BAN#{ban.user_id}",
        "user_id": ban.user_id,
        "reason": ban.reason,
        "by": ban.by,
        "at": clock.to_iso(ban.at),
    }
    return {"Put": {"TableName": _table(), "Item": dynamo.to_item(item)}}


def lift_action(event_id: str, kind: str, user_id: str) -> dict[str, Any]:
    """Delete a mute ("MUTE") or ban ("BAN"), only if there is one (the transaction fails otherwise)."""
    return {
        "Delete": {
            "TableName": _table(),
            "Key": _key(event_id, f"{kind}#{user_id}"),
            "ConditionExpression": "attribute_exists(pk)",
        }
    }


# ------------------------------------------------------------------------------------------------ reports


@dataclass(frozen=True)
class ReportRecord:
    event_id: str
    id: str
    message_id: str
    reporter: str
    reason: str
    created_at: datetime
    status: ReportStatus
    # The message as reported (it may be deleted since): who wrote what.
    author: str
    text: str
    outcome: ReportOutcome | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None


def _report(values: Mapping[str, Any]) -> ReportRecord:
    resolved_at = values.get("resolved_at")
    outcome = values.get("outcome")
    return ReportRecord(
        event_id=values["event_id"],
        id=values["id"],
        message_id=values["message_id"],
        reporter=values["reporter"],
        reason=values["reason"],
        created_at=clock.from_iso(values["created_at"]),
        status=ReportStatus(values["status"]),
        author=values["author"],
        text=values["text"],
        outcome=ReportOutcome(outcome) if outcome else None,
        resolved_by=values.get("resolved_by"),
        resolved_at=clock.from_iso(resolved_at) if resolved_at else None,
        note=values.get("note"),
    )


def add_report(record: ReportRecord) -> ReportRecord:
    """File a report once per (message, reporter): a repeat answers the report already filed."""
    guard = {"pk": _pk(record.event_id), "sk": f"RG#{record.message_id}#{record.reporter}", "report_id": record.id}
    expires = expiry(record.created_at)
    item = {
        "pk": _pk(record.event_id),
        "sk": f"R#{record.id}",
        "event_id": record.event_id,
        "id": record.id,
        "message_id": record.message_id,
        "reporter": record.reporter,
        "reason": record.reason,
        "created_at": clock.to_iso(record.created_at),
        "status": record.status.value,
        "author": record.author,
        "text": record.text,
        "expires_at": expires,
    }
    outcome = dynamo.transact_write(
        [
            {
                "Put": {
                    "TableName": _table(),
                    "Item": dynamo.to_item({**guard, "expires_at": expires}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Put": {"TableName": _table(), "Item": dynamo.to_item(item)}},
        ]
    )
    if outcome is None:
        return record
    answer = dynamo.client().get_item(
        TableName=_table(), Key=dynamo.to_item({"pk": guard["pk"], "sk": guard["sk"]}), ConsistentRead=True
    )
    existing = get_report(record.event_id, dynamo.from_item(answer["Item"])["report_id"]) if "Item" in answer else None
    if existing is None:
        raise RuntimeError(f"report transaction cancelled: {outcome.codes}")
    return existing


def get_report(event_id: str, report_id: str) -> ReportRecord | None:
    answer = dynamo.client().get_item(TableName=_table(), Key=_key(event_id, f"R#{report_id}"), ConsistentRead=True)
    return _report(dynamo.from_item(answer["Item"])) if "Item" in answer else None


def reports(
    event_id: str, status: ReportStatus | None, limit: int, cursor: str | None
) -> tuple[list[ReportRecord], str | None]:
    """Newest first, optionally only those with `status`."""
    state_ = dynamo.decode_cursor(cursor)
    start = dynamo.start_key(state_, KEY_ATTRIBUTES, {"pk": _pk(event_id)})
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :r)",
        "ExpressionAttributeValues": {":pk": {"S": _pk(event_id)}, ":r": {"S": "R#"}},
        "ScanIndexForward": False,
        "ConsistentRead": True,
    }
    if status is not None:
        kwargs["FilterExpression"] = "#s = :s"
        kwargs["ExpressionAttributeNames"] = {"#s": "status"}
        kwargs["ExpressionAttributeValues"][":s"] = {"S": status.value}
    if start is not None:
        kwargs["ExclusiveStartKey"] = start
    found: list[ReportRecord] = []
    while len(found) < limit:
        kwargs["Limit"] = limit - len(found)
        page = dynamo.client().query(**kwargs)
        found += [_report(dynamo.from_item(raw)) for raw in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        if not last:
            return found, None
        kwargs["ExclusiveStartKey"] = last
    return found, dynamo.encode_cursor({"k": {"pk": last["pk"], "sk": last["sk"]}})


def resolve_action(
    report: ReportRecord, outcome: ReportOutcome, by: str, at: datetime, note: str | None
) -> dict[str, Any]:
    """Resolve an open report (the transaction fails when it was resolved already)."""
    values: dict[str, Any] = {
        ":r": {"S": ReportStatus.RESOLVED.value},
        ":o": {"S": ReportStatus.OPEN.value},
        ":out": {"S": outcome.value},
        ":by": {"S": by},
        ":at": {"S": clock.to_iso(at)},
    }
    update = "SET #s = :r, outcome = :out, resolved_by = :by, resolved_at = :at"
    if note:
        update += ", note = :note"
        values[":note"] = {"S": note}
    return {
        "Update": {
            "TableName": _table(),
            "Key": _key(report.event_id, f"R#{report.id}"),
            "UpdateExpression": update,
            "ConditionExpression": "#s = :o",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": values,
        }
    }


# ------------------------------------------------------------------------------------------------ presence


@dataclass(frozen=True)
class Presence:
    count: int | None
    at: float | None


def presence(event_id: str) -> Presence:
    answer = dynamo.client().get_item(TableName=_table(), Key=_key(event_id, "PRESENCE"), ConsistentRead=True)
    values = dynamo.from_item(answer["Item"]) if "Item" in answer else {}
    count, at = values.get("count"), values.get("at")
    return Presence(None if count is None else int(count), None if at is None else float(Decimal(str(at))))


def claim_presence_push(event_id: str, seen: Presence, count: int, now: float) -> bool:
    """Record that `count` is being pushed now, if nobody else recorded a push since `seen` (one pusher wins)."""
    values: dict[str, Any] = {":c": {"N": str(count)}, ":now": {"N": repr(now)}}
    if seen.at is None:
        condition = "attribute_not_exists(#at)"
    else:
        condition = "#at = :seen"
        values[":seen"] = {"N": repr(seen.at)}
    try:
        dynamo.client().update_item(
            TableName=_table(),
            Key=_key(event_id, "PRESENCE"),
            UpdateExpression="SET #count = :c, #at = :now",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#count": "count", "#at": "at"},
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return False
        raise
    return True


def presence_pushed(event_id: str, at: float) -> None:
    """A presence push finished at `at`: the coalescing window runs from here."""
    dynamo.client().update_item(
        TableName=_table(),
        Key=_key(event_id, "PRESENCE"),
        UpdateExpression="SET #at = :at",
        ExpressionAttributeNames={"#at": "at"},
        ExpressionAttributeValues={":at": {"N": repr(at)}},
    )
