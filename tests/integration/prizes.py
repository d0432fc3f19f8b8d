"""Prize test helpers shared by the distribution and the claim tests: a COMPLETED event with frozen results seeded
directly (fast), the distribution routes, a queue subscribed to the domain-event bus, and the ledger's balances."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3

from tests.conftest import api_event
from tests.integration.conftest import Arena, Reply

NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)
OPEN = {"min_volume": "0", "min_trades": 0}
PRIZES = [
    {"rank_from": 1, "rank_to": 1, "type": "points", "amount": "1000"},
    {"rank_from": 2, "rank_to": 2, "type": "points", "amount": "250.5"},
    {"rank_from": 3, "rank_to": 3, "type": "token", "amount": "100", "token": "USDT"},
    {"rank_from": 4, "rank_to": 4, "type": "custom", "description": "Signed hardware wallet"},
    {"rank_from": 5, "rank_to": 10, "type": "points", "amount": "10"},
]
# (user, score, qualified): "eve" did not qualify, so the prizes roll down past her.
CROWD = [("ann", "900"), ("bob", "800"), ("eve", "700"), ("cid", "600"), ("dan", "500"), ("fay", "400")]
UNQUALIFIED = {"eve"}


# ---------------------------------------------------------------------------------------------- helpers


PATTERN = {"source": ["arena"], "detail-type": [{"anything-but": ["EventPublished"]}]}


class Bus:
    """An SQS queue subscribed to everything Arena publishes, but EventPublished: every seeded event publishes it, and
    it is tested with the other notification sources (tests/integration/test_notification_sources.py)."""

    def __init__(self) -> None:
        self.sqs = boto3.client("sqs")
        self.url = self.sqs.create_queue(QueueName="arena-prize-events")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = boto3.client("events")
        bus = os.environ["EVENT_BUS_NAME"]
        events.put_rule(Name="all-prizes", EventBusName=bus, EventPattern=json.dumps(PATTERN))
        events.put_targets(Rule="all-prizes", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        found = []
        while messages := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                envelope = json.loads(message["Body"])
                found.append((envelope["detail-type"], envelope["detail"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return found


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def seeded_event(
    arena: Arena,
    *,
    prizes: list[dict[str, Any]] | None = None,
    crowd: list[tuple[str, str]] = CROWD,
    unqualified: set[str] = UNQUALIFIED,
    claims: dict[str, Any] | None = None,
    complete: bool = True,
    claim: dict[str, Any] | None = None,
) -> str:
    """An event with the prize table, and (complete=True) COMPLETED with the crowd's results frozen."""
    from arena.domain.events import EventStatus
    from arena.store import events as event_store
    from arena.store import results

    event_id = arena.new_event(
        claims,
        start_at=iso(NOON + timedelta(hours=1)),
        end_at=iso(NOON + timedelta(hours=2)),
        prizes=PRIZES if prizes is None else prizes,
        qualification=OPEN,
        claim=claim or {"mode": "auto"},
    )["id"]
    if not complete:
        return event_id
    prize_rank = 0
    frozen = []
    for rank, (user, score) in enumerate(crowd, start=1):
        qualified = user not in unqualified
        prize_rank += qualified
        frozen.append(
            {
                "rank": rank,
                "prize_rank": prize_rank if qualified else None,
                "user_id": user,
                "score": Decimal(score),
                "trade_count": 3,
                "qualified": qualified,
                "rule": "score desc, earliest reached, earliest joined",
                "generation": 7,
                "frozen_at": iso(NOON),
            }
        )
    results.write(event_id, frozen)
    assert event_store.set_status(event_id, tuple(EventStatus), EventStatus.COMPLETED, NOON) is not None
    return event_id


def prize_route(arena: Arena, name: str, event_id: str, claims: dict[str, Any] | None = None, **extra: Any) -> Reply:
    body = extra.pop("body", None)
    return arena.call(
        f"prizes/{name}",
        api_event(f"prizes/{name}.json", path={"eventId": event_id, **extra}, body=body, claims=claims),
    )


def distribute(arena: Arena, event_id: str, claims: dict[str, Any] | None = None) -> Reply:
    return prize_route(arena, "distribute_prizes", event_id, claims)


def balances() -> dict[str, Decimal]:
    from arena.services import ledger

    return {account: amount for account, amount in ledger.trial_balance().items() if amount != 0}
