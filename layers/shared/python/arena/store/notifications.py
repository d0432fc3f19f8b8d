"""The NotificationsTable (key layout: arena/domain/notifications.py): inboxes, read marks, preferences and the
opt-in lists they keep, channel links, devices, throttles, digest entries, delivery records with per-source counts,
and held deliveries. The only module that reads or writes it; everything comes back as the typed records below.

Exactly-once lives here: a delivery record is created once by a conditional write (the planner's for a HELD or
counted-SUPPRESSED delivery, so a redelivered planner batch creates nothing twice; the dispatcher's send lease for
a QUEUED one, `lease_delivery`) and only moves forward (QUEUED|HELD -> SENT|FAILED|SUPPRESSED); an inbox item is
a conditional put too, so `put_inbox` tells which items are new (the in-app dispatcher's batch write:
`deliver_in_app`). Bulk forms use TransactWriteItems (up to 100 conditional actions in
one call; a cancelled transaction names the actions whose condition failed, those are dropped and the rest sent
again). Per-source counts are bumped after a successful create or transition, outside its transaction: parallel
planners would otherwise all conflict on one count item; a crash between the two can undercount, never double.
"""

from __future__ import annotations

import hashlib
import json
import time as _time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from arena import clock
from arena.config import settings
from arena.domain.notifications import (
    CONFIGURABLE_TYPES,
    Channel,
    DeliveryStatus,
    LinkStatus,
    Notification,
    NotificationType,
    Preferences,
    hold_minute,
    notification_from_dict,
    notification_to_dict,
    preferences_from_dict,
    preferences_to_dict,
)
from arena.errors import BadRequest, Conflict
from arena.factories import cached
from arena.store import dynamo

INBOX_RETENTION = timedelta(days=90)
# Longer than any redelivery (EventBridge retries for 24 h, SQS keeps messages 4 days): a redelivered batch still
# finds the record.
DELIVERY_RETENTION = timedelta(days=14)
DIGEST_RETENTION = timedelta(days=3)
HOLD_RETENTION = timedelta(days=3)
# A bounded amount of work per unread count: the badge shows "99+" beyond the cap anyway.
UNREAD_SCAN_LIMIT = 1_000
TRANSACTION_ACTIONS = 100
# BatchWriteItem calls of one in-app message at once (100 items = 4 calls of 25).
IN_APP_WRITERS = 4
FINAL = (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SUPPRESSED)
OPEN = (DeliveryStatus.QUEUED, DeliveryStatus.HELD)


def _table() -> str:
    return settings().notifications_table


def _user(user_id: str) -> str:
    return f"USER#{user_id}"


def _expiry(moment: datetime, keep: timedelta) -> int:
    return int((moment + keep).timestamp())


def _get(pk: str, sk: str, consistent: bool = True) -> dict[str, Any] | None:
    answer = dynamo.client().get_item(
        TableName=_table(), Key=dynamo.to_item({"pk": pk, "sk": sk}), ConsistentRead=consistent
    )
    return dynamo.from_item(answer["Item"]) if "Item" in answer else None


def _query_all(pk: str, prefix: str, **extra: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    values = {":pk": {"S": pk}, ":p": {"S": prefix}} if prefix else {":pk": {"S": pk}}
    for page in dynamo.query_pages(
        TableName=_table(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :p)" if prefix else "pk = :pk",
        ExpressionAttributeValues=values,
        ConsistentRead=True,
        **extra,
    ):
        found.extend(dynamo.from_item(i) for i in page.get("Items", []))
    return found


def _transact_each(groups: Sequence[list[dict[str, Any]]]) -> list[bool]:
    """Write groups of actions (each group is all-or-nothing for one item's worth of work) in as few transactions
    as fit 100 actions; a group whose condition fails is dropped and reported False, the others go through.
    Conflicts with a concurrent transaction are retried with a short backoff."""
    outcome = [False] * len(groups)
    pending = list(range(len(groups)))
    while pending:
        chunk: list[int] = []
        size = 0
        for index in pending:
            if size + len(groups[index]) > TRANSACTION_ACTIONS:
                break
            chunk.append(index)
            size += len(groups[index])
        pending = pending[len(chunk) :]
        attempt = 0
        while chunk:
            actions = [action for index in chunk for action in groups[index]]
            result = dynamo.transact_write(actions)
            if result is None:
                for index in chunk:
                    outcome[index] = True
                break
            failed_actions = set(result.failed_conditions())
            if failed_actions:
                failed: set[int] = set()
                position = 0
                for index in chunk:
                    if any(p in failed_actions for p in range(position, position + len(groups[index]))):
                        failed.add(index)
                    position += len(groups[index])
                chunk = [index for index in chunk if index not in failed]
                continue
            attempt += 1  # conflict or throttling: the same chunk again after a pause
            if attempt > 8:
                raise RuntimeError(f"transaction kept failing: {result.codes}")
            _time.sleep(min(0.05 * 2**attempt, 1.0))
    return outcome


# ------------------------------------------------------------------------------------------------ inbox


@dataclass(frozen=True)
class InboxItem:
    """One in-app notification as the inbox shows it (rendered title and body; `data` the type's fields)."""

    notification_id: str
    user_id: str
    type: NotificationType
    event_id: str | None
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None = None


def _inbox_item(item: InboxItem) -> dict[str, Any]:
    return {
        "pk": _user(item.user_id),
        "sk": f"INBOX#{item.notification_id}",
        "type": item.type.value,
        "event_id": item.event_id,
        "title": item.title,
        "body": item.body,
        "data": json.dumps(item.data, separators=(",", ":"), default=str),
        "created_at": clock.to_iso(item.created_at),
        "read_at": clock.to_iso(item.read_at) if item.read_at else None,
        "expires_at": _expiry(item.created_at, INBOX_RETENTION),
    }


def _to_inbox(values: dict[str, Any], mark: _ReadMark | None = None) -> InboxItem:
    notification_id = str(values["sk"]).removeprefix("INBOX#")
    read_at = clock.from_iso(values["read_at"]) if values.get("read_at") else None
    if read_at is None and mark is not None and notification_id <= mark.mark:
        read_at = mark.read_at
    return InboxItem(
        notification_id=notification_id,
        user_id=str(values["pk"]).removeprefix("USER#"),
        type=NotificationType(values["type"]),
        event_id=values.get("event_id"),
        title=values.get("title", ""),
        body=values.get("body", ""),
        data=json.loads(values.get("data") or "{}"),
        created_at=clock.from_iso(values["created_at"]),
        read_at=read_at,
    )


def _inbox_put(item: InboxItem) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": _table(),
            "Item": dynamo.to_item(_inbox_item(item)),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def put_inbox(items: Sequence[InboxItem]) -> list[InboxItem]:
    """Store inbox items once each (conditional puts, up to 100 per transaction); returns those that were new, in
    the given order. Idempotent: storing the same items again returns []."""
    stored = _transact_each([[_inbox_put(item)] for item in items])
    return [item for item, new in zip(items, stored, strict=True) if new]


def in_app_batch_key(notification_ids: Iterable[str]) -> str:
    """What names one in-app message's write: a digest of its notification ids (the planner cuts the same page
    into the same messages, so a redelivered or re-sent message has the same key)."""
    return hashlib.sha256("\n".join(sorted(notification_ids)).encode()).hexdigest()[:32]


@cached
def _writers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=IN_APP_WRITERS, thread_name_prefix="inbox")


