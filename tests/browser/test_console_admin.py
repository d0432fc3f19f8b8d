"""The admin console's other screens in a real browser, in order on one local stack: the claims review queue, a
custom prize to fulfil and a refused rollback on a paid event; a rollback that takes an unclaimed distribution back;
extending and cancelling an event; granting and revoking a role with its audit trail; analytics (the dashboard,
the comparison of two events, one event's figures and its export). Each journey saves screenshots and checks what a
person would look for on them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, buys, new_page, sign_in
from tests.e2e.conftest import ArenaClient, eventually, iso

pytestmark = pytest.mark.e2e

ADMIN = "ada"
FLAGGED, CUSTOM_WINNER, POINTS_WINNER = "tess", "cody", "pia"
CUSTOM_PRIZE = "Signed hardware wallet"
# What the journeys share, in order (the tests of one file run in order on one worker).
seeded: dict[str, Any] = {}


def _ok(reply: Any, *statuses: int) -> Any:
    assert reply.status in (statuses or (200,)), (reply.status, reply.body)
    return reply.body


def _completed_event(stack: ArenaClient, name: str, prizes: list[dict[str, Any]], volumes: dict[str, str]) -> str:
    """An event that ran a minute with these traders' trades (100 a unit), ended by hand and COMPLETED."""
    admin = stack.token(ADMIN, ["admin"])
    feed = stack.token("admin-journeys-feed", ["service"])
    now = datetime.now(UTC)
    body = {
        "name": name,
        "start_at": iso(now - timedelta(minutes=1)),
        "end_at": iso(now + timedelta(hours=1)),
        "markets": ["BTC-USDT"],
        "qualification": {"min_volume": "0", "min_trades": 1},
        "prizes": prizes,
        "claim": {"mode": "manual", "window_days": 7},
    }
    event_id = _ok(stack.call("POST", "/api/events", admin, body), 201)["id"]
    eventually("ACTIVE", lambda: stack.call("GET", f"/api/events/{event_id}", admin).body["status"] == "ACTIVE")
    for user in volumes:
        _ok(stack.call("POST", f"/api/events/{event_id}/join", stack.token(user, ["user"])), 201)
    trades = buys(event_id, volumes)
    assert _ok(stack.call("POST", "/api/trades", feed, {"trades": trades}))["accepted"] == len(trades)
    eventually(
        "every trader on the board",
        lambda: stack.call("GET", f"/api/events/{event_id}/leaderboard", admin).body["total"] == len(volumes),
    )
    _ok(stack.call("POST", f"/api/events/{event_id}/end", admin, {"reason": "journey over"}))
    eventually("COMPLETED", lambda: stack.call("GET", f"/api/events/{event_id}", admin).body["status"] == "COMPLETED")
    return event_id


def _prize_of(stack: ArenaClient, user: str, event_id: str) -> dict[str, Any]:
    """The user's one prize in the event, as its managers read it (status included, whatever it is)."""
    path = f"/api/events/{event_id}/prizes/users/{user}"
    awards = _ok(stack.call("GET", path, stack.token(ADMIN, ["admin"])))["awards"]
    assert len(awards) == 1, awards
    return dict(awards[0])


def _prize_id(stack: ArenaClient, user: str, event_id: str) -> str:
    """The id the owner claims with, from their open prizes."""
    prizes = _ok(stack.call("GET", "/api/events/prizes/me", stack.token(user, ["user"])))["prizes"]
    return str(next(p for p in prizes if p["event_id"] == event_id)["prize_id"])


def _distribute_in_the_console(page: Any, base_url: str, event_id: str) -> Any:
    page.goto(f"{base_url}/admin/events/{event_id}/prizes")
    page.locator("h1 .badge").filter(has_text="COMPLETED").wait_for()
    page.get_by_role("button", name="Distribute prizes").click()
    distribution = page.get_by_test_id("distribution")
    distribution.locator("h2 .badge").filter(has_text="COMPLETED").wait_for(timeout=90_000)
    return distribution


