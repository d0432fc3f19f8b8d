"""The web console's community screens in a real browser, in order on one local stack: two traders chat live on
the event page (a reply, a reaction, the presence count, hostile text kept as text); a moderator deletes a message,
handles a report and mutes a trader from the event's Chat tab; the admin's live monitor counts the connected
clients; a trader opens their share card; the participants screen shows the audit trail the API keeps. Each journey
saves screenshots and checks what a person would look for on them."""

from __future__ import annotations

import re
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE, buys, new_page, sign_in
from tests.e2e.conftest import ArenaClient, eventually, iso

pytestmark = pytest.mark.e2e

# What the journeys share, in order (the tests of one file run in order on one worker): the event, the open pages.
journey: dict[str, Any] = {}
HOSTILE = '<img src=x onerror="window.__pwned=1"> <b>not bold</b> & <script>window.__pwned=2</script>'
ALICE, BRUNO, ADMIN = "alice", "bruno", "ada"


def _chat_message(page: Any, author: str, text: str) -> Any:
    """The author's message on the page: the chat names authors by public handle, never by user id."""
    handle = journey["handles"][author]
    return page.locator(f"[data-testid='chat-log'] li[data-author='{handle}']").filter(has_text=text)


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as answer:  # the local stack's own URL
        return answer.status, answer.headers.get("content-type", ""), answer.read()


def test_two_traders_chat_live_and_hostile_text_stays_text(stack: ArenaClient, browser: Any, shots: Any) -> None:
    """Given a running event both traders joined (over the API), each trading once
    When Alice (on a phone) and Bruno (on a desktop) open its page, Alice posts hostile markup, Bruno replies to
    it with the keyboard and Alice reacts to the reply
    Then each sees the other's messages without a reload: the markup shown as the very text typed (no element, no
    script run), authors named by their public names (Alice's display name, Bruno's anonymised one, never a user
    id), the reply marked as a reply to Alice, the reaction counted on Bruno's page; both pages count 2
    watching the chat; the phone page is no wider than the phone."""
    admin = stack.token(ADMIN, ["admin"])
    now = datetime.now(UTC)
    body = {
        "name": "Community Cup",
        "description": "Chat, share and trade.",
        "start_at": iso(now + timedelta(hours=1)),
        "end_at": iso(now + timedelta(days=3)),
        "ranking_metric": "volume",
        "markets": ["BTC-USDT"],
        "join_required": True,
        "qualification": {"min_volume": "0", "min_trades": 0},
        "prizes": [{"rank_from": 1, "rank_to": 1, "type": "points", "amount": "100"}],
        "claim": {"mode": "manual", "window_days": 14},
    }
    created = stack.call("POST", "/api/events", admin, body)
    assert created.status == 201, created.body
    event_id = journey["event_id"] = created.body["id"]
    started = stack.call("POST", f"/api/events/{event_id}/start", admin, {"reason": "community journey"})
    assert started.status == 200, started.body
    for trader in (ALICE, BRUNO):
        assert stack.call("POST", f"/api/events/{event_id}/join", stack.token(trader, ["user"])).status == 201
    # Alice shows a display name in public; Bruno keeps the anonymised one
    public = {"public": True, "display_name": "Alice W.", "show_prizes": False}
    assert stack.call("PUT", "/api/me/profile", stack.token(ALICE, ["user"]), public).status == 200
    identities = {
        t: stack.call("GET", "/api/me/profile", stack.token(t, ["user"])).body["identity"] for t in (ALICE, BRUNO)
    }
    journey["handles"] = {t: i["handle"] for t, i in identities.items()}
    names = journey["names"] = {t: i["name"] for t, i in identities.items()}
    assert names[ALICE] == "Alice W." and names[BRUNO].startswith("Trader ")
    feed = stack.token("community-feed", ["service"])
    sent = stack.call("POST", "/api/trades", feed, {"trades": buys(event_id, {ALICE: "2", BRUNO: "3"}, fee="0.1")})
    assert sent.status == 200 and sent.body["accepted"] == 2, sent.body

    alice_context, alice, alice_errors = new_page(browser, PHONE)
    sign_in(alice, stack.base_url, f"/events/{event_id}", ALICE, "user")
    bruno_context, bruno, bruno_errors = new_page(browser, DESKTOP)
    sign_in(bruno, stack.base_url, f"/events/{event_id}", BRUNO, "user")
    journey.update(
        alice=alice, bruno=bruno, contexts=[alice_context, bruno_context], errors=[alice_errors, bruno_errors]
    )
    for page in (alice, bruno):
        page.locator("[data-testid='chat'][data-state='live']").wait_for()

    # Alice posts markup: Bruno sees it arrive, as the text she typed
    alice.get_by_label("Message to the event chat").fill(HOSTILE)
    alice.get_by_role("button", name="Send").click()
    hostile = _chat_message(bruno, ALICE, "not bold")
    hostile.wait_for()
    assert hostile.get_by_test_id("chat-text").inner_text() == HOSTILE
    assert bruno.locator("[data-testid='chat-log'] img, [data-testid='chat-log'] b").count() == 0
    # Her own page shows it once (the post's answer and the push are one message): once it is there at all.
    mine = _chat_message(alice, ALICE, "not bold")
    mine.first.wait_for()
    assert mine.count() == 1

    # Bruno replies with the keyboard alone: the Reply button, then typing and Enter in the focused box
    hostile.get_by_role("button", name=f"Reply to {names[ALICE]}").focus()
    bruno.keyboard.press("Enter")
    bruno.get_by_test_id("replying").wait_for()
    bruno.keyboard.type("Nice try, that is just text")
    bruno.keyboard.press("Enter")
    reply = _chat_message(alice, BRUNO, "Nice try, that is just text")
    reply.wait_for()
    assert f"reply to {names[ALICE]}" in reply.inner_text()
    assert ALICE not in reply.inner_text() and BRUNO not in bruno.get_by_test_id("chat-log").inner_text()

    # Alice reacts to the reply: Bruno's page counts it
    reply.get_by_role("button", name=f"React thumbs up to {names[BRUNO]}'s message").click()
    counted = _chat_message(bruno, BRUNO, "Nice try").locator("button[data-emoji='👍'] [data-testid='reaction-count']")
    counted.filter(has_text="1").wait_for()

    # Both pages count the two watchers of the chat
    for page in (alice, bruno):
        page.get_by_test_id("chat-presence").filter(has_text="2 watching").wait_for()
    assert alice.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    alice.screenshot(path=shots / "alice-phone-chat.png", full_page=True)
    bruno.screenshot(path=shots / "bruno-chat.png", full_page=True)
    for page in (alice, bruno):
        assert page.evaluate("window.__pwned") is None
    assert alice_errors.errors == [] and bruno_errors.errors == []