def deliver_in_app(items: Sequence[tuple[InboxItem, str]], now: datetime) -> list[InboxItem]:
    """The in-app dispatcher's write of one message (up to 100 items, each with its notification's source): the
    inbox items themselves are the in-app delivery records, so one item costs one plain write.

    1. `INAPP#<batch key>` / `BATCH` exists: this message was stored before (a redelivery): return [] - nothing is
       written, counted or pushed again (and a read_at set since is not overwritten).
    2. The items go in as BatchWriteItem chunks of 25, the chunks in parallel. The items are deterministic (id,
       rendered text, created_at: all derived from the cause), so writing them twice writes identical items.
    3. The batch mark is put conditionally; only the call that creates it counts the items SENT (and -QUEUED) on
       their sources and returns them (to be pushed live). Two copies of one message running at once both write
       the items, one of them counts and pushes.
    A crash after 2 stores the items and the redelivery counts them; a crash between 3's put and its count
    undercounts (never doubles), like every count of this table."""
    if not items:
        return []
    batch = in_app_batch_key(item.notification_id for item, _ in items)
    if _get(f"INAPP#{batch}", "BATCH") is not None:
        return []
    values = [_inbox_item(item) for item, _ in items]
    chunks = [values[i : i + 25] for i in range(0, len(values), 25)]
    if len(chunks) == 1:
        dynamo.batch_write(_table(), chunks[0])
    else:
        list(_writers().map(lambda chunk: dynamo.batch_write(_table(), chunk), chunks))
    mark = {"pk": f"INAPP#{batch}", "sk": "BATCH", "at": clock.to_iso(now), "items": len(items)}
    mark["expires_at"] = _expiry(now, DELIVERY_RETENTION)
    try:
        dynamo.client().put_item(
            TableName=_table(), Item=dynamo.to_item(mark), ConditionExpression="attribute_not_exists(pk)"
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return []
        raise
    counts: dict[str, int] = {}
    for _, source in items:
        counts[source] = counts.get(source, 0) + 1
    for source, count in counts.items():
        _bump(source, Channel.IN_APP, {DeliveryStatus.SENT: count, DeliveryStatus.QUEUED: -count})
    return [item for item, _ in items]


def count_in_app_queued(counts: dict[str, int]) -> None:
    """The planner's count of the in-app notifications it queued (per source)."""
    count_queued({Channel.IN_APP.value: counts})


def count_queued(counts: Mapping[str, Mapping[str, int]]) -> None:
    """The planner's count of the deliveries it queued without a record (channel -> source -> count): an in-app
    delivery's record is its inbox item, an external one's is created by its dispatcher's send lease
    (`lease_delivery`), so the planner counts them QUEUED once per page it marks planned (`mark_page_planned`)."""
    for channel, per_source in counts.items():
        for source, count in per_source.items():
            _bump(source, Channel(channel), {DeliveryStatus.QUEUED: count})


@dataclass(frozen=True)
class _ReadMark:
    mark: str
    read_at: datetime


def _read_mark(user_id: str) -> _ReadMark | None:
    values = _get(_user(user_id), "READMARK")
    return _ReadMark(values["mark"], clock.from_iso(values["read_at"])) if values else None


def _inbox_query(user_id: str, start: dict[str, Any] | None, low: str, limit: int) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {":pk": {"S": _user(user_id)}, ":lo": {"S": low}, ":hi": {"S": "INBOX#~"}},
        "ScanIndexForward": False,
        "Limit": limit,
        "ConsistentRead": True,
    }
    if start:
        kwargs["ExclusiveStartKey"] = start
    return dynamo.client().query(**kwargs)


