"""The naive design the snapshots replace: a leaderboard GSI on the participants' items, read directly.

* table: the participants' items as they are (key event_id, user_id), copied from the participants table;
* GSI ``by_board``: (event_id HASH, board_key RANGE), INCLUDE score and trade_count (sparse: only participants
  with a board key are in it);
* top-100: one Query on the GSI, descending, Limit 100;
* my rank: the participant's own item (for its board key), then Query ``board_key > mine`` with Select=COUNT,
  following LastEvaluatedKey (each page stops at 1 MB read), + 1;
* around me: my rank, plus two Limit-5 queries just above and just below.

DynamoDB (and DynamoDB Local) charges a COUNT query for the items it reads, not the count it returns, so the read
units of "my rank" grow with the rank.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

INDEX = "by_board"


def table_definition(name: str) -> dict[str, Any]:
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "event_id", "AttributeType": "S"},
            {"AttributeName": "user_id", "AttributeType": "S"},
            {"AttributeName": "board_key", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "event_id", "KeyType": "HASH"},
            {"AttributeName": "user_id", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": INDEX,
                "KeySchema": [
                    {"AttributeName": "event_id", "KeyType": "HASH"},
                    {"AttributeName": "board_key", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["score", "trade_count"]},
            }
        ],
    }


def create_and_copy(admin: Any, source_table: str, name: str, segments: int = 4) -> int:
    """Create the naive table and copy every participant item into it (parallel Scan segments, BatchWriteItem).
    Uses `admin`, a client nobody counts: this is set-up, not a measured figure. Returns the items copied."""
    admin.create_table(**table_definition(name))
    admin.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    copied = 0
    lock = threading.Lock()

    def copy_segment(segment: int) -> None:
        nonlocal copied
        kwargs: dict[str, Any] = {"TableName": source_table, "Segment": segment, "TotalSegments": segments}
        while True:
            page = admin.scan(**kwargs)
            items = page.get("Items", [])
            for start in range(0, len(items), 25):
                pending: dict[str, Any] = {name: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
                while pending:
                    pending = admin.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            with lock:
                copied += len(items)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    with ThreadPoolExecutor(max_workers=segments) as pool:
        list(pool.map(copy_segment, range(segments)))
    return copied


class NaiveLeaderboard:
    """The three reads of the naive design, on a (counted) client of its own."""

    def __init__(self, client: Any, table: str, event_id: str) -> None:
        self.client = client
        self.table = table
        self.event_id = event_id

    def _entries(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"user_id": i["user_id"]["S"], "score": i["score"]["N"], "trade_count": int(i["trade_count"]["N"])}
            for i in items
        ]

    def top(self, limit: int = 100) -> list[dict[str, Any]]:
        page = self.client.query(
            TableName=self.table,
            IndexName=INDEX,
            KeyConditionExpression="event_id = :e",
            ExpressionAttributeValues={":e": {"S": self.event_id}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return self._entries(page.get("Items", []))

    def board_key(self, user_id: str) -> str | None:
        """The participant's own item (its board key): the first read of my rank and around me."""
        answer = self.client.get_item(
            TableName=self.table,
            Key={"event_id": {"S": self.event_id}, "user_id": {"S": user_id}},
            ProjectionExpression="board_key",
            ConsistentRead=True,
        )
        return answer.get("Item", {}).get("board_key", {}).get("S")

    def rank_of_key(self, key: str) -> int:
        """1 + the number of index entries above the key: a COUNT query, every page of it."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": INDEX,
            "KeyConditionExpression": "event_id = :e AND board_key > :k",
            "ExpressionAttributeValues": {":e": {"S": self.event_id}, ":k": {"S": key}},
            "Select": "COUNT",
        }
        above = 0
        while True:
            page = self.client.query(**kwargs)
            above += page["Count"]
            if "LastEvaluatedKey" not in page:
                return above + 1
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def my_rank(self, user_id: str) -> tuple[str | None, int | None]:
        """(board key, rank): GetItem, then the COUNT."""
        key = self.board_key(user_id)
        return key, (self.rank_of_key(key) if key else None)

    def neighbours(self, key: str, n: int = 5) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Up to n entries just above (best first) and just below: two Limit-n queries."""
        common = {
            "TableName": self.table,
            "IndexName": INDEX,
            "ExpressionAttributeValues": {":e": {"S": self.event_id}, ":k": {"S": key}},
            "Limit": n,
        }
        above = self.client.query(
            KeyConditionExpression="event_id = :e AND board_key > :k", ScanIndexForward=True, **common
        )
        below = self.client.query(
            KeyConditionExpression="event_id = :e AND board_key < :k", ScanIndexForward=False, **common
        )
        return self._entries(list(reversed(above.get("Items", [])))), self._entries(below.get("Items", []))

    def around_me(self, user_id: str, n: int = 5) -> tuple[list[dict[str, Any]], int | None, list[dict[str, Any]]]:
        """My rank plus the neighbours (the harness measures the two parts separately; this is the whole call)."""
        key, rank = self.my_rank(user_id)
        if key is None:
            return [], None, []
        above, below = self.neighbours(key, n)
        return above, rank, below
