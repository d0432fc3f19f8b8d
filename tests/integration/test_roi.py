"""ROI events: realised PnL divided by starting equity plus net deposits, from the exchange's account feed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.conftest import api_event
from tests.integration.conftest import Arena, trade


def _post_equity(arena: Arena, updates: list[dict[str, Any]], claims: dict[str, Any] | None = None) -> Any:
    event = api_event("trades/ingest_equity.json", body={"updates": updates}, claims=claims)
    if claims is not None:
        event["requestContext"]["authorizer"]["jwt"]["scopes"] = None  # a person's token, not the feed's
    return arena.call("trades/ingest_equity", event)


def _equity(update_id: str, user: str, kind: str, amount: str, at: str = "2026-12-01T08:00:00Z") -> dict[str, str]:
    return {"update_id": update_id, "user_id": user, "kind": kind, "amount": amount, "at": at}


def _roi_event(arena: Arena) -> str:
    return arena.new_event(ranking_metric="roi", join_required=False, max_participants=None, markets=[])["id"]


def test_roi_ranks_by_pnl_over_equity_and_follows_deposits(arena: Arena) -> None:
    """Given an ROI event, ann with 10,000 and bob with 5,000 of starting equity
    When ann realises +500 (5%) and bob +400 (8%) Then bob leads;
    When bob deposits 5,000 more (equity 10,000, ROI 4%) Then ann leads, with exact decimal scores."""
    event_id = _roi_event(arena)
    reply = _post_equity(
        arena, [_equity("E1", "ann", "starting_equity", "10000"), _equity("E2", "bob", "starting_equity", "5000")]
    )
    assert (reply.status, reply.body["applied"], reply.body["duplicates"]) == (200, 2, 0), reply
    assert (
        arena.ingest(
            [
                trade("T-ann", "ann", "2026-12-01T09:00:00Z", realized_pnl="500"),
                trade("T-bob", "bob", "2026-12-01T09:00:01Z", realized_pnl="400"),
            ]
        ).body["accepted"]
        == 2
    )
    board = arena.leaderboard(event_id).body
    assert [(e["user_id"], Decimal(e["score"])) for e in board["entries"]] == [
        ("bob", Decimal("0.08")),
        ("ann", Decimal("0.05")),
    ]

    assert _post_equity(arena, [_equity("E3", "bob", "deposit", "5000", "2026-12-01T10:00:00Z")]).body["applied"] == 1
    board = arena.leaderboard(event_id).body
    assert [(e["user_id"], Decimal(e["score"])) for e in board["entries"]] == [
        ("ann", Decimal("0.05")),
        ("bob", Decimal("0.04")),
    ]


def test_equity_updates_count_once_and_unknown_equity_is_not_ranked(arena: Arena) -> None:
    """Given an ROI event When an equity update is sent twice Then the second is a duplicate; and a trader with
    PnL but no starting equity is not on the board (ROI is undefined), though their trades count."""
    event_id = _roi_event(arena)
    first = _post_equity(arena, [_equity("E1", "ann", "starting_equity", "3000")])
    again = _post_equity(arena, [_equity("E1", "ann", "starting_equity", "3000")])
    assert (first.body["applied"], again.body["applied"], again.body["duplicates"]) == (1, 0, 1)
    arena.ingest(
        [
            trade("T-1", "ann", "2026-12-01T09:00:00Z", realized_pnl="1"),
            trade("T-2", "cy", "2026-12-01T09:00:00Z", realized_pnl="900"),
        ]
    )
    board = arena.leaderboard(event_id).body
    assert [(e["user_id"], e["score"]) for e in board["entries"]] == [("ann", "0.0003333333")]  # half-even, 10 dp


def test_equity_feed_is_for_the_service_and_validates_each_update(arena: Arena) -> None:
    """Given the sample payload When a trader sends it Then 403; when the feed sends a bad update among good ones
    Then the bad one is rejected with its index and the rest apply; with no ROI event they are ignored."""
    user = {"sub": "trader-1", "cognito:groups": "[user]"}
    assert _post_equity(arena, [_equity("E1", "ann", "deposit", "1")], claims=user).status == 403
    reply = _post_equity(arena, [_equity("E1", "ann", "deposit", "-5"), _equity("E2", "ann", "deposit", "5")])
    assert reply.status == 200
    assert [(r["index"], r["code"]) for r in reply.body["rejected"]] == [(0, "invalid_update")]
    assert [(i["update_id"], i["reason"]) for i in reply.body["ignored"]] == [("E2", "no_roi_event")]