def test_admin_reviews_a_held_claim_fulfils_a_custom_prize_and_cannot_roll_back_paid_prizes(
    stack: ArenaClient, browser: Any, shots: Any
) -> None:
    """Given a completed event paying 100 USDT to rank 1 (an account the exchange flagged), a signed hardware wallet
    to rank 2 and 50 points to rank 3, distributed in the console
    When the three winners claim, and the admin approves the held claim with a reason, marks the custom prize
    fulfilled with a reason, and tries to roll the distribution back
    Then the review queue shows the flagged claim with why it was held, and is empty once approved (the payout is
    requested from the exchange); the custom prize waits to be fulfilled and is FULFILLED after; the rollback reverses
    nothing and lists all three prizes as refused (claimed, paid out or fulfilled)."""
    prizes = [
        {"rank_from": 1, "rank_to": 1, "type": "token", "token": "USDT", "amount": "100"},
        {"rank_from": 2, "rank_to": 2, "type": "custom", "description": CUSTOM_PRIZE},
        {"rank_from": 3, "rank_to": 3, "type": "points", "amount": "50"},
    ]
    volumes = {FLAGGED: "3", CUSTOM_WINNER: "2", POINTS_WINNER: "1"}
    event_id = _completed_event(stack, "Review Cup", prizes, volumes)
    seeded["review_event"] = event_id
    feed = stack.token("admin-journeys-feed", ["service"])
    flag = {"flagged": True, "reason": "Linked to a closed account"}
    _ok(stack.call("POST", f"/api/users/{FLAGGED}/flag", feed, flag))

    context, page, errors = new_page(browser, DESKTOP)
    sign_in(page, stack.base_url, "/admin", ADMIN, "admin")
    distribution = _distribute_in_the_console(page, stack.base_url, event_id)
    assert "CLAIMABLE" in distribution.inner_text()  # the manual claim mode: the winners claim

    # When the winners claim: the flagged account's payout is held, the custom prize waits, the points are credited
    def claim(user: str) -> str:
        prize = _prize_id(stack, user, event_id)
        reply = stack.call("POST", f"/api/events/prizes/{prize}/claim", stack.token(user, ["user"]), {})
        return str(_ok(reply)["status"])

    assert claim(FLAGGED) == "IN_REVIEW"
    assert claim(CUSTOM_WINNER) == "CUSTOM_PENDING"
    assert claim(POINTS_WINNER) == "CLAIMED"

    # The review queue shows the held claim and why; approving it (with a reason) requests the payout
    page.get_by_role("link", name="Claims review").click()
    row = page.locator(f"tr[data-prize='{_prize_id(stack, FLAGGED, event_id)}']")
    row.wait_for()
    assert FLAGGED in row.inner_text() and "100 token" in row.inner_text()
    assert "account_flagged: Linked to a closed account" in row.inner_text()
    page.screenshot(path=shots / "review-queue.png", full_page=True)
    row.get_by_role("button", name="Approve").click()
    page.get_by_label("Reason for “Approve”").fill("closed account belonged to a relative; KYC checked")
    page.get_by_role("button", name="Confirm approve").click()
    page.get_by_role("status").filter(has_text=f"{FLAGGED}'s claim: PAYOUT_REQUESTED").wait_for()
    page.get_by_text("No claims wait for review.").wait_for()
    assert _prize_of(stack, FLAGGED, event_id)["status"] == "PAYOUT_REQUESTED"

    # The custom prize waits on the event's prize tab; marked fulfilled with a reason, it leaves the list
    page.goto(f"{stack.base_url}/admin/events/{event_id}/prizes")
    waiting = page.locator("li").filter(has_text=f"{CUSTOM_WINNER}: {CUSTOM_PRIZE}")
    waiting.wait_for()
    waiting.get_by_role("button", name="Mark fulfilled").click()
    page.get_by_label("Reason for “Mark fulfilled”").fill("shipped with tracking 1Z999")
    page.get_by_role("button", name="Confirm mark fulfilled").click()
    page.get_by_role("status").filter(has_text="Marked fulfilled.").wait_for()
    page.get_by_text("None waiting.").wait_for()
    assert _prize_of(stack, CUSTOM_WINNER, event_id)["status"] == "FULFILLED"

    # A rollback now reverses nothing: every prize is past a reversible state, and each is listed as refused
    page.get_by_role("button", name="Roll back").click()
    page.get_by_label("Reason for “Roll back”").fill("the prize table had a typo")
    page.get_by_role("button", name="Confirm roll back").click()
    page.get_by_role("status").filter(has_text="Rolled back 0 prizes; 3 refused (already paid out).").wait_for()
    statuses = {user: _prize_of(stack, user, event_id)["status"] for user in volumes}
    assert statuses == {FLAGGED: "PAYOUT_REQUESTED", CUSTOM_WINNER: "FULFILLED", POINTS_WINNER: "CLAIMED"}
    page.screenshot(path=shots / "prizes-after.png", full_page=True)
    assert errors.errors == []
    context.close()


