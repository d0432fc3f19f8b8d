"""Community and sharing on moto: opt-in profiles (at once both ways), anonymised names, follows of public traders
with their ranks, share pages (Open Graph / X tags) and PNG cards checked pixel by pixel against the text they
must show, the privacy scan of every public answer and push (community, sharing, leaderboards, standings, the
event's WebSocket topics), leaderboards naming traders as they chose, and referrals counted once per invitee.
"""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from arena.domain import community as rules
from arena.domain import share_card
from PIL import Image

from tests.conftest import api_event, sample_event
from tests.integration.conftest import Arena, Reply, manager_claims, trade, user_claims
from tests.integration.test_chat import Chat, stage_flags  # noqa: F401  (the fixture)
from tests.integration.test_realtime import Realtime, realtime  # noqa: F401  (the fixture)

SECRET = "test-community-secret-0123456789abcdef"
EIGHT = datetime(2026, 12, 1, 8, tzinfo=UTC)
# The anonymous trader's id is long and distinctive, so a scan of the answers' bytes cannot miss it.
ANON = "anon-user-7f3e9c2a41"
VOLUMES = {"ada": "5000", ANON: "3000", "bob": "1000", "cy": "500"}


@pytest.fixture
def community(arena: Arena, monkeypatch: pytest.MonkeyPatch, stage_flags: dict[str, Any]) -> Community:  # noqa: F811
    """Given the community secret, the flags of the dev stage, and an event by volume (managed by Max) in which
    ada (5000), the anonymous trader (3000), bob (1000) and cy (500) traded."""
    from arena.config import settings

    monkeypatch.setenv("COMMUNITY_SECRET", SECRET)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://arena.example")
    settings.cache_clear()
    arena.clock.set(EIGHT)
    event_id = str(arena.new_event(manager_claims("max"))["id"])
    for user in VOLUMES:
        arena.joined(event_id, user)
    arena.clock.set(datetime(2026, 12, 1, 12, tzinfo=UTC))
    trades = [
        trade(f"t-{user}", user, "2026-12-01T09:00:00.000Z", quantity="1", price=volume)
        for user, volume in VOLUMES.items()
    ]
    assert arena.ingest(trades).status == 200
    arena.stream.drain()
    return Community(arena, event_id)


class Community:
    def __init__(self, arena: Arena, event_id: str) -> None:
        self.arena, self.event_id = arena, event_id

    def call(self, sample: str, user: str | None, **kw: Any) -> Reply:
        claims = None if user is None else user_claims(user)
        event = api_event(f"community/{sample}.json", claims=claims, **kw)
        if user is None:
            event["requestContext"].pop("authorizer", None)
        return self.arena.call("community/community_api", event)

    def ok(self, sample: str, user: str | None, **kw: Any) -> Reply:
        reply = self.call(sample, user, **kw)
        assert reply.status == 200, (sample, reply)
        return reply

    def go_public(self, user: str, name: str, **extra: Any) -> dict[str, Any]:
        return self.ok("put_my_profile", user, body={"public": True, "display_name": name, **extra}).body

    def handle(self, user: str) -> str:
        return str(self.ok("get_my_profile", user).body["identity"]["handle"])

    def card(self, user: str) -> Image.Image:
        path = {"handle": self.handle(user), "eventId": self.event_id}
        reply = self.ok("get_rank_card", None, path=path)
        assert reply.raw["headers"]["Content-Type"] == "image/png"
        data = base64.b64decode(reply.body) if reply.raw.get("isBase64Encoded") else reply.body
        return Image.open(io.BytesIO(data))


def _region(image: Image.Image, line: share_card.Line) -> bytes:
    return image.convert("RGB").crop((0, line.y, share_card.WIDTH, line.y + int(line.size * 1.4))).tobytes()


def _shows(image: Image.Image, line: share_card.Line) -> bool:
    """The card's band at the line's place is, pixel for pixel, that text alone drawn there."""
    return _region(image, line) == _region(share_card.draw([line]), line)


