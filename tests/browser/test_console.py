"""The web console's journeys in a real browser, in order on one local stack: an admin creates an event with a
prize table and starts it; a trader joins on a phone and watches the board move as trades arrive; the admin
watches it live, meets an edit conflict, disqualifies a cheater, ends the event and distributes the prizes; the
winner claims. Each journey saves screenshots and checks what a person would look for on them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE, new_page, sign_in
from tests.e2e.conftest import ArenaClient, eventually, iso

pytestmark = pytest.mark.e2e

# What the journeys share, in order (the tests of one file run in order on one worker).
journey: dict[str, Any] = {}
HOSTILE = '<img src=x onerror="window.__pwned=1"> <b>not bold</b>'
WINNER, RUNNER_UP, CHEAT = "wanda", "rudi", "chester"


def _trade(user: str, number: int, quantity: str, price: str = "100") -> dict[str, str]:
    return {
        "trade_id": f"{journey['event_id']}-{user}-{number}",
        "user_id": user,
        "market": "BTC-USDT",
        "side": "buy",
        "quantity": quantity,
        "price": price,
        "executed_at": iso(datetime.now(UTC)),
        "fee": "0.1",
    }


def _post_trades(stack: ArenaClient, trades: list[dict[str, str]]) -> None:
    feed = stack.token("browser-feed", ["service"])
    answer = stack.call("POST", "/api/trades", feed, {"trades": trades})
    assert answer.status == 200 and answer.body["accepted"] == len(trades), answer.body


def _handle(stack: ArenaClient, user: str) -> str:
    """A trader's public handle, as /api/me/profile gives it to them (the run's community key makes it)."""
    answer = stack.call("GET", "/api/me/profile", stack.token(user, ["user"]))
    assert answer.status == 200, answer.body
    return str(answer.body["identity"]["handle"])


def _bell_counts(bell: Any, unread: Any) -> bool:
    """The bell's label says as many unread as the inbox lists."""
    count = unread.count()
    expected = f"Notifications, {count} unread" if count else "Notifications, none unread"
    return bell.get_attribute("aria-label") == expected


def test_admin_creates_an_event_with_a_prize_table_and_starts_it(stack: ArenaClient, browser: Any, shots: Any) -> None:
    """Given an admin signed in with the local form
    When they create an event with a two-tier prize table (a token prize and a shared points pool), then start it
    with a reason
    Then the event page shows it ACTIVE with both tiers, the dry run of its table, its hostile description as
    plain text (never markup), and the events list filtered by ACTIVE lists it."""
    context, page, errors = new_page(browser, DESKTOP)
    sign_in(page, stack.base_url, "/admin", "ada", "admin")
    page.get_by_role("link", name="New event").click()
    page.get_by_label("Name").fill("Browser Cup")
    page.get_by_label("Description and rules").fill(HOSTILE)
    page.get_by_label("Markets (comma-separated)").fill("BTC-USDT")
    page.get_by_label("Minimum volume to qualify").fill("50")
    # The prize table: tier 1 pays 500 USDT to rank 1; tier 2 shares 900 points between ranks 2 and 3
    page.get_by_role("button", name="Add a tier").click()
    tier = page.locator("[data-tier='0']")
    tier.get_by_label("Type").select_option("token")
    tier.get_by_label("amount").fill("500")
    page.get_by_role("button", name="Add a tier").click()
    tier = page.locator("[data-tier='1']")
    tier.get_by_label("Rank to").fill("3")
    tier.get_by_label("Split").select_option("shared")
    tier.get_by_label("pool").fill("abc")
    assert page.get_by_text("pool must be a decimal amount").is_visible()  # checked before the API is asked
    assert page.get_by_role("button", name="Create event").is_disabled()
    tier.get_by_label("pool").fill("900")
    page.get_by_role("button", name="Create event").click()

    page.get_by_role("heading", name="Browser Cup").wait_for()
    journey["event_id"] = page.url.split("/admin/events/")[1].split("?")[0]
    dry_run = page.get_by_test_id("dry-run")
    dry_run.wait_for()
    assert "Pool total" in dry_run.inner_text() and "Treasury" in dry_run.inner_text()
    page.get_by_role("button", name="Start now").click()
    page.get_by_label("Reason for “Start now”").fill("opening the browser cup")
    page.get_by_role("button", name="Confirm start now").click()
    page.get_by_role("status").filter(has_text="start done: opening the browser cup").wait_for()
    page.locator("h1 .badge").filter(has_text="ACTIVE").wait_for()
    prizes = page.locator("table.prizes tbody tr")
    assert prizes.nth(0).inner_text().split("\t") == ["#1", "500 USDT each"]
    assert prizes.nth(1).inner_text().split("\t") == ["#2\u20133", "900 points pool, shared equally"]
    description = page.locator("p.description")
    assert description.inner_text() == HOSTILE  # the text as typed, shown as text
    assert description.locator("img, b").count() == 0
    page.screenshot(path=shots / "event-overview.png", full_page=True)

    page.get_by_role("link", name="Events").first.click()
    page.get_by_label("Status").select_option("ACTIVE")
    page.locator(f"tr[data-event='{journey['event_id']}']").wait_for()
    page.screenshot(path=shots / "events-active.png")
    assert page.evaluate("window.__pwned") is None
    assert errors.errors == []
    context.close()