def test_a_moderator_deletes_handles_a_report_and_mutes(stack: ArenaClient, browser: Any, shots: Any) -> None:
    """Given the two traders' pages open on the event's chat
    When Bruno reports Alice's markup, Alice posts an advert, and the admin, on the event's Chat tab, deletes the
    advert with a reason, dismisses the report with a note and mutes Alice for 10 minutes
    Then the advert is gone from all three pages without a reload; the report leaves the open queue and shows
    dismissed among the resolved; Alice sees why she is muted and until when, cannot send, and her attempt reaches
    nobody; the moderation audit lists the deletion (with the deleted text), the report and the mute."""
    event_id, alice, bruno = journey["event_id"], journey["alice"], journey["bruno"]
    hostile = _chat_message(bruno, ALICE, "not bold")
    hostile.get_by_role("button", name="Report").click()
    bruno.get_by_label("Reason for “Report”").fill("markup spam")
    bruno.get_by_role("button", name="Confirm report").click()
    bruno.get_by_text("Reported: the moderators will look at it.").wait_for()

    advert = "Join my pump group, 10x guaranteed"
    alice.get_by_label("Message to the event chat").fill(advert)
    alice.get_by_role("button", name="Send").click()
    _chat_message(bruno, ALICE, advert).wait_for()

    context, desk, errors = new_page(browser, DESKTOP)
    journey["contexts"].append(context)
    journey["errors"].append(errors)
    sign_in(desk, stack.base_url, f"/admin/events/{event_id}/chat", ADMIN, "admin")
    desk.locator("[data-testid='chat'][data-state='live']").wait_for()

    # Delete the advert: gone on every page
    message = _chat_message(desk, ALICE, advert)
    message.get_by_role("button", name="Delete").click()
    desk.get_by_label("Reason for “Delete”").fill("promotion")
    desk.get_by_role("button", name="Confirm delete").click()
    for page in (alice, bruno, desk):
        eventually("the advert gone", lambda page=page: _chat_message(page, ALICE, advert).count() == 0)

    # The report: shown with the reported text as text, dismissed with a note
    report = desk.locator("[data-testid='chat-reports'] li").filter(has_text="markup spam")
    report.wait_for()
    assert HOSTILE in report.inner_text() and report.locator("img, b").count() == 0
    report.get_by_role("button", name="Dismiss").click()
    desk.get_by_label("Reason for “Dismiss”").fill("markup shown as text, harmless")
    desk.get_by_role("button", name="Confirm dismiss").click()
    eventually("the open queue empty", lambda: desk.locator("[data-testid='chat-reports'] li").count() == 0)
    desk.get_by_label("Reports to show").select_option("resolved")
    resolved = desk.locator("[data-testid='chat-reports'] li").filter(has_text="markup spam")
    resolved.filter(has_text="Outcome: dismissed").wait_for()

    # Mute Alice for 10 minutes
    desk.get_by_label("User id to mute or ban").fill(ALICE)
    desk.get_by_label("Mute for (minutes)").fill("10")
    desk.locator("button[data-action='mute']").click()
    desk.get_by_label("Reason for “Mute”").fill("cool down")
    desk.get_by_role("button", name="Confirm mute").click()
    desk.get_by_text(f"{ALICE} is muted until").wait_for()

    # Alice tries to post: told why and until when, the box and Send disabled, nobody gets it
    alice.get_by_label("Message to the event chat").fill("Why was my message deleted?")
    alice.get_by_role("button", name="Send").click()
    refusal = alice.get_by_test_id("chat-refusal")
    refusal.wait_for()
    assert re.match(r"You are muted in this chat until .+: cool down$", refusal.inner_text()), refusal.inner_text()
    assert alice.get_by_role("button", name="Send").is_disabled()
    assert alice.get_by_label("Message to the event chat").is_disabled()
    time.sleep(1)  # a push that should not come would have come by now
    assert _chat_message(bruno, ALICE, "Why was my message deleted?").count() == 0
    alice.screenshot(path=shots / "alice-muted.png", full_page=True)

    # The audit: who did what to whom and why, the deleted text with it
    audit = desk.get_by_test_id("chat-audit")
    audit.locator("li[data-action='chat_mute']").filter(has_text=f"{ADMIN} muted {ALICE}").wait_for()
    deleted = audit.locator("li[data-action='chat_delete']")
    assert f"{ADMIN} deleted a message of {ALICE}" in deleted.inner_text() and advert in deleted.inner_text()
    assert "(“promotion”)" in deleted.inner_text()
    resolved_entry = audit.locator("li[data-action='chat_report_resolve']")
    assert (
        "markup shown as text, harmless" in resolved_entry.inner_text() and "dismissed" in resolved_entry.inner_text()
    )
    desk.screenshot(path=shots / "moderation.png", full_page=True)
    for page in (alice, bruno, desk):
        assert page.evaluate("window.__pwned") is None
    assert all(e.errors == [] for e in journey["errors"])


