"""The CommunityTable: profiles, public handles, events joined, follows, referral codes and referrals.

Layout (pk / sk):
- `PROFILE#<user>` / `PROFILE`: the trader's public-profile choice (public, display name, colour, show_prizes)
- `HANDLE#<handle>` / `USER`: the user behind a public handle (written whenever the handle is handed out)
- `USER#<user>` / `JOINED#<event>`: an event the trader joined (written at join: a profile lists them)
- `FOLLOW#<follower>` / `<followed user>`: one follow
- `REFCODE#<code>` / `USER`: the referrer behind a referral code
- `REFERRED#<invitee>` / `REFERRAL`: who referred the invitee, first join only (an invitee is counted once)
- `REFCOUNT#<event>` / `<referrer>`: how many invitees joined that event through the referrer's links
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arena import clock
from arena.config import settings
from arena.store import dynamo


@dataclass(frozen=True)
class ProfileRecord:
    user_id: str
    public: bool = False
    display_name: str | None = None
    colour: str | None = None
    show_prizes: bool = False
    updated_at: datetime | None = None


@dataclass(frozen=True)
class ReferralCount:
    event_id: str
    referrer: str
    count: int


def _table() -> str:
    return settings().community_table


def _client() -> Any:
    return dynamo.client()


def _is_condition_failure(error: Exception) -> bool:
    return getattr(error, "response", {}).get("Error", {}).get("Code") in (
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    )


def get_profile(user_id: str) -> ProfileRecord:
    """The trader's choice; a trader who never chose is not public."""
    item = _client().get_item(
        TableName=_table(), Key={"pk": {"S": f"PROFILE#{user_id}"}, "sk": {"S": "PROFILE"}}, ConsistentRead=True
    )
    if "Item" not in item:
        return ProfileRecord(user_id=user_id)
    v = dynamo.from_item(item["Item"])
    return ProfileRecord(
        user_id=user_id,
        public=bool(v.get("public")),
        display_name=v.get("display_name"),
        colour=v.get("colour"),
        show_prizes=bool(v.get("show_prizes")),
        updated_at=clock.from_iso(v["updated_at"]) if v.get("updated_at") else None,
    )


def get_profiles(user_ids: list[str]) -> dict[str, ProfileRecord]:
    """Several profiles in BatchGetItem rounds; whoever has none is not public."""
    found = {u: ProfileRecord(user_id=u) for u in user_ids}
    unique = list(dict.fromkeys(user_ids))
    for start in range(0, len(unique), 100):
        keys = [{"pk": {"S": f"PROFILE#{u}"}, "sk": {"S": "PROFILE"}} for u in unique[start : start + 100]]
        request: dict[str, Any] = {_table(): {"Keys": keys}}
        while request:
            answer = _client().batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(_table(), []):
                v = dynamo.from_item(item)
                user_id = v["pk"].removeprefix("PROFILE#")
                found[user_id] = ProfileRecord(
                    user_id=user_id,
                    public=bool(v.get("public")),
                    display_name=v.get("display_name"),
                    colour=v.get("colour"),
                    show_prizes=bool(v.get("show_prizes")),
                )
            request = answer.get("UnprocessedKeys") or {}
    return found


def put_profile(record: ProfileRecord, handle: str) -> None:
    """The choice and the handle's owner, in one transaction (the profile is reachable by handle at once)."""
    values = {
        "pk": f"PROFILE#{record.user_id}",
        "sk": "PROFILE",
        "public": record.public,
        "display_name": record.display_name,
        "colour": record.colour,
        "show_prizes": record.show_prizes,
        "updated_at": clock.to_iso(record.updated_at) if record.updated_at else None,
    }
    _client().transact_write_items(
        TransactItems=[
            {"Put": {"TableName": _table(), "Item": dynamo.to_item(values)}},
            {"Put": {"TableName": _table(), "Item": _handle_item(handle, record.user_id)}},
        ]
    )


def _handle_item(handle: str, user_id: str) -> dict[str, Any]:
    return dynamo.to_item({"pk": f"HANDLE#{handle}", "sk": "USER", "user_id": user_id})


def put_handle(handle: str, user_id: str) -> None:
    """Idempotent: a handle always names the same user."""
    _client().put_item(TableName=_table(), Item=_handle_item(handle, user_id))


def user_of_handle(handle: str) -> str | None:
    item = _client().get_item(TableName=_table(), Key={"pk": {"S": f"HANDLE#{handle}"}, "sk": {"S": "USER"}})
    return item["Item"]["user_id"]["S"] if "Item" in item else None


def record_joined(user_id: str, event_id: str, at: datetime) -> None:
    """Idempotent (a put of the same key)."""
    values = {"pk": f"USER#{user_id}", "sk": f"JOINED#{event_id}", "event_id": event_id, "at": clock.to_iso(at)}
    _client().put_item(TableName=_table(), Item=dynamo.to_item(values))


def events_joined(user_id: str, limit: int = 100) -> list[str]:
    """Newest event ids last-written first is not kept: event ids are ULIDs, so the newest event first."""
    answer = _client().query(
        TableName=_table(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :j)",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}, ":j": {"S": "JOINED#"}},
        ScanIndexForward=False,
        Limit=limit,
    )
    return [i["event_id"]["S"] for i in answer.get("Items", [])]


def follow(follower: str, followed: str, at: datetime) -> None:
    values = {"pk": f"FOLLOW#{follower}", "sk": followed, "at": clock.to_iso(at)}
    _client().put_item(TableName=_table(), Item=dynamo.to_item(values))


def unfollow(follower: str, followed: str) -> None:
    _client().delete_item(TableName=_table(), Key={"pk": {"S": f"FOLLOW#{follower}"}, "sk": {"S": followed}})


def following(follower: str, limit: int = 200) -> list[str]:
    answer = _client().query(
        TableName=_table(),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"FOLLOW#{follower}"}},
        Limit=limit,
    )
    return [i["sk"]["S"] for i in answer.get("Items", [])]


def put_referral_code(code: str, user_id: str) -> None:
    _client().put_item(
        TableName=_table(), Item=dynamo.to_item({"pk": f"REFCODE#{code}", "sk": "USER", "user_id": user_id})
    )


def referrer_of_code(code: str) -> str | None:
    item = _client().get_item(TableName=_table(), Key={"pk": {"S": f"REFCODE#{code}"}, "sk": {"S": "USER"}})
    return item["Item"]["user_id"]["S"] if "Item" in item else None


def record_referral(invitee: str, referrer: str, event_id: str, at: datetime) -> bool:
    """The invitee's referral and the referrer's count for the event, in one transaction; False (nothing written)
    when the invitee was already referred: an invitee counts once, whatever they join later."""
    marker = {"pk": f"REFERRED#{invitee}", "sk": "REFERRAL", "referrer": referrer, "event_id": event_id}
    marker["at"] = clock.to_iso(at)
    try:
        _client().transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": _table(),
                        "Item": dynamo.to_item(marker),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": _table(),
                        "Key": {"pk": {"S": f"REFCOUNT#{event_id}"}, "sk": {"S": referrer}},
                        "UpdateExpression": "ADD referrals :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )
    except Exception as error:
        if _is_condition_failure(error):
            return False
        raise
    return True


def referral_counts(event_id: str) -> list[ReferralCount]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"REFCOUNT#{event_id}"}},
    }
    while True:
        answer = _client().query(**params)
        items.extend(answer.get("Items", []))
        if "LastEvaluatedKey" not in answer:
            break
        params["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
    return [ReferralCount(event_id, i["sk"]["S"], int(i["referrals"]["N"])) for i in items]