def test_trader_joins_on_a_phone_and_watches_the_board_move(stack: ArenaClient, browser: Any, shots: Any) -> None:
    """Given the running event and two rivals who joined over the API
    When a trader opens its page on a phone-size screen, signs in, joins, and trades arrive for all three
    Then the page shows the rules, the prize table and the countdown; after joining, my standing; the board moves
    as trades arrive (no reload), my row is highlighted, and I see my rank, what I still need to qualify and the
    distance to the next prize."""
    event_id = journey["event_id"]
    for rival in (RUNNER_UP, CHEAT):
        assert stack.call("POST", f"/api/events/{event_id}/join", stack.token(rival, ["user"])).status == 201
    context, page, errors = new_page(browser, PHONE)
    sign_in(page, stack.base_url, f"/events/{event_id}", WINNER, "user")
    assert page.get_by_test_id("countdown").inner_text().startswith("Ends in ")
    assert page.get_by_text("Ranked by volume on BTC-USDT.").is_visible()
    assert page.get_by_text("To qualify: at least 50 volume and 0 trades.").is_visible()
    page.get_by_role("button", name="Join the competition").click()
    page.get_by_text("You are in").wait_for()
    page.locator(".live-state[data-state='live']").wait_for()

    # The first trades: the rivals lead, my 0.2 BTC (20 volume) is short of the 50 needed to qualify
    _post_trades(stack, [_trade(RUNNER_UP, 1, "3"), _trade(CHEAT, 1, "9"), _trade(WINNER, 1, "0.2")])
    # Traders see each other by public handle and name, never by user id; my row is marked as mine
    handles = {u: _handle(stack, u) for u in (WINNER, RUNNER_UP, CHEAT)}
    mine = page.locator(f"[data-testid='leaderboard'] tr.me[data-handle='{handles[WINNER]}']")
    mine.wait_for()
    eventually("my row third", lambda: mine.locator("td").first.inner_text() == "3")
    page.get_by_test_id("qualify").filter(has_text="To qualify: 30 more volume.").wait_for()
    page.screenshot(path=shots / "phone-third.png", full_page=True)

    # More trades for me: the board moves me to second, without a reload
    _post_trades(stack, [_trade(WINNER, 2, "4")])
    eventually("my row second", lambda: mine.locator("td").first.inner_text() == "2")
    page.get_by_test_id("qualify").filter(has_text="You qualify for prizes.").wait_for()
    page.get_by_test_id("my-rank").filter(has_text="2 of 3").wait_for()
    # 900 volume (the leader) - 420 (mine) to reach prize rank 1
    page.get_by_test_id("next-prize").filter(has_text="480 more volume to reach prize rank 1.").wait_for()
    rows = page.locator("[data-testid='leaderboard'] tbody tr")
    assert [rows.nth(i).get_attribute("data-handle") for i in range(3)] == [
        handles[u] for u in (CHEAT, WINNER, RUNNER_UP)
    ]
    assert page.locator("[data-testid='leaderboard'] [data-user], [data-testid='user-id']").count() == 0
    assert all(u not in page.get_by_test_id("leaderboard").inner_text() for u in (WINNER, RUNNER_UP, CHEAT))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing wider than the phone
    page.screenshot(path=shots / "phone-second.png", full_page=True)
    assert errors.errors == []
    context.close()