def test_the_admin_monitor_counts_connected_clients(stack: ArenaClient, browser: Any, shots: Any) -> None:
    """Given both traders' event pages and the admin's Chat tab open on the event
    When the admin opens its Live tab
    Then the connected clients figure shows, without a reload, at least one connection per open page (3 or more)"""
    event_id = journey["event_id"]
    context, page, errors = new_page(browser, DESKTOP)
    journey["contexts"].append(context)
    sign_in(page, stack.base_url, f"/admin/events/{event_id}/live", ADMIN, "admin")
    page.locator(".live-state[data-state='live']").wait_for()
    connected = page.get_by_test_id("connected")
    eventually(
        "the connected clients counted", lambda: connected.inner_text().isdigit() and int(connected.inner_text()) >= 3
    )
    page.screenshot(path=shots / "live-connected.png", full_page=True)
    assert errors.errors == []


def test_the_trader_opens_her_share_card(stack: ArenaClient, browser: Any, shots: Any) -> None:
    """Given Alice's event page on her phone (she joined and traded)
    When she asks for her share card
    Then the card's image loads (a 1200 x 630 PNG) beside her share link; the link's page answers HTML whose
    og:image is that image, and the image URL answers a PNG; the page stays within the phone's width."""
    alice = journey["alice"]
    alice.get_by_role("button", name="Get my share card").click()
    image = alice.get_by_test_id("share-image")
    image.wait_for()
    eventually("the card image loaded", lambda: image.evaluate("img => img.complete && img.naturalWidth") == 1200)
    assert image.get_attribute("alt") == "My rank card for Community Cup"
    url = alice.get_by_label("Share link").input_value()
    assert "?ref=" in url
    assert alice.get_by_role("link", name="Open the share page").get_attribute("href") == url
    status, kind, page_body = _get(url)
    assert status == 200 and kind.startswith("text/html")
    og_image = re.search(r'<meta property="og:image" content="([^"]+)"', page_body.decode())
    assert og_image is not None and og_image.group(1).replace("&amp;", "&") == image.get_attribute("src")
    status, kind, png = _get(og_image.group(1).replace("&amp;", "&"))
    assert status == 200 and kind == "image/png" and png.startswith(b"\x89PNG")
    alice.get_by_test_id("share").scroll_into_view_if_needed()
    assert alice.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    alice.screenshot(path=shots / "share-card.png", full_page=True)
    assert journey["errors"][0].errors == []