def inbox_page(
    user_id: str, cursor: str | None, limit: int, unread_only: bool = False
) -> tuple[list[InboxItem], str | None]:
    """A page of the user's inbox, newest first, and the cursor of the next page (None at the end). Unread only:
    the items after the read mark not read one by one. A cursor of another user's inbox is a 400."""
    partition = {"pk": _user(user_id)}
    start = dynamo.start_key(dynamo.decode_cursor(cursor), frozenset({"pk", "sk"}), partition)
    if start is not None and not start["sk"]["S"].startswith("INBOX#"):
        raise BadRequest(dynamo.NOT_OURS, code="invalid_cursor")
    mark = _read_mark(user_id)
    low = f"INBOX#{mark.mark}" if unread_only and mark else "INBOX#"
    found: list[InboxItem] = []
    last: dict[str, Any] | None = None
    while len(found) < limit:
        answer = _inbox_query(user_id, start, low, limit - len(found) if not unread_only else max(limit, 25))
        items = answer.get("Items", [])
        for raw in items:
            item = _to_inbox(dynamo.from_item(raw), mark)
            last = {"pk": raw["pk"], "sk": raw["sk"]}
            if unread_only and item.read_at is not None:
                continue
            found.append(item)
            if len(found) == limit:
                break
        start = answer.get("LastEvaluatedKey")
        if len(found) == limit or not start:
            if len(found) < limit:
                last = None
            break
    if last is not None and len(found) == limit:
        # Another page exists only when the query did not end exactly here.
        more = _inbox_query(user_id, last, low, 1).get("Items", [])
        if not more:
            last = None
    return found, (dynamo.encode_cursor({"k": last}) if last else None)


def unread_count(user_id: str, cap: int = 99) -> int:
    """Unread inbox items (after the read mark, not read one by one), counted up to cap + 1: a value above `cap`
    means "more than cap" (the badge's 99+)."""
    mark = _read_mark(user_id)
    low = f"INBOX#{mark.mark}~" if mark else "INBOX#"
    count = scanned = 0
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {":pk": {"S": _user(user_id)}, ":lo": {"S": low}, ":hi": {"S": "INBOX#~"}},
        "ProjectionExpression": "sk, read_at",
        "ScanIndexForward": False,
        "ConsistentRead": True,
        "Limit": 200,
    }
    while True:
        answer = dynamo.client().query(**kwargs)
        for raw in answer.get("Items", []):
            scanned += 1
            if "read_at" not in raw:
                count += 1
            if count > cap or scanned >= UNREAD_SCAN_LIMIT:
                return min(count, cap + 1)
        if "LastEvaluatedKey" not in answer:
            return count
        kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def mark_read(user_id: str, notification_id: str, now: datetime) -> bool:
    """Mark one item read (idempotent: the first read time stays); False when the user has no such item."""
    try:
        dynamo.client().update_item(
            TableName=_table(),
            Key=dynamo.to_item({"pk": _user(user_id), "sk": f"INBOX#{notification_id}"}),
            UpdateExpression="SET read_at = if_not_exists(read_at, :now)",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":now": {"S": clock.to_iso(now)}},
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return False
        raise
    return True