def test_admin_announces_and_the_trader_reads_it_in_the_inbox(stack: ArenaClient, browser: Any, shots: Any) -> None:
    """Given the running event with three participants and the trader's inbox open on a phone, everything read
    When an admin previews an announcement to the event's participants (in app and email) and sends it, and the
    trader reads it, turns rank changes in the app off and sets quiet hours
    Then the preview shows each channel's message and an audience of 3; the trader's bell goes from none to 1
    without a reload and the inbox shows the announcement as plain text; reading it takes the bell back to none;
    the admin's list counts 3 in-app deliveries sent; an unknown time zone for quiet hours is refused naming the
    field; the changed switch and the quiet hours (Europe/Paris) are kept after a reload."""
    event_id = journey["event_id"]
    title = "Happy hour <b>2x</b>"
    trader, page, errors = new_page(browser, PHONE)
    sign_in(page, stack.base_url, "/inbox", WINNER, "user")
    bell = page.get_by_test_id("bell")
    page.get_by_test_id("inbox").wait_for(state="attached")
    # The board's moves already told the trader things: read them all so the announcement is the one unread
    eventually("the unread count", lambda: page.get_by_test_id("inbox-summary").inner_text() != "")

    def read_everything() -> None:
        def all_read() -> bool:
            if page.get_by_test_id("inbox-summary").inner_text() == "All read":
                return True
            button = page.get_by_role("button", name="Mark all read")
            if button.is_enabled():
                button.click()
            return False

        eventually("everything read", all_read)

    read_everything()

    admin, desk, admin_errors = new_page(browser, DESKTOP)
    sign_in(desk, stack.base_url, "/admin", "ada", "admin")
    desk.get_by_role("link", name="Announcements").click()
    desk.get_by_label("Title").fill(title)
    desk.get_by_label("Message").fill("Trades count double until 18:00.\nGood luck!")
    desk.get_by_label("Send to").select_option(event_id)
    desk.get_by_label("Email").check()
    desk.get_by_role("button", name="Preview").click()
    preview = desk.get_by_test_id("preview")
    preview.get_by_text("Reaches 3 people.").wait_for()
    for channel in ("in_app", "email"):
        assert title in preview.locator(f"[data-channel='{channel}']").inner_text()
    desk.screenshot(path=shots / "announcement-preview.png", full_page=True)
    read_everything()  # again: a milestone of the trades above may have come late
    assert bell.get_attribute("aria-label") == "Notifications, none unread"
    assert page.locator("[data-testid='inbox'] li[data-read='no']").count() == 0
    desk.get_by_role("button", name="Send announcement").click()
    desk.get_by_text(f"Announcement “{title}” sent.").wait_for()

    # The trader's bell counts it live; the inbox shows it, its markup as text
    item = page.locator("[data-testid='inbox'] li[data-read='no']").filter(has_text=title)
    item.wait_for(timeout=60_000)  # the planner, the in-app dispatcher and the push: slower on a busy machine
    # (a milestone of the trades above may still land beside it: the bell counts whatever is unread)
    unread = page.locator("[data-testid='inbox'] li[data-read='no']")
    eventually("the bell to count the unread", lambda: _bell_counts(bell, unread))
    assert "Trades count double until 18:00." in item.inner_text()
    assert page.locator("[data-testid='inbox'] b").count() == 0  # the title's <b> stayed text
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=shots / "inbox-unread.png", full_page=True)
    item.get_by_role("button", name=f"Mark “{title}” read").click()
    page.locator("[data-testid='inbox'] li[data-read='yes']").filter(has_text=title).wait_for()
    eventually("the bell to count one fewer", lambda: _bell_counts(bell, unread))
    read_everything()  # anything that landed beside it
    assert bell.get_attribute("aria-label") == "Notifications, none unread"
    page.screenshot(path=shots / "inbox-read.png", full_page=True)

    # The admin sees the deliveries: 3 participants, each reached in the app
    sent = desk.locator("[data-testid='announcements-list'] li").filter(has_text=title).first
    in_app = sent.locator("tr[data-channel='in_app'] td[data-status='sent']")

    def three_sent() -> bool:
        if in_app.inner_text() == "3":
            return True
        sent.get_by_role("button", name=f"Refresh the deliveries of “{title}”").click()
        return False

    eventually("3 in-app deliveries sent", three_sent)
    desk.screenshot(path=shots / "announcement-sent.png", full_page=True)

    # Preferences: rank changes no longer in the app, kept after a reload
    page.get_by_role("link", name="Preferences").first.click()
    switch = page.get_by_label("Rank changes by In app")
    assert switch.is_checked()
    switch.uncheck()
    # Quiet hours in a time zone that does not exist: the API's answer names the field, nothing is saved
    page.get_by_label("Quiet hours on").check()
    page.get_by_label("From").fill("22:00")
    page.get_by_label("Until").fill("07:00")
    page.get_by_label("Time zone").fill("Mars/Olympus_Mons")
    page.get_by_role("button", name="Save preferences").click()
    assert "timezone" in page.get_by_role("alert").first.inner_text()
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_text("Preferences saved.").wait_for()
    page.reload()
    assert not page.get_by_label("Rank changes by In app").is_checked()
    assert page.get_by_label("Announcements by In app").is_checked()
    assert page.get_by_label("Time zone").input_value() == "Europe/Paris"
    assert page.get_by_label("From").input_value() == "22:00"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=shots / "preferences.png", full_page=True)
    assert errors.errors == [] and admin_errors.errors == []
    assert page.evaluate("window.__pwned") is None
    trader.close()
    admin.close()