def test_the_participants_screen_shows_the_audit_trail(stack: ArenaClient, browser: Any, shots: Any) -> None:
    """Given the event's two traders on its board
    When the admin disqualifies Bruno with a reason on the Participants screen, looks him up and reinstates him
    with another reason, then reloads the page
    Then the moderation trail lists both, newest first, with who did it, to whom and why - kept by the API, so the
    reload still shows them."""
    event_id = journey["event_id"]
    context, page, errors = new_page(browser, DESKTOP)
    journey["contexts"].append(context)
    sign_in(page, stack.base_url, f"/admin/events/{event_id}/participants", ADMIN, "admin")
    page.locator(f"table.board tr[data-user='{BRUNO}']").wait_for()
    page.locator(f"table.board button[data-action='disqualify-{BRUNO}']").click()
    page.get_by_label("Reason for “Disqualify”").fill("two accounts <b>one person</b>")
    page.get_by_role("button", name="Confirm disqualify").click()
    trail = page.get_by_test_id("moderation-trail")
    trail.locator("li[data-action='disqualify']").filter(has_text=f"{ADMIN}: disqualify {BRUNO}").wait_for()

    page.get_by_label("Search participants by user id").fill(BRUNO)
    page.get_by_role("button", name="Look up").click()
    page.get_by_test_id("participant-found").locator(f"button[data-action='reinstate-{BRUNO}']").click()
    page.get_by_label("Reason for “Reinstate”").fill("appeal upheld")
    page.get_by_role("button", name="Confirm reinstate").click()
    trail.locator("li[data-action='reinstate']").wait_for()

    page.reload()
    entries = page.get_by_test_id("moderation-trail").locator("li")
    eventually("the trail after a reload", lambda: entries.count() == 2)
    assert entries.nth(0).get_attribute("data-action") == "reinstate"
    assert f"{ADMIN}: reinstate {BRUNO} (“appeal upheld”) → on the board again" in entries.nth(0).inner_text()
    first = entries.nth(1).inner_text()
    assert f"{ADMIN}: disqualify {BRUNO} (“two accounts <b>one person</b>”)" in first
    assert entries.locator("b").count() == 0  # the reason's markup stayed text
    page.screenshot(path=shots / "participants-trail.png", full_page=True)
    assert errors.errors == []
    for opened in journey["contexts"]:
        opened.close()