def test_a_rank_card_shows_the_rank_percentile_and_score_and_the_anonymised_name(community: Community) -> None:
    """Given the anonymous trader ranked 2nd of 4 with 3000
    When their card is fetched without a token
    Then it is a 1200x630 PNG whose bands show, pixel for pixel, their anonymised name, "Rank #2 of 4",
    "Top 50.0%" and "Score 3000", and no prize line."""
    image = community.card(ANON)
    assert image.format == "PNG" and image.size == (share_card.WIDTH, share_card.HEIGHT)
    name = rules.anonymised_name(SECRET, ANON)
    expected = share_card.rank_lines("", name, 2, 4, Decimal("50.0"), Decimal("3000"), None)
    for line in expected[1:]:
        assert _shows(image, line), line.text
    prize_band = share_card.Line(480, "", share_card.LINE_SIZE)
    assert _shows(image, prize_band), "a prize line is drawn although none may be shown"


def test_the_domain_card_draws_a_prize_only_when_given_one() -> None:
    """Given the same card with and without a prize
    When both are rendered
    Then only the first has the prize band drawn, and it is the prize text."""
    with_prize = share_card.draw(share_card.rank_lines("Cup", "Ada", 1, 9, Decimal("11.1"), Decimal(5), "100 USDT"))
    without = share_card.draw(share_card.rank_lines("Cup", "Ada", 1, 9, Decimal("11.1"), Decimal(5), None))
    band = share_card.Line(480, "Prize 100 USDT", share_card.LINE_SIZE, share_card.ACCENT)
    assert _shows(with_prize, band)
    assert _shows(without, share_card.Line(480, "", share_card.LINE_SIZE))


def test_profiles_are_opt_in_and_a_change_takes_effect_at_once(community: Community) -> None:
    """Given ada without a public profile
    When she opts in, then out again
    Then her profile is 404 before, public after opting in (name, badges, best rank 1 of 4), 404 again after opting
    out; her card shows her chosen name only while public."""
    handle = community.handle("ada")
    assert community.call("get_trader", "bob", path={"handle": handle}).status == 404
    community.go_public("ada", "Ada L.")
    profile = community.ok("get_trader", "bob", path={"handle": handle}).body
    assert profile["identity"]["name"] == "Ada L." and profile["events_joined"] == 1
    assert profile["best_ranks"][0]["rank"] == 1 and profile["best_ranks"][0]["total"] == 4
    assert profile["badges"] == ["first_event", "top_ten", "podium", "champion"]
    assert _shows(community.card("ada"), share_card.Line(140, "Ada L.", share_card.LINE_SIZE))
    community.ok("put_my_profile", "ada", body={"public": False})
    assert community.call("get_trader", "bob", path={"handle": handle}).status == 404
    anonymised = rules.anonymised_name(SECRET, "ada")
    assert _shows(community.card("ada"), share_card.Line(140, anonymised, share_card.LINE_SIZE))


def test_a_display_name_follows_the_text_policy_and_cannot_pose_as_an_anonymised_one(community: Community) -> None:
    """Given ada
    When she opts in with a name that looks like an anonymised one, one with a control character, or none
    Then each is refused with 422."""
    for body in (
        {"public": True, "display_name": "Trader 7KQ2"},
        {"public": True, "display_name": "Ada\u202e"},
        {"public": True},
    ):
        assert community.call("put_my_profile", "ada", body=body).status == 422, body


def test_only_public_traders_can_be_followed_and_their_ranks_are_listed(community: Community) -> None:
    """Given ada public and the anonymous trader not
    When bob follows both, then ada goes private
    Then following the anonymous trader is 404; bob's list shows ada ranked 1 of 4 until she goes private."""
    community.go_public("ada", "Ada L.")
    assert community.call("follow_trader", "bob", path={"handle": community.handle(ANON)}).status == 404
    community.ok("follow_trader", "bob", path={"handle": community.handle("ada")})
    [followed] = community.ok("get_following", "bob").body["items"]
    assert followed["identity"]["name"] == "Ada L." and [(r["rank"], r["total"]) for r in followed["ranks"]] == [(1, 4)]
    community.ok("put_my_profile", "ada", body={"public": False})
    assert community.ok("get_following", "bob").body["items"] == []