def read_all(user_id: str, now: datetime) -> None:
    """Everything in the inbox now is read: the READMARK moves to the newest item (never back)."""
    answer = dynamo.client().query(
        TableName=_table(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
        ExpressionAttributeValues={":pk": {"S": _user(user_id)}, ":p": {"S": "INBOX#"}},
        ProjectionExpression="sk",
        ScanIndexForward=False,
        Limit=1,
        ConsistentRead=True,
    )
    items = answer.get("Items", [])
    if not items:
        return
    newest = items[0]["sk"]["S"].removeprefix("INBOX#")
    try:
        dynamo.client().put_item(
            TableName=_table(),
            Item=dynamo.to_item({"pk": _user(user_id), "sk": "READMARK", "mark": newest, "read_at": clock.to_iso(now)}),
            ConditionExpression="attribute_not_exists(pk) OR #m < :m",
            ExpressionAttributeNames={"#m": "mark"},
            ExpressionAttributeValues={":m": {"S": newest}},
        )
    except ClientError as error:
        if not dynamo.is_conditional_failure(error):
            raise


# ------------------------------------------------------------------------------------------------ preferences


@dataclass(frozen=True)
class PreferencesRecord:
    """Stored preferences: version 0 (and no `updated_at`) means never saved, the defaults."""

    user_id: str
    preferences: Preferences
    version: int
    updated_at: datetime | None = None


def get_preferences(user_id: str) -> PreferencesRecord:
    values = _get(_user(user_id), "PREFS")
    if values is None:
        return PreferencesRecord(user_id, Preferences(), 0)
    return PreferencesRecord(
        user_id,
        preferences_from_dict(json.loads(values["prefs"])),
        int(values["version"]),
        clock.from_iso(values["updated_at"]),
    )


def put_preferences(
    user_id: str,
    prefs: Preferences,
    expected_version: int,
    now: datetime,
    *,
    kyc_level: int | None = None,
    account_type: str | None = None,
) -> PreferencesRecord:
    """Save preferences if the stored version is `expected_version` (0: none saved yet); Conflict otherwise. The
    OPTIN#<type> items (the broadcast audiences) change in the same transaction; they keep the caller's KYC level
    and account type when given (the NEW_EVENT audience is filtered by the event's eligibility rules with them)."""
    version = expected_version + 1
    item = {
        "pk": _user(user_id),
        "sk": "PREFS",
        "prefs": json.dumps(preferences_to_dict(prefs), separators=(",", ":")),
        "version": version,
        "updated_at": clock.to_iso(now),
    }
    condition = "attribute_not_exists(pk)" if expected_version == 0 else "#v = :v"
    put: dict[str, Any] = {"TableName": _table(), "Item": dynamo.to_item(item), "ConditionExpression": condition}
    if expected_version:
        put["ExpressionAttributeNames"] = {"#v": "version"}
        put["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
    actions: list[dict[str, Any]] = [{"Put": put}]
    opted = prefs.opted_in_types()
    for kind in CONFIGURABLE_TYPES:
        key = {"pk": f"OPTIN#{kind.value}", "sk": user_id}
        if kind in opted:
            opt_in = {**key, "at": clock.to_iso(now), "kyc_level": kyc_level, "account_type": account_type}
            actions.append({"Put": {"TableName": _table(), "Item": dynamo.to_item(opt_in)}})
        else:
            actions.append({"Delete": {"TableName": _table(), "Key": dynamo.to_item(key)}})
    outcome = dynamo.transact_write(actions)
    if outcome is not None:
        if 0 in outcome.failed_conditions():
            raise Conflict(
                "The preferences changed since they were read; read them again.",
                code="version_conflict",
                details={"expected_version": expected_version},
            )
        raise RuntimeError(f"preferences transaction failed: {outcome.codes}")
    return PreferencesRecord(user_id, prefs, version, now)


def preferences_of(user_ids: Sequence[str]) -> dict[str, Preferences]:
    """Preferences of many users (BatchGetItem, 100 keys a call); a user who never saved any gets the defaults."""
    found = dynamo.batch_get(
        _table(), [{"pk": _user(u), "sk": "PREFS"} for u in dict.fromkeys(user_ids)], consistent=False
    )
    stored = {str(v["pk"]).removeprefix("USER#"): preferences_from_dict(json.loads(v["prefs"])) for v in found}
    return {u: stored.get(u) or Preferences() for u in user_ids}


@dataclass(frozen=True)
class OptIn:
    """A user on a type's broadcast list, with what they said of themselves when they opted in (None: unknown)."""

    user_id: str
    kyc_level: int | None = None
    account_type: str | None = None


def opted_in_users(kind: NotificationType, cursor: str | None, limit: int) -> tuple[list[str], str | None]:
    """A page of the users who turned on a non-default channel for `kind` (the broadcast audience), by user id."""
    found, next_cursor = opted_in_page(kind, cursor, limit)
    return [o.user_id for o in found], next_cursor


def opted_in_page(kind: NotificationType, cursor: str | None, limit: int) -> tuple[list[OptIn], str | None]:
    """`opted_in_users` with each user's KYC level and account type."""
    partition = {"pk": f"OPTIN#{kind.value}"}
    start = dynamo.start_key(dynamo.decode_cursor(cursor), frozenset({"pk", "sk"}), partition)
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": partition["pk"]}},
        "Limit": limit,
    }
    if start:
        kwargs["ExclusiveStartKey"] = start
    answer = dynamo.client().query(**kwargs)
    found = []
    for raw in answer.get("Items", []):
        values = dynamo.from_item(raw)
        level = values.get("kyc_level")
        found.append(OptIn(values["sk"], None if level is None else int(level), values.get("account_type")))
    last = answer.get("LastEvaluatedKey")
    return found, (dynamo.encode_cursor({"k": last}) if last else None)


# ------------------------------------------------------------------------------------------------ channel links


@dataclass(frozen=True)
class ChannelLink:
    """A Discord webhook URL or Telegram chat id; `code_hash` / `code_expires_at` / `attempts` belong to the
    verification code sent through it while PENDING."""

    user_id: str
    channel: Channel
    address: str
    status: LinkStatus
    code_hash: str | None = None
    code_expires_at: datetime | None = None
    attempts: int = 0
    linked_at: datetime | None = None


def _to_link(values: dict[str, Any]) -> ChannelLink:
    return ChannelLink(
        user_id=str(values["pk"]).removeprefix("USER#"),
        channel=Channel(str(values["sk"]).removeprefix("LINK#")),
        address=values["address"],
        status=LinkStatus(values["status"]),
        code_hash=values.get("code_hash"),
        code_expires_at=clock.from_iso(values["code_expires_at"]) if values.get("code_expires_at") else None,
        attempts=int(values.get("attempts", 0)),
        linked_at=clock.from_iso(values["linked_at"]) if values.get("linked_at") else None,
    )


def get_link(user_id: str, channel: Channel) -> ChannelLink | None:
    values = _get(_user(user_id), f"LINK#{channel.value}")
    return _to_link(values) if values else None


def put_link(link: ChannelLink) -> None:
    """Create or replace the user's link on that channel (a new address starts PENDING again)."""
    item = {
        "pk": _user(link.user_id),
        "sk": f"LINK#{link.channel.value}",
        "address": link.address,
        "status": link.status.value,
        "code_hash": link.code_hash,
        "code_expires_at": clock.to_iso(link.code_expires_at) if link.code_expires_at else None,
        "attempts": link.attempts,
        "linked_at": clock.to_iso(link.linked_at) if link.linked_at else None,
    }
    dynamo.client().put_item(TableName=_table(), Item=dynamo.to_item(item))


def count_link_attempt(user_id: str, channel: Channel) -> int | None:
    """One more verification attempt on a PENDING link (atomic); the count after it, or None when there is no
    pending link."""
    try:
        answer = dynamo.client().update_item(
            TableName=_table(),
            Key=dynamo.to_item({"pk": _user(user_id), "sk": f"LINK#{channel.value}"}),
            UpdateExpression="ADD attempts :one",
            ConditionExpression="#s = :pending",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":pending": {"S": LinkStatus.PENDING.value}},
            ReturnValues="UPDATED_NEW",
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return None
        raise
    return int(answer["Attributes"]["attempts"]["N"])


def verify_link(user_id: str, channel: Channel, now: datetime) -> bool:
    """PENDING -> VERIFIED (the code is dropped); False when the link is not pending."""
    return _set_link_status(user_id, channel, LinkStatus.VERIFIED, now, (LinkStatus.PENDING,))


def mark_link_broken(user_id: str, channel: Channel, now: datetime) -> bool:
    """VERIFIED -> BROKEN when the provider refused the address for good (webhook deleted, bot blocked)."""
    return _set_link_status(user_id, channel, LinkStatus.BROKEN, now, (LinkStatus.VERIFIED,))


def _set_link_status(
    user_id: str, channel: Channel, status: LinkStatus, now: datetime, allowed_from: tuple[LinkStatus, ...]
) -> bool:
    values = {f":from{i}": {"S": s.value} for i, s in enumerate(allowed_from)}
    try:
        dynamo.client().update_item(
            TableName=_table(),
            Key=dynamo.to_item({"pk": _user(user_id), "sk": f"LINK#{channel.value}"}),
            UpdateExpression="SET #s = :s, linked_at = :now REMOVE code_hash, code_expires_at",
            ConditionExpression=f"#s IN ({', '.join(values)})",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": status.value}, ":now": {"S": clock.to_iso(now)}, **values},
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return False
        raise
    return True


def delete_link(user_id: str, channel: Channel) -> None:
    dynamo.client().delete_item(
        TableName=_table(), Key=dynamo.to_item({"pk": _user(user_id), "sk": f"LINK#{channel.value}"})
    )


def links_of(user_id: str) -> list[ChannelLink]:
    return [_to_link(v) for v in _query_all(_user(user_id), "LINK#")]


def verified_channels_of(user_ids: Sequence[str]) -> dict[str, frozenset[Channel]]:
    """The linked channels each user can be reached on (VERIFIED Discord/Telegram links, push when a device is
    registered): one BatchGet for the links, one query per user for devices."""
    keys = [
        {"pk": _user(u), "sk": f"LINK#{c.value}"}
        for u in dict.fromkeys(user_ids)
        for c in (Channel.DISCORD, Channel.TELEGRAM)
    ]
    linked: dict[str, set[Channel]] = {u: set() for u in user_ids}
    for values in dynamo.batch_get(_table(), keys, consistent=False):
        if values.get("status") == LinkStatus.VERIFIED.value:
            linked[str(values["pk"]).removeprefix("USER#")].add(Channel(str(values["sk"]).removeprefix("LINK#")))
    for user_id in dict.fromkeys(user_ids):
        answer = dynamo.client().query(
            TableName=_table(),
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues={":pk": {"S": _user(user_id)}, ":p": {"S": "DEVICE#"}},
            Limit=1,
            ProjectionExpression="sk",
        )
        if answer.get("Items"):
            linked[user_id].add(Channel.PUSH)
    return {u: frozenset(c) for u, c in linked.items()}


# ------------------------------------------------------------------------------------------------ devices


@dataclass(frozen=True)
class DeviceRecord:
    """A mobile device registered for push: its SNS platform endpoint."""

    user_id: str
    device_id: str
    platform: str
    endpoint_arn: str
    created_at: datetime


def put_device(device: DeviceRecord) -> None:
    item = {
        "pk": _user(device.user_id),
        "sk": f"DEVICE#{device.device_id}",
        "platform": device.platform,
        "endpoint_arn": device.endpoint_arn,
        "created_at": clock.to_iso(device.created_at),
    }
    dynamo.client().put_item(TableName=_table(), Item=dynamo.to_item(item))


def devices_of(user_id: str) -> list[DeviceRecord]:
    return [
        DeviceRecord(
            user_id=user_id,
            device_id=str(v["sk"]).removeprefix("DEVICE#"),
            platform=v["platform"],
            endpoint_arn=v["endpoint_arn"],
            created_at=clock.from_iso(v["created_at"]),
        )
        for v in _query_all(_user(user_id), "DEVICE#")
    ]


def delete_device(user_id: str, device_id: str) -> bool:
    """False when the user had no such device."""
    answer = dynamo.client().delete_item(
        TableName=_table(),
        Key=dynamo.to_item({"pk": _user(user_id), "sk": f"DEVICE#{device_id}"}),
        ReturnValues="ALL_OLD",
    )
    return "Attributes" in answer


# ------------------------------------------------------------------------------------------------ throttle


def claim_throttle(
    user_id: str, kind: NotificationType, event_id: str, notification_id: str, now: datetime, window: timedelta
) -> bool:
    """Take the (user, type, event) throttle for this notification: True when nothing of that type went out for
    the event within `window`, or when this same notification holds it already (a redelivered batch plans it
    again instead of losing it). `now` is the notification's own time (its cause's), so a repeat writes the same
    item."""
    try:
        dynamo.client().put_item(
            TableName=_table(),
            Item=dynamo.to_item(
                {
                    "pk": _user(user_id),
                    "sk": f"THROTTLE#{kind.value}#{event_id}",
                    "at": clock.to_iso(now),
                    "notification_id": notification_id,
                    "expires_at": _expiry(now, window + timedelta(days=1)),
                }
            ),
            ConditionExpression="attribute_not_exists(pk) OR #at <= :cutoff OR notification_id = :id",
            ExpressionAttributeNames={"#at": "at"},
            ExpressionAttributeValues={
                ":cutoff": {"S": clock.to_iso(now - window)},
                ":id": {"S": notification_id},
            },
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return False
        raise
    return True


# ------------------------------------------------------------------------------------------------ digest


def add_digest_entry(notification: Notification, day: str, now: datetime) -> None:
    """Keep a rank change for the user's digest of `day` (idempotent: keyed by the notification id)."""
    item = {
        "pk": _user(notification.user_id),
        "sk": f"DIGEST#{day}#{notification.notification_id}",
        "notification": json.dumps(notification_to_dict(notification), separators=(",", ":"), default=str),
        "expires_at": _expiry(now, DIGEST_RETENTION),
    }
    dynamo.client().put_item(TableName=_table(), Item=dynamo.to_item(item))


def digest_entries(user_id: str, day: str) -> list[Notification]:
    return [notification_from_dict(json.loads(v["notification"])) for v in _query_all(_user(user_id), f"DIGEST#{day}#")]


def clear_digest(user_id: str, day: str, notification_ids: Iterable[str]) -> None:
    dynamo.batch_write(_table(), [], [{"pk": _user(user_id), "sk": f"DIGEST#{day}#{i}"} for i in notification_ids])


# ------------------------------------------------------------------------------------------------ deliveries


@dataclass(frozen=True)
class DeliveryRecord:
    """One (notification, channel): its status, whose and from what source, and the last change's detail."""

    notification_id: str
    channel: Channel
    status: DeliveryStatus
    user_id: str
    source: str
    created_at: datetime
    updated_at: datetime
    detail: str | None = None


def _delivery_key(notification_id: str, channel: Channel) -> dict[str, str]:
    return {"pk": f"NOTIFICATION#{notification_id}", "sk": f"DELIVERY#{channel.value}"}


def _delivery_create(
    notification: Notification, channel: Channel, status: DeliveryStatus, now: datetime
) -> dict[str, Any]:
    item = {
        **_delivery_key(notification.notification_id, channel),
        "status": status.value,
        "user_id": notification.user_id,
        "source": notification.source,
        "type": notification.type.value,
        "created_at": clock.to_iso(now),
        "updated_at": clock.to_iso(now),
        "expires_at": _expiry(now, DELIVERY_RETENTION),
    }
    return {
        "Put": {"TableName": _table(), "Item": dynamo.to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}
    }


def _delivery_transition(
    notification_id: str, channel: Channel, status: DeliveryStatus, now: datetime, source: str
) -> dict[str, Any]:
    """Move an open record (QUEUED|HELD) to `status`; a record that does not exist yet is created at it (the
    in-app dispatcher of a message no planner recorded, e.g. one a test put on the queue)."""
    return {
        "Update": {
            "TableName": _table(),
            "Key": dynamo.to_item(_delivery_key(notification_id, channel)),
            "UpdateExpression": "SET #s = :s, updated_at = :now, #src = if_not_exists(#src, :src), "
            "created_at = if_not_exists(created_at, :now), expires_at = if_not_exists(expires_at, :exp)",
            "ConditionExpression": "attribute_not_exists(pk) OR #s IN (:q, :h)",
            "ExpressionAttributeNames": {"#s": "status", "#src": "source"},
            "ExpressionAttributeValues": {
                ":s": {"S": status.value},
                ":now": {"S": clock.to_iso(now)},
                ":src": {"S": source},
                ":exp": {"N": str(_expiry(now, DELIVERY_RETENTION))},
                ":q": {"S": DeliveryStatus.QUEUED.value},
                ":h": {"S": DeliveryStatus.HELD.value},
            },
        }
    }


# Count changes gathered over one message's deliveries, bumped once (`bump_counts`): 100,000 emails of one source
# would otherwise be 100,000 updates of one item (a hot key: DynamoDB gives one partition 1,000 writes a second).
Counts = dict[tuple[str, Channel], dict[DeliveryStatus, int]]


def bump_counts(counts: Counts) -> None:
    """Apply gathered count changes, one update per (source, channel)."""
    for (source, channel), deltas in counts.items():
        _bump(source, channel, deltas)
    counts.clear()


def _bump(source: str, channel: Channel, deltas: dict[DeliveryStatus, int]) -> None:
    deltas = {s: d for s, d in deltas.items() if d}
    if not deltas:
        return
    names = {f"#s{i}": s.value for i, s in enumerate(deltas)}
    values = {f":d{i}": {"N": str(d)} for i, d in enumerate(deltas.values())}
    dynamo.client().update_item(
        TableName=_table(),
        Key=dynamo.to_item({"pk": f"SOURCE#{source}", "sk": f"COUNT#{channel.value}"}),
        UpdateExpression="ADD " + ", ".join(f"#s{i} :d{i}" for i in range(len(deltas))),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def claim_delivery(notification: Notification, channel: Channel, status: DeliveryStatus, now: datetime) -> bool:
    """Create the (notification, channel) delivery record at `status` once; False when it exists (this delivery
    was planned before: do nothing). Counts the source on success."""
    return claim_deliveries([(notification, channel, status)], now)[0]


def claim_deliveries(claims: Sequence[tuple[Notification, Channel, DeliveryStatus]], now: datetime) -> list[bool]:
    """`claim_delivery` for many at once: conditional puts, up to 100 per transaction; True for each created."""
    created = _transact_each([[_delivery_create(n, c, s, now)] for n, c, s in claims])
    counts: dict[tuple[str, Channel], dict[DeliveryStatus, int]] = {}
    for (notification, channel, status), new in zip(claims, created, strict=True):
        if new:
            per = counts.setdefault((notification.source, channel), {})
            per[status] = per.get(status, 0) + 1
    for (source, channel), deltas in counts.items():
        _bump(source, channel, deltas)
    return created


def finish_delivery(
    notification_id: str,
    channel: Channel,
    status: DeliveryStatus,
    now: datetime,
    detail: str | None = None,
    counts: Counts | None = None,
) -> bool:
    """Move an open delivery (QUEUED|HELD) to a final status, once: False when it is already final or unknown
    (a redelivered message: do nothing). The source's counts follow the move: at once, or gathered in `counts`
    for the caller's `bump_counts` (a crash in between undercounts, never doubles)."""
    if status not in FINAL:
        raise ValueError(f"{status} is not a final delivery status")
    clause = "SET #s = :s, updated_at = :now" + (", detail = :d" if detail is not None else "")
    values: dict[str, Any] = {
        ":s": {"S": status.value},
        ":now": {"S": clock.to_iso(now)},
        ":q": {"S": DeliveryStatus.QUEUED.value},
        ":h": {"S": DeliveryStatus.HELD.value},
    }
    if detail is not None:
        values[":d"] = {"S": detail[:1000]}
    try:
        answer = dynamo.client().update_item(
            TableName=_table(),
            Key=dynamo.to_item(_delivery_key(notification_id, channel)),
            UpdateExpression=clause,
            ConditionExpression="#s IN (:q, :h)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return False
        raise
    old = dynamo.from_item(answer["Attributes"])
    deltas = {status: 1, DeliveryStatus(old["status"]): -1}
    if counts is None:
        _bump(str(old["source"]), channel, deltas)
    else:
        gathered = counts.setdefault((str(old["source"]), channel), {})
        for key, delta in deltas.items():
            gathered[key] = gathered.get(key, 0) + delta
    return True


# The send lease of an external channel's delivery record: the one extra attribute `lease_until` its dispatcher
# sets before it calls a provider. SQS may hand one message to two invocations at once (a duplicate, or a
# visibility timeout that ran out); the status check alone would let both call Discord or Telegram, which have no
# idempotency keys. Taking the lease is a conditional update (the record is still open and nobody else's lease
# runs), so exactly one of them calls the provider; if its holder dies, the lease runs out and the next delivery
# of the message takes it again.


def take_lease(notification_id: str, channel: Channel, now: datetime, until: datetime) -> bool:
    """Take the send lease of an open delivery until `until`; False when the delivery is final, unknown or
    leased by someone else whose lease still runs."""
    try:
        dynamo.client().update_item(
            TableName=_table(),
            Key=dynamo.to_item(_delivery_key(notification_id, channel)),
            UpdateExpression="SET lease_until = :until",
            ConditionExpression="#s IN (:q, :h) AND (attribute_not_exists(lease_until) OR lease_until < :now)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":until": {"S": clock.to_iso(until)},
                ":now": {"S": clock.to_iso(now)},
                ":q": {"S": DeliveryStatus.QUEUED.value},
                ":h": {"S": DeliveryStatus.HELD.value},
            },
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return False
        raise
    return True


def lease_delivery(notification: Notification, channel: Channel, now: datetime, until: datetime) -> bool:
    """`take_lease` for a delivery the planner queued without a record: one conditional update creates the record
    QUEUED with the lease, or takes the lease of the open record there (planned HELD, or created by an earlier
    lease that ran out). False when the delivery is final or someone else's lease still runs."""
    try:
        dynamo.client().update_item(
            TableName=_table(),
            Key=dynamo.to_item(_delivery_key(notification.notification_id, channel)),
            UpdateExpression="SET lease_until = :until, #s = if_not_exists(#s, :q), updated_at = :now, "
            "user_id = if_not_exists(user_id, :u), #src = if_not_exists(#src, :src), #t = if_not_exists(#t, :t), "
            "created_at = if_not_exists(created_at, :now), expires_at = if_not_exists(expires_at, :exp)",
            ConditionExpression="attribute_not_exists(pk) OR "
            "(#s IN (:q, :h) AND (attribute_not_exists(lease_until) OR lease_until < :now))",
            ExpressionAttributeNames={"#s": "status", "#src": "source", "#t": "type"},
            ExpressionAttributeValues={
                ":until": {"S": clock.to_iso(until)},
                ":now": {"S": clock.to_iso(now)},
                ":q": {"S": DeliveryStatus.QUEUED.value},
                ":h": {"S": DeliveryStatus.HELD.value},
                ":u": {"S": notification.user_id},
                ":src": {"S": notification.source},
                ":t": {"S": notification.type.value},
                ":exp": {"N": str(_expiry(now, DELIVERY_RETENTION))},
            },
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return False
        raise
    return True


def release_lease(notification_id: str, channel: Channel) -> None:
    """Give the lease back (the provider asked to wait: the next delivery of the message must find it free)."""
    try:
        dynamo.client().update_item(
            TableName=_table(),
            Key=dynamo.to_item(_delivery_key(notification_id, channel)),
            UpdateExpression="REMOVE lease_until",
            ConditionExpression="attribute_exists(pk)",
        )
    except ClientError as error:
        if not dynamo.is_conditional_failure(error):
            raise


def delivery(notification_id: str, channel: Channel) -> DeliveryRecord | None:
    key = _delivery_key(notification_id, channel)
    values = _get(key["pk"], key["sk"])
    if values is None:
        return None
    return DeliveryRecord(
        notification_id=notification_id,
        channel=channel,
        status=DeliveryStatus(values["status"]),
        user_id=values.get("user_id", ""),
        source=values["source"],
        created_at=clock.from_iso(values["created_at"]),
        updated_at=clock.from_iso(values["updated_at"]),
        detail=values.get("detail"),
    )


def deliveries(keys: Sequence[tuple[str, Channel]]) -> dict[tuple[str, Channel], DeliveryStatus]:
    """The status of many delivery records at once (BatchGetItem); unknown ones are absent."""
    found = dynamo.batch_get(_table(), [_delivery_key(n, c) for n, c in keys])
    return {
        (str(v["pk"]).removeprefix("NOTIFICATION#"), Channel(str(v["sk"]).removeprefix("DELIVERY#"))): DeliveryStatus(
            v["status"]
        )
        for v in found
    }


def page_planned(source: str, page: str) -> bool:
    """Whether a planner page of this source finished (every delivery of it queued or held)."""
    return _get(f"PLAN#{source}", f"PAGE#{page}") is not None


def mark_page_planned(source: str, page: str, now: datetime) -> bool:
    """Mark a page finished; False when it was already (two copies of one page ran at once): only the call that
    marks it counts the page's in-app notifications."""
    item: dict[str, Any] = {"pk": f"PLAN#{source}", "sk": f"PAGE#{page}", "at": clock.to_iso(now)}
    item["expires_at"] = _expiry(now, DELIVERY_RETENTION)
    try:
        dynamo.client().put_item(
            TableName=_table(), Item=dynamo.to_item(item), ConditionExpression="attribute_not_exists(pk)"
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return False
        raise
    return True


def source_counts(source: str) -> dict[Channel, dict[DeliveryStatus, int]]:
    """Delivery counts of one source per channel and status (statuses never reached are 0)."""
    counts = {c: dict.fromkeys(DeliveryStatus, 0) for c in Channel}
    for values in _query_all(f"SOURCE#{source}", "COUNT#"):
        channel = Channel(str(values["sk"]).removeprefix("COUNT#"))
        for status in DeliveryStatus:
            counts[channel][status] = int(values.get(status.value, 0))
    return counts


# ------------------------------------------------------------------------------------------------ holds


@dataclass(frozen=True)
class Hold:
    """Something the minute sweep does at `minute` (UTC, yyyy-mm-ddThh:mm): queue a HELD delivery
    (`notification` on `channel`), or send a user's digest of `day` (`user_id`, `day`)."""

    minute: str
    notification: Notification | None = None
    channel: Channel | None = None
    user_id: str | None = None
    day: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sort_key(self) -> str:
        if self.notification is not None and self.channel is not None:
            return f"{self.notification.notification_id}#{self.channel.value}"
        return f"DIGEST#{self.user_id}#{self.day}"


def held_delivery(notification: Notification, channel: Channel, not_before: datetime) -> Hold:
    return Hold(hold_minute(not_before), notification=notification, channel=channel)


def digest_hold(user_id: str, day: str, due: datetime) -> Hold:
    return Hold(hold_minute(due), user_id=user_id, day=day)


def add_holds(holds: Sequence[Hold], now: datetime) -> None:
    """Idempotent (keyed by what is held)."""
    items = []
    for hold in holds:
        item: dict[str, Any] = {
            "pk": f"HOLD#{hold.minute}",
            "sk": hold.sort_key,
            "expires_at": _expiry(now, HOLD_RETENTION + timedelta(days=2)),
        }
        if hold.notification is not None and hold.channel is not None:
            item["notification"] = json.dumps(
                notification_to_dict(hold.notification), separators=(",", ":"), default=str
            )
            item["channel"] = hold.channel.value
        else:
            item["user_id"] = hold.user_id
            item["day"] = hold.day
        items.append(item)
    dynamo.batch_write(_table(), items)


def holds_at(minute: str) -> list[Hold]:
    """Everything held until that minute."""
    found: list[Hold] = []
    for values in _query_all(f"HOLD#{minute}", ""):
        if "notification" in values:
            found.append(
                Hold(
                    minute,
                    notification=notification_from_dict(json.loads(values["notification"])),
                    channel=Channel(values["channel"]),
                )
            )
        else:
            found.append(Hold(minute, user_id=values["user_id"], day=values["day"]))
    return found


def remove_holds(holds: Sequence[Hold]) -> None:
    dynamo.batch_write(_table(), [], [{"pk": f"HOLD#{h.minute}", "sk": h.sort_key} for h in holds])


def swept_until() -> str | None:
    """The last minute the sweep finished (SWEEP / MINUTE), None before its first run."""
    values = _get("SWEEP", "MINUTE")
    return str(values["minute"]) if values else None


def set_swept_until(minute: str) -> None:
    """Move the sweep's mark forward (never back: two overlapping sweeps leave the later minute)."""
    try:
        dynamo.client().put_item(
            TableName=_table(),
            Item=dynamo.to_item({"pk": "SWEEP", "sk": "MINUTE", "minute": minute}),
            ConditionExpression="attribute_not_exists(pk) OR #m < :m",
            ExpressionAttributeNames={"#m": "minute"},
            ExpressionAttributeValues={":m": {"S": minute}},
        )
    except ClientError as error:
        if not dynamo.is_conditional_failure(error):
            raise