def test_admin_rolls_back_a_distribution_nobody_claimed(stack: ArenaClient, browser: Any, shots: Any) -> None:
    """Given a completed event paying 200 and 100 points to its top two, distributed in the console, nobody claimed
    When the admin rolls the distribution back with a reason
    Then the console says both prizes were rolled back and none refused, the distribution shows ROLLED_BACK, and
    each winner's prize is ROLLED_BACK."""
    prizes = [
        {"rank_from": 1, "rank_to": 1, "type": "points", "amount": "200"},
        {"rank_from": 2, "rank_to": 2, "type": "points", "amount": "100"},
    ]
    volumes = {"rolf": "5", "rita": "4"}
    event_id = _completed_event(stack, "Rollback Cup", prizes, volumes)
    seeded["rollback_event"] = event_id
    context, page, errors = new_page(browser, DESKTOP)
    sign_in(page, stack.base_url, "/admin", ADMIN, "admin")
    _distribute_in_the_console(page, stack.base_url, event_id)
    page.get_by_role("button", name="Roll back").click()
    page.get_by_label("Reason for “Roll back”").fill("wrong prize amounts")
    page.get_by_role("button", name="Confirm roll back").click()
    page.get_by_role("status").filter(has_text="Rolled back 2 prizes; 0 refused (already paid out).").wait_for()
    page.get_by_test_id("distribution").locator("h2 .badge").filter(has_text="ROLLED_BACK").wait_for()
    assert {_prize_of(stack, user, event_id)["status"] for user in volumes} == {"ROLLED_BACK"}
    page.screenshot(path=shots / "rolled-back.png", full_page=True)
    assert errors.errors == []
    context.close()


def test_admin_extends_then_cancels_an_upcoming_event(stack: ArenaClient, browser: Any, shots: Any) -> None:
    """Given an event that starts tomorrow and lasts a day
    When the admin extends it by a day with a reason, then cancels it with a reason
    Then the overview shows the new end (and the API has it), then the event CANCELLED with the reason shown, and
    neither action is offered any more."""
    admin = stack.token(ADMIN, ["admin"])
    start = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    body = {"name": "Weekend Sprint", "start_at": iso(start), "end_at": iso(start + timedelta(days=1))}
    event_id = _ok(stack.call("POST", "/api/events", admin, body), 201)["id"]
    context, page, errors = new_page(browser, DESKTOP)
    sign_in(page, stack.base_url, f"/admin/events/{event_id}", ADMIN, "admin")
    page.locator("h1 .badge").filter(has_text="UPCOMING").wait_for()

    new_end = start + timedelta(days=2)
    page.get_by_role("button", name="Extend").click()
    page.get_by_label("New end (your time)").fill(new_end.strftime("%Y-%m-%dT%H:%M"))  # the page's zone is UTC
    page.get_by_label("Reason for “Extend”").fill("more time for the weekend crowd")
    page.get_by_role("button", name="Confirm extend").click()
    page.get_by_role("status").filter(has_text="extend done: more time for the weekend crowd").wait_for()
    eventually(
        "the new end",
        lambda: (
            stack.call("GET", f"/api/events/{event_id}", admin)
            .body["end_at"]
            .startswith(new_end.strftime("%Y-%m-%dT%H:%M"))
        ),
    )
    ends = page.locator("dl.facts div").filter(has_text="Ends").locator("dd")
    eventually("the overview's new end", lambda: str(new_end.day) in ends.inner_text())
    page.screenshot(path=shots / "extended.png", full_page=True)

    page.get_by_role("button", name="Cancel event").click()
    page.get_by_label("Reason for “Cancel event”").fill("the sponsor withdrew")
    page.get_by_role("button", name="Confirm cancel event").click()
    page.locator("h1 .badge").filter(has_text="CANCELLED").wait_for()
    page.locator("dl.facts div").filter(has_text="Cancelled because").filter(has_text="the sponsor withdrew").wait_for()
    assert page.get_by_role("button", name="Extend").count() == 0
    assert page.get_by_role("button", name="Cancel event").count() == 0
    assert stack.call("GET", f"/api/events/{event_id}", admin).body["status"] == "CANCELLED"
    page.screenshot(path=shots / "cancelled.png", full_page=True)
    assert errors.errors == []
    context.close()