def test_share_pages_carry_open_graph_and_x_tags_and_the_referral_code(community: Community) -> None:
    """Given bob's share link (with his referral code)
    When its page is fetched without a token, with the code and with a forged one
    Then the page has og:image and twitter:image naming the card's URL and a large-image card; the join link
    carries bob's code, never the forged text."""
    link = community.ok("get_my_share_link", "bob", path={"eventId": community.event_id}).body
    code = link["url"].split("?ref=")[1]
    path = {"handle": community.handle("bob"), "eventId": community.event_id}
    page = community.ok("get_rank_share_page", None, path=path, query={"ref": code}).body
    assert f'<meta property="og:image" content="{link["image_url"]}">' in page
    assert f'<meta name="twitter:image" content="{link["image_url"]}">' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    assert f"?ref={code}" in page
    forged = community.ok("get_rank_share_page", None, path=path, query={"ref": '"><script>'}).body
    assert "<script>" not in forged and "?ref=" not in forged


def _bytes(reply: Reply) -> bytes:
    raw = reply.raw["body"] or ""
    return base64.b64decode(raw) if reply.raw.get("isBase64Encoded") else raw.encode()


def test_an_anonymous_traders_id_never_appears_in_any_public_answer_or_push(
    community: Community,
    realtime: Realtime,  # noqa: F811
) -> None:
    """Given the anonymous trader ranked 2nd (on the podium), ada public, bob following ada, and a trader watching the
    event's leaderboard and event topics over the WebSocket
    When every community and sharing route, the leaderboard (a page, and paged one row at a time, with and without
    If-None-Match) and every other trader's standing with neighbours are read (as other traders and without a
    token), the anonymous trader chats (posts, is replied to, reacts, is pinned, is reported, deletes) while others
    read the chat and watch chat:<event>, trades again (a leaderboard push) and a prize rollback refusing their prize
    is pushed on the event topic
    Then no answer's bytes and no pushed frame contain the anonymous trader's user id; the podium card names them
    anonymised; the answers that do carry user ids are only an admin's and the event manager's."""
    arena = community.arena
    community.go_public("ada", "Ada L.")
    community.ok("follow_trader", "bob", path={"handle": community.handle("ada")})
    realtime.user("c-fan", "fan", f"leaderboard:{community.event_id}", f"event:{community.event_id}")
    anon_handle = community.handle(ANON)
    event = {"eventId": community.event_id}
    answers = [
        community.call("get_trader", "bob", path={"handle": anon_handle}),
        community.call("follow_trader", "bob", path={"handle": anon_handle}),
        community.ok("get_following", "bob"),
        community.ok("get_podium_share_link", "bob", path=event),
        community.ok("get_podium_share_page", None, path=event),
        community.ok("get_podium_card", None, path=event),
        community.ok("get_rank_share_page", None, path={"handle": anon_handle, **event}),
        community.ok("get_rank_card", None, path={"handle": anon_handle, **event}),
        community.ok("get_trader", "bob", path={"handle": community.handle("ada")}),
    ]
    for viewer in ("ada", "bob", "cy", "fan"):
        page = arena.leaderboard(community.event_id, claims=user_claims(viewer))
        answers.append(page)
        etag = page.raw["headers"]["ETag"]
        event_request = api_event("leaderboard/get_leaderboard.json", path=event, claims=user_claims(viewer))
        event_request["headers"]["if-none-match"] = etag
        assert arena.call("leaderboard/get_leaderboard", event_request).status == 304
        cursor = None
        for _ in VOLUMES:
            query = {"limit": "1", **({"cursor": cursor} if cursor else {})}
            one = arena.leaderboard(community.event_id, query, claims=user_claims(viewer))
            answers.append(one)
            cursor = one.body["next_cursor"]
    for user in ("ada", "bob", "cy"):
        answers.append(arena.my_rank(community.event_id, user, around=3))

    # The event's chat: the anonymous trader posts, is replied to, reacts, pins are pushed; another reads it all
    chat = Chat(arena, realtime, community.event_id)
    chat.watcher("c-chat", "cy")
    said = chat.posted(ANON, "gm everyone")
    answer = chat.post("bob", "gm", reply_to=said["id"]).body
    answers.append(
        chat.call(
            "react_to_chat_message", user_claims(ANON), path={"messageId": answer["id"]}, body={"emoji": "\U0001f525"}
        )
    )
    chat.moderate("pin_chat_message", path={"messageId": said["id"]})
    answers += [chat.history("bob"), chat.post("cy", "me too", reply_to=said["id"])]
    assert ANON in [m["user_id"] for m in chat.call("get_chat", manager_claims("max")).body["items"]]
    report = {"reason": "Spam"}
    answers.append(chat.call("report_chat_message", user_claims("bob"), path={"messageId": said["id"]}, body=report))
    answers.append(chat.call("delete_chat_message", user_claims(ANON), path={"messageId": said["id"]}))

    arena.ingest([trade("t-anon-2", ANON, "2026-12-01T10:00:00.000Z", quantity="1", price="4000")])
    realtime.settle()
    rollback = {
        **sample_event("realtime/push_domain_event.json"),
        "id": "rollback-1",
        "detail-type": "PrizesRolledBack",
        "detail": {"event_id": community.event_id, "run_id": "r1", "rolled_back": 1, "refused": [{"user_id": ANON}]},
    }
    realtime.load("realtime", "push_domain_event").lambda_handler(rollback, arena.context)

    for reply in answers:
        assert reply.status in (200, 201, 404), reply
        assert ANON.encode() not in _bytes(reply), reply
    pushes = realtime.api.to("c-fan") + realtime.api.to("c-chat")
    assert {m["type"] for m in pushes} >= {"leaderboard", "prizes", "chat_message", "chat_reaction", "chat_deleted"}
    for message in pushes:
        assert ANON not in json.dumps(message), message
    board = [m for m in pushes if m["type"] == "leaderboard"][-1]["data"]["rows"]
    assert board[0]["handle"] == anon_handle and board[0]["name"] == rules.anonymised_name(SECRET, ANON)
    podium = community.ok("get_podium_card", None, path=event)
    image = Image.open(io.BytesIO(base64.b64decode(podium.body)))
    # The anonymous trader leads now (3000 + 4000), ada second
    top = share_card.podium_lines(
        "", [(1, rules.anonymised_name(SECRET, ANON), Decimal(7000)), (2, "Ada L.", Decimal(5000))]
    )
    assert _shows(image, top[2]) and _shows(image, top[3])
    for moderator in (None, manager_claims("max")):  # None: the fixture's admin
        rows = arena.leaderboard(community.event_id, **({"claims": moderator} if moderator else {})).body["entries"]
        assert ANON in [r["user_id"] for r in rows]


