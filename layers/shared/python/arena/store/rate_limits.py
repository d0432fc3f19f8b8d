"""The rate-limits table, the only code that talks to it: one item per bucket (`bucket` = caller#route) holding
the bucket's theoretical arrival time `tat` (integer microseconds) and its TTL `expires_at`.

Every request is one conditional UpdateItem that admits it only if the bucket still holds what the caller
expected (arena/domain/rate_limits.py `Step`); a refused condition hands back the stored TAT with it
(ReturnValuesOnConditionCheckFailure), so a wrong guess costs a second write, never a read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from arena.config import settings
from arena.domain.rate_limits import Step
from arena.store import dynamo


@dataclass(frozen=True)
class Attempt:
    """What one conditional write did: `written` with the TAT it stored, or not with the TAT it found
    (None: the bucket has no item)."""

    written: bool
    tat: int | None


def advance(
    bucket: str, step: Step, *, now: int, interval: int, tolerance: int, expires_at: int, client: Any = None
) -> Attempt:
    """Admit one request into `bucket` by `step`, if the bucket is still in that step's range at `now`."""
    values: dict[str, Any] = {":now": {"N": str(now)}, ":exp": {"N": str(expires_at)}}
    if step is Step.FROM_NOW:
        update = "SET #tat = :next, #exp = :exp"
        condition = "attribute_not_exists(#tat) OR #tat <= :now"
        values[":next"] = {"N": str(now + interval)}
    else:
        update = "SET #tat = #tat + :interval, #exp = :exp"
        condition = "#tat > :now AND #tat <= :ceiling"
        values[":interval"] = {"N": str(interval)}
        values[":ceiling"] = {"N": str(now + tolerance)}
    try:
        answer = (client or dynamo.client()).update_item(
            TableName=settings().rate_limits.table,
            Key={"bucket": {"S": bucket}},
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#tat": "tat", "#exp": "expires_at"},
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if not dynamo.is_conditional_failure(error):
            raise
        return Attempt(False, _tat(error.response.get("Item")))
    return Attempt(True, _tat(answer.get("Attributes")))


def _tat(item: dict[str, Any] | None) -> int | None:
    if not item or "tat" not in item:
        return None
    return int(item["tat"]["N"])


def stored_tat(bucket: str, client: Any = None) -> int | None:
    """The bucket's TAT as stored (tests, tools)."""
    item = (
        (client or dynamo.client())
        .get_item(TableName=settings().rate_limits.table, Key={"bucket": {"S": bucket}}, ConsistentRead=True)
        .get("Item")
    )
    return _tat(item)