def test_admin_grants_and_revokes_a_role_with_its_audit_trail(stack: ArenaClient, browser: Any, shots: Any) -> None:
    """Given a trader who signed in once (so the user pool knows them)
    When the admin looks them up on the Roles screen, grants them event-manager with a reason, then revokes it
    Then their roles show event-manager and the role's members list them; after the revocation the role is gone; the
    audit trail lists both changes, newest first, with the admin and the reasons."""
    manager = "mona"
    stack.token(manager, ["user"])
    context, page, errors = new_page(browser, DESKTOP)
    sign_in(page, stack.base_url, "/admin", ADMIN, "admin")
    page.get_by_role("link", name="Roles").click()
    page.get_by_label("User id").fill(manager)
    page.get_by_role("button", name="Show roles").click()
    roles = page.get_by_test_id("user-roles")
    roles.wait_for()

    roles.get_by_role("button", name="Grant role").click()
    page.get_by_label("Role to grant").select_option("event-manager")
    page.get_by_label("Reason for “Grant role”").fill("runs the December cups")
    page.get_by_role("button", name="Confirm grant role").click()
    roles.locator(".pill").filter(has_text="event-manager").wait_for()
    page.get_by_label("Members of role").select_option("event-manager")
    page.locator("li").filter(has_text=manager).first.wait_for()
    page.screenshot(path=shots / "granted.png", full_page=True)

    roles.get_by_role("button", name="Revoke event-manager").click()
    page.get_by_label("Reason for “Revoke event-manager”").fill("the cups are over")
    page.get_by_role("button", name="Confirm revoke event-manager").click()
    eventually("the role gone", lambda: roles.locator(".pill").filter(has_text="event-manager").count() == 0)
    trail = roles.locator("ol.feed li")
    eventually("two changes in the trail", lambda: trail.count() == 2)
    assert "role.revoke by ada (“the cups are over”)" in trail.nth(0).inner_text()
    assert "role.grant by ada (“runs the December cups”)" in trail.nth(1).inner_text()
    page.screenshot(path=shots / "revoked.png", full_page=True)
    assert errors.errors == []
    context.close()


def test_admin_reads_the_analytics_compares_two_events_and_exports_one(
    stack: ArenaClient, browser: Any, shots: Any
) -> None:
    """Given the two completed events of the journeys above (volumes 600 and 900)
    When the admin opens Analytics, chooses both to compare, then opens the first event's analytics and exports it
    as CSV
    Then the dashboard lists both; the comparison shows each event's volume; the event's figures show its volume and
    trades; the export finishes and its participants file downloads as CSV with a row per participant."""
    review, rollback = seeded["review_event"], seeded["rollback_event"]
    admin = stack.token(ADMIN, ["admin"])
    for event_id in (review, rollback):  # the rollups follow the trade stream

        def figures(path: str = f"/api/events/{event_id}/performance") -> Any:
            return stack.call("GET", path, admin).body["metrics"]["totals"]["trades"]

        eventually("the figures", figures)
    context, page, errors = new_page(browser, DESKTOP)
    sign_in(page, stack.base_url, "/admin", ADMIN, "admin")
    page.get_by_role("link", name="Analytics").click()
    for name in ("Review Cup", "Rollback Cup"):
        page.get_by_label(f"Compare {name}").check()
    page.get_by_role("button", name="Compare 2 events").click()
    comparison = page.get_by_test_id("comparison")
    comparison.wait_for()
    rows = {row.split("\t")[0]: row.split("\t") for row in comparison.locator("tbody tr").all_inner_texts()}
    assert rows["Review Cup"][1] == "600" and rows["Review Cup"][2] == "3"
    assert rows["Rollback Cup"][1] == "900" and rows["Rollback Cup"][2] == "2"
    page.screenshot(path=shots / "comparison.png", full_page=True)

    page.goto(f"{stack.base_url}/admin/events/{review}/analytics")
    metrics = page.get_by_test_id("metrics")
    metrics.wait_for()
    assert metrics.locator("div").filter(has_text="Volume").first.locator("dd").inner_text() == "600"
    assert metrics.locator("div").filter(has_text="Trades").first.locator("dd").inner_text() == "3"
    page.get_by_role("button", name="Export CSV").click()
    export = page.get_by_test_id("export")
    export.locator(".badge").filter(has_text="SUCCEEDED").wait_for(timeout=90_000)
    link = export.get_by_role("link", name="participants (3 rows)")
    download = page.request.get(link.get_attribute("href"))
    assert download.status == 200
    participants = list(csv.DictReader(io.StringIO(download.text())))
    assert {row["user_id"] for row in participants} == {FLAGGED, CUSTOM_WINNER, POINTS_WINNER}
    assert all(row["event_id"] == review for row in participants)
    page.screenshot(path=shots / "event-analytics.png", full_page=True)
    assert errors.errors == []
    context.close()