def test_a_leaderboard_names_traders_as_they_chose_at_once_and_marks_my_row(community: Community) -> None:
    """Given ada, bob, cy and the anonymous trader on the board, nobody public
    When bob reads the board and his standing, ada opts in as "Ada L.", then out again
    Then bob sees anonymised names and handles (no user ids), his own row marked `me` and his handle in his
    standing; ada's row shows "Ada L." while she is public and her anonymised name again after; the handle stays."""
    arena = community.arena
    bob = user_claims("bob")

    def names() -> dict[str, tuple[str, str, bool]]:
        rows = arena.leaderboard(community.event_id, claims=bob).body["entries"]
        assert all(r["user_id"] is None for r in rows)
        return {r["handle"]: (r["name"], r["initials"], r["me"]) for r in rows}

    handles = {u: community.handle(u) for u in VOLUMES}
    before = names()
    assert before == {
        handles[u]: (
            rules.anonymised_name(SECRET, u),
            rules.initials(rules.anonymised_name(SECRET, u)),
            u == "bob",
        )
        for u in VOLUMES
    }
    standing = arena.my_rank(community.event_id, "bob", around=1).body
    assert (standing["handle"], standing["name"]) == (handles["bob"], rules.anonymised_name(SECRET, "bob"))
    assert [r["handle"] for r in standing["above"] + standing["below"]] == [handles[ANON], handles["cy"]]

    community.go_public("ada", "Ada L.")
    assert names()[handles["ada"]] == ("Ada L.", "AL", False)
    community.ok("put_my_profile", "ada", body={"public": False})
    assert names() == before