def test_admin_monitors_meets_a_conflict_disqualifies_ends_and_distributes(
    stack: ArenaClient, browser: Any, shots: Any
) -> None:
    """Given the running event with three traders on its board
    When the admin watches the Live tab while trades arrive, announces a message, edits the event while someone
    else saves it first, disqualifies the cheater with a reason, ends the event with a reason, and distributes
    the prizes
    Then the live board and the trades feed move over the WebSocket (the volume chart's time axis on today's
    clock) and the announcement comes back as text; the 409 is shown and resolved by saving over it; the trail
    shows the disqualification and the cheater leaves the board; the event completes; the distribution shows its
    batches done and the prizes waiting to be claimed."""
    event_id = journey["event_id"]
    admin_token = stack.token("ada", ["admin"])
    context, page, errors = new_page(browser, DESKTOP)
    sign_in(page, stack.base_url, f"/admin/events/{event_id}/live", "ada", "admin")
    page.locator(".live-state[data-state='live']").wait_for()
    board = page.locator("[data-testid='leaderboard'] tbody tr")
    eventually("three rows", lambda: board.count() == 3)
    _post_trades(stack, [_trade(RUNNER_UP, 2, "8")])  # rudi: 300 + 800 = 1100, past wanda (420) and chester (900)
    eventually("rudi first", lambda: board.first.get_attribute("data-user") == RUNNER_UP)
    page.get_by_test_id("trades-feed").locator("li").first.wait_for()
    # An announcement over the WebSocket reaches everyone on event:<id>, this page included, as plain text
    page.get_by_label("Message to everyone watching this event").fill("<b>Final day</b>: double points")
    page.get_by_role("button", name="Announce").click()
    page.get_by_role("status").filter(has_text="Announced to").wait_for()
    feed = page.get_by_test_id("milestones")
    feed.filter(has_text="announcement: <b>Final day</b>: double points").wait_for()
    assert feed.locator("b").count() == 0
    # The volume chart of one push: its time axis stays on today's clock (not years ahead)
    chart = page.get_by_role("img", name="Volume per push")
    assert float(chart.get_attribute("data-x-span") or "inf") <= 600  # seconds, not the years uPlot pads one point by
    page.screenshot(path=shots / "live.png", full_page=True)

    # An edit meets a newer version: shown, then saved over
    page.goto(f"{stack.base_url}/admin/events/{event_id}/edit")
    page.get_by_label("Name").fill("Browser Cup (final week)")
    current = stack.call("GET", f"/api/events/{event_id}", admin_token).body
    other = stack.call(
        "PATCH", f"/api/events/{event_id}", admin_token, {"version": current["version"], "name": "Renamed by Bo"}
    )
    assert other.status == 200, other.body
    page.get_by_role("button", name="Save changes").click()
    conflict = page.get_by_test_id("conflict")
    conflict.wait_for()
    assert "Renamed by Bo" in conflict.inner_text()
    page.screenshot(path=shots / "conflict.png")
    conflict.get_by_role("button", name="Save mine over theirs").click()
    page.get_by_role("heading", name="Browser Cup (final week)").wait_for()

    # The cheater is disqualified with a reason: the trail says so and the board drops them
    page.get_by_role("link", name="Participants").click()
    page.get_by_label("Search participants by user id").fill(CHEAT)
    page.locator(f"button[data-action='disqualify-{CHEAT}']").click()
    page.get_by_label("Reason for “Disqualify”").fill("wash trading with a second account")
    page.get_by_role("button", name="Confirm disqualify").click()
    trail = page.get_by_test_id("moderation-trail")
    trail.filter(has_text=f"disqualify {CHEAT} (“wash trading with a second account”)").wait_for()
    assert "disqualified: wash trading with a second account" in trail.inner_text()
    page.get_by_label("Search participants by user id").fill("")
    eventually(
        "the cheater off the board",
        lambda: (
            page.locator(f"table.board tr[data-user='{CHEAT}']").count() == 0
            and page.locator("table.board tbody tr").count() == 2
        ),
    )
    page.screenshot(path=shots / "participants.png", full_page=True)

    # End with a reason; the 2 s grace passes and the event completes
    page.get_by_role("link", name="Overview").click()
    page.get_by_role("button", name="End now").click()
    page.get_by_label("Reason for “End now”").fill("the week is over")
    page.get_by_role("button", name="Confirm end now").click()
    page.get_by_role("status").filter(has_text="end done: the week is over").wait_for()
    eventually(
        "COMPLETED",
        lambda: stack.call("GET", f"/api/events/{event_id}", admin_token).body["status"] == "COMPLETED",
        60,
    )

    page.get_by_role("link", name="Prizes").click()
    page.locator("h1 .badge").filter(has_text="COMPLETED").wait_for()
    page.get_by_role("button", name="Distribute prizes").click()
    distribution = page.get_by_test_id("distribution")
    distribution.locator(".badge").filter(has_text="COMPLETED").wait_for(timeout=60_000)
    progress = distribution.locator("progress")
    assert progress.get_attribute("value") == progress.get_attribute("max")
    assert "CLAIMABLE" in distribution.inner_text()  # manual claim mode: the winners claim
    awards = page.get_by_test_id("dry-run").locator("tbody tr")
    assert awards.nth(0).inner_text().split("\t")[:3] == ["1", RUNNER_UP, "500 USDT"]
    assert awards.nth(1).inner_text().split("\t")[:3] == ["2", WINNER, "450 points"]
    page.screenshot(path=shots / "distributed.png", full_page=True)
    assert errors.errors == []
    context.close()