def test_without_the_community_secret_no_trader_is_named_and_admins_still_see_user_ids(
    community: Community, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given the board of the fixture, ada public, then the community secret removed (the feature not set up)
    When bob and an admin read the board and bob his standing
    Then bob's rows carry no handle, the one anonymous name and no user id, his own row marked `me`; the admin's
    rows carry every user id; bob's standing has no handle."""
    from arena import factories

    community.go_public("ada", "Ada L.")
    monkeypatch.setenv("COMMUNITY_SECRET", "")
    factories.reset()
    arena = community.arena
    rows = arena.leaderboard(community.event_id, claims=user_claims("bob")).body["entries"]
    assert [(r["handle"], r["name"], r["user_id"], r["me"]) for r in rows] == [
        (None, "Anonymous trader", None, u == "bob") for u in VOLUMES
    ]
    body = _bytes(arena.leaderboard(community.event_id, claims=user_claims("bob")))
    assert not any(u.encode() in body for u in VOLUMES if u != "bob")
    assert [r["user_id"] for r in arena.leaderboard(community.event_id).body["entries"]] == list(VOLUMES)
    assert arena.my_rank(community.event_id, "bob").body["handle"] is None


def test_a_referral_is_counted_once_per_invitee(community: Community) -> None:
    """Given bob's referral code and a second event
    When dee joins the first event through it, then the second one through it, and bob joins with his own code
    Then the first event counts one referral for bob, the second none; the counts are the managers'."""
    arena = community.arena
    code = community.ok("get_my_profile", "bob").body["referral_code"]
    other = str(arena.new_event(manager_claims("max"))["id"])

    def join(event_id: str, user: str) -> None:
        event = api_event(
            "participants/join_event.json", path={"eventId": event_id}, query={"ref": code}, claims=user_claims(user)
        )
        assert arena.call("participants/join_event", event).status == 201

    join(community.event_id, "dee")
    join(other, "dee")
    join(other, "bob")
    counts = community.call("get_referrals", None, path={"eventId": community.event_id})
    event = api_event(
        "community/get_referrals.json", path={"eventId": community.event_id}, claims=manager_claims("max")
    )
    counts = arena.call("community/community_api", event)
    assert counts.status == 200 and counts.body["total"] == 1, counts
    assert counts.body["referrers"] == [{"referrer": "bob", "referrals": 1}]
    event["pathParameters"]["eventId"] = other
    event = api_event("community/get_referrals.json", path={"eventId": other}, claims=manager_claims("max"))
    assert arena.call("community/community_api", event).body["total"] == 0
    refused = api_event("community/get_referrals.json", path={"eventId": other}, claims=user_claims("bob"))
    assert arena.call("community/community_api", refused).status == 403


def test_anonymised_names_and_handles_are_stable_and_keyed() -> None:
    """Given two keys
    When the same user's name and handle are derived twice under one key and once under the other
    Then they are the same under one key, differ under the other, and never contain the user id."""
    assert rules.anonymised_name("k1", "ada") == rules.anonymised_name("k1", "ada")
    assert rules.handle("k1", "ada") != rules.handle("k2", "ada")
    assert rules.anonymised_name("k1", "ada").startswith("Trader ") and len(rules.anonymised_name("k1", "ada")) == 11
    assert "ada" not in rules.handle("k1", "ada")
    assert rules.top_percent(1, 10_000) == Decimal("0.1") and rules.top_percent(2, 4) == Decimal("50.0")