def test_winner_claims_a_prize(stack: ArenaClient, browser: Any, shots: Any) -> None:
    """Given the distributed event, where the trader won 450 points (prize rank 2) in the manual claim mode
    When the trader opens the event page, signs in and presses its claim button, with the keyboard alone
    Then the prize shows with its claim deadline before, and CLAIMED with no claim button after; their standing
    says the event ended."""
    event_id = journey["event_id"]
    context, page, errors = new_page(browser, PHONE)
    # Signed in with the keyboard alone: type the id, Tab to the role, Tab to the button, Enter
    page.goto(f"{stack.base_url}/events/{event_id}")
    page.get_by_label("User id").focus()
    page.keyboard.type(WINNER)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.get_by_test_id("whoami").filter(has_text=WINNER).wait_for()
    prize = page.get_by_test_id("my-prizes").locator("li").first
    prize.wait_for()
    assert "450 points for prize rank 2" in prize.inner_text()
    assert "Claim by" in prize.inner_text()
    assert page.get_by_test_id("countdown").inner_text() == "Ended"
    page.screenshot(path=shots / "before-claim.png", full_page=True)
    prize.get_by_role("button", name="Claim 450 points").focus()
    page.keyboard.press("Enter")  # a real button: the keyboard claims as a click would
    page.get_by_role("status").filter(has_text="Claimed 450 points: CLAIMED").wait_for()
    prize.locator(".badge").filter(has_text="CLAIMED").wait_for()
    assert prize.get_by_role("button").count() == 0
    page.screenshot(path=shots / "claimed.png", full_page=True)
    assert errors.errors == []
    context.close()
