"""Event chat on moto: functions/chat/chat_api.py (every HTTP route) and the WebSocket `chat` action of
functions/realtime/websocket_api.py, posting through one service. History ordering and paging under concurrent
writers, moderation taking effect at once on both paths (delete, mute, ban, filter), reports, idempotent
reactions, the free-text policy, the chat rate limit, the feature flag, presence and the audit trail.

The flags come from template.yaml's own document, evaluated for the dev stage (where `event_chat` is on), through
Powertools' FeatureFlags over an in-memory store; @connections is the recording double of test_realtime.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from arena import flags
from arena.store import audit
from aws_lambda_powertools.utilities.feature_flags import StoreProvider

from local.template import REPO_ROOT, load_template, resources_of_type
from tests.conftest import api_event
from tests.integration.conftest import Arena, Reply, manager_claims, user_claims
from tests.integration.test_realtime import Realtime, realtime  # noqa: F401  (the fixture)

ADMIN = {"sub": "admin-1", "cognito:groups": "[admin]"}
TRADERS = ["ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal"]


class DocumentStore(StoreProvider):
    """A flags document held in memory, as AppConfig would serve it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    @property
    def get_raw_configuration(self) -> dict[str, Any]:
        return self.document

    def get_configuration(self) -> dict[str, Any]:
        return self.document


def template_flags() -> dict[str, Any]:
    versions = resources_of_type(
        load_template(REPO_ROOT / "template.yaml"), "AWS::AppConfig::HostedConfigurationVersion"
    )
    return json.loads(versions["FeatureFlagsVersion"]["Content"])


@pytest.fixture
def stage_flags(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Given the template's flags document, evaluated for the dev stage (a test may edit the document)."""
    document = template_flags()
    evaluator = flags.ArenaFlags(DocumentStore(document), stage="dev")
    monkeypatch.setattr(flags, "feature_flags", lambda: evaluator)
    yield document


@pytest.fixture
def chat(arena: Arena, realtime: Realtime, stage_flags: dict[str, Any]) -> Chat:  # noqa: F811
    """Given an event with the traders as participants, the chat routes, the WebSocket routes and the flags."""
    event_id = arena.new_event()["id"]
    for user in TRADERS:
        arena.joined(event_id, user)
    return Chat(arena, realtime, event_id)


class Chat:
    def __init__(self, arena: Arena, realtime: Realtime, event_id: str) -> None:  # noqa: F811
        self.arena, self.realtime, self.event_id = arena, realtime, event_id

    def call(
        self,
        sample: str,
        claims: dict[str, Any],
        *,
        path: dict[str, str] | None = None,
        module: ModuleType | None = None,
        **kw: Any,
    ) -> Reply:
        event = api_event(f"chat/{sample}.json", path={"eventId": self.event_id, **(path or {})}, claims=claims, **kw)
        return self.arena.call("chat/chat_api", event, module=module)

    def post(self, user: str, text: Any, module: ModuleType | None = None, **extra: Any) -> Reply:
        return self.call("post_chat", user_claims(user), body={"text": text, **extra}, module=module)

    def posted(self, user: str, text: str) -> dict[str, Any]:
        reply = self.post(user, text)
        assert reply.status == 201, reply
        return reply.body

    def history(self, user: str = "ada", **query: str) -> Reply:
        return self.call("get_chat", user_claims(user), query=query)

    def ids(self, user: str = "ada") -> list[str]:
        reply = self.history(user, limit="100")
        assert reply.status == 200, reply
        return [m["id"] for m in reply.body["items"]]

    def moderate(self, sample: str, body: Any = None, **kw: Any) -> Reply:
        return self.call(sample, ADMIN, body=body, **kw)

    def watcher(self, connection_id: str, user: str) -> None:
        self.realtime.user(connection_id, user, f"chat:{self.event_id}")

    def ws_post(self, connection_id: str, text: Any) -> dict[str, Any]:
        return self.realtime.send(connection_id, "chat", {"action": "chat", "event_id": self.event_id, "text": text})


# ------------------------------------------------------------------------------------------------ ordering


def test_concurrent_writers_each_message_once_in_ulid_order_and_pages_never_skip_or_repeat(
    chat: Chat, load_handler: Callable[..., ModuleType]
) -> None:
    """Given eight traders posting at once (eight threads, ten messages each) while a reader pages the history
    When the reader pages from a cursor taken in the middle, and the whole history is paged afterwards
    Then every message is there once, newest (highest ULID) first, and the pages neither skip nor repeat."""
    first = [chat.posted("ada", f"warm-up {n}")["id"] for n in range(10)]
    page = chat.history(limit="3")
    cursor, seen_during = page.body["next_cursor"], [m["id"] for m in page.body["items"]]
    errors: list[Any] = []

    def write(user: str, handler: ModuleType) -> None:
        for n in range(10):
            reply = chat.post(user, f"{user} says {n}", module=handler)
            if reply.status != 201:
                errors.append(reply)

    # Each writer is its own warm Lambda instance (a resolver serves one request at a time, as in Lambda).
    handlers = {user: load_handler("chat", "chat_api", fresh=True) for user in TRADERS}
    threads = [threading.Thread(target=write, args=(user, handlers[user])) for user in TRADERS]
    for thread in threads:
        thread.start()
    while cursor:  # paging while the writers write
        reply = chat.history(limit="4", cursor=cursor)
        assert reply.status == 200, reply
        seen_during += [m["id"] for m in reply.body["items"]]
        cursor = reply.body["next_cursor"]
    for thread in threads:
        thread.join()
    assert not errors

    # Then the pages read during the writes hold each warm-up message once, in descending id order
    assert len(seen_during) == len(set(seen_during))
    assert set(first) <= set(seen_during)
    assert seen_during == sorted(seen_during, reverse=True)
    # And the whole history, paged by 7, is every message once, newest first
    everything: list[str] = []
    cursor = None
    while True:
        reply = chat.history(limit="7", **({"cursor": cursor} if cursor else {}))
        everything += [m["id"] for m in reply.body["items"]]
        cursor = reply.body["next_cursor"]
        if not cursor:
            break
    assert len(everything) == 10 + 8 * 10 == len(set(everything))
    assert everything == sorted(everything, reverse=True)


def test_a_cursor_of_another_event_or_a_forged_one_is_refused(chat: Chat) -> None:
    """Given a history page's cursor When it is used on another event, or forged Then 400 invalid_cursor."""
    for n in range(3):
        chat.posted("ada", f"line {n}")
    cursor = chat.history(limit="1").body["next_cursor"]
    other = chat.arena.new_event()["id"]
    reply = chat.arena.call(
        "chat/chat_api",
        api_event("chat/get_chat.json", path={"eventId": other}, claims=user_claims("ada"), query={"cursor": cursor}),
    )
    assert (reply.status, reply.code) == (400, "invalid_cursor")
    assert chat.history(cursor="bm90LW91cnM").code == "invalid_cursor"


# ------------------------------------------------------------------------------------------------ moderation


def test_a_deleted_message_leaves_the_history_at_once_and_watchers_get_chat_deleted(chat: Chat) -> None:
    """Given a watcher on the chat topic and a message
    When a moderator deletes it (and an author deletes their own; a stranger tries to delete another's)
    Then it is gone from the history, a chat_deleted push went out, the stranger got 403, all audited."""
    chat.watcher("w1", "bob")
    spam = chat.posted("cy", "buy my course")
    own = chat.posted("dee", "oops typo")
    kept = chat.posted("eve", "hello")
    assert [m["data"]["id"] for m in chat.realtime.api.to("w1", "chat_message")] == [spam["id"], own["id"], kept["id"]]

    stranger = chat.call("delete_chat_message", user_claims("ada"), path={"messageId": kept["id"]})
    assert (stranger.status, stranger.code) == (403, "not_message_author")
    reply = chat.moderate("delete_chat_message", path={"messageId": spam["id"]}, query={"reason": "spam"})
    assert reply.status == 200 and reply.body["deleted"] is True
    assert chat.call("delete_chat_message", user_claims("dee"), path={"messageId": own["id"]}).body["deleted"]

    assert chat.ids() == [kept["id"]]
    deleted = [m["data"]["message_id"] for m in chat.realtime.api.to("w1", "chat_deleted")]
    assert deleted == [spam["id"], own["id"]]
    actions = {(e["action"], e.get("message_id")) for e in audit.history(audit.chat_subject(chat.event_id))}
    assert {("chat_delete", spam["id"]), ("chat_delete_own", own["id"])} <= actions
    # Deleting again changes nothing
    assert chat.moderate("delete_chat_message", path={"messageId": spam["id"]}).body["deleted"] is False


def test_a_muted_user_is_refused_on_http_and_websocket_with_the_reason_and_until_when(chat: Chat) -> None:
    """Given a trader connected on the WebSocket When a moderator mutes them for 30 minutes
    Then their next post is refused on both paths (403 chat_muted, the reason, until when); after the mute is
    lifted, or once it has run out, they post again."""
    chat.watcher("c-cy", "cy")
    assert chat.ws_post("c-cy", "before")["statusCode"] == 200
    muted = chat.moderate("mute_chat_user", {"user_id": "cy", "minutes": 30, "reason": "Flooding the chat"})
    assert muted.status == 200 and muted.body["until"] == "2026-12-01T12:30:00.000Z"

    http = chat.post("cy", "let me talk")
    assert (http.status, http.code) == (403, "chat_muted")
    assert http.body["error"]["details"] == {"reason": "Flooding the chat", "until": "2026-12-01T12:30:00Z"}
    ws = chat.ws_post("c-cy", "let me talk")
    assert ws["statusCode"] == 403 and ws["json"]["error"]["code"] == "chat_muted"
    assert ws["json"]["error"]["details"]["until"] == "2026-12-01T12:30:00Z"

    lifted = chat.moderate("unmute_chat_user", path={"userId": "cy"})
    assert lifted.body["lifted"] is True
    assert chat.post("cy", "thanks").status == 201
    chat.moderate("mute_chat_user", {"user_id": "cy", "minutes": 5, "reason": "Flooding again"})
    assert chat.post("cy", "x").code == "chat_muted"
    chat.arena.clock.set(chat.arena.clock.moment.replace(minute=6))
    assert chat.ws_post("c-cy", "free again")["statusCode"] == 200
    actions = [e["action"] for e in audit.history(audit.chat_subject(chat.event_id))]
    assert actions.count("chat_mute") == 2 and actions.count("chat_unmute") == 1


def test_a_banned_user_can_neither_post_nor_read_nor_watch_until_unbanned(chat: Chat) -> None:
    """Given a trader When banned Then HTTP and WebSocket posts, the history and subscribing to the chat topic
    are refused (403 chat_banned with the reason); unbanned, all work again."""
    chat.realtime.user("c-gus", "gus")
    chat.moderate("ban_chat_user", {"user_id": "gus", "reason": "Phishing links"})
    refused = chat.post("gus", "hi")
    assert (refused.status, refused.code) == (403, "chat_banned")
    assert refused.body["error"]["details"] == {"reason": "Phishing links", "until": None}
    assert chat.ws_post("c-gus", "hi")["json"]["error"]["code"] == "chat_banned"
    assert chat.history("gus").code == "chat_banned"
    subscribe = chat.realtime.subscribe("c-gus", f"chat:{chat.event_id}")
    assert subscribe["statusCode"] == 403 and subscribe["json"]["error"]["code"] == "chat_banned"

    assert chat.moderate("unban_chat_user", path={"userId": "gus"}).body["lifted"] is True
    assert chat.moderate("unban_chat_user", path={"userId": "gus"}).body["lifted"] is False
    assert chat.post("gus", "sorry").status == 201
    assert chat.realtime.subscribe("c-gus", f"chat:{chat.event_id}")["statusCode"] == 200


def test_the_word_filter_refuses_whole_words_on_both_paths_at_once(chat: Chat) -> None:
    """Given a word filter set by a moderator When messages with a filtered word (any case, accents, full-width)
    or phrase arrive on HTTP and WebSocket Then both refuse them (422 chat_filtered naming the entry); words that
    only contain a filtered word pass."""
    chat.watcher("c-ada", "ada")
    put = chat.moderate("put_chat_filter", {"words": ["Scam", "free money"]})
    assert put.body["words"] == ["free money", "scam"]
    assert chat.moderate("get_chat_filter").body["words"] == ["free money", "scam"]
    for text in ("total SCAM", "this is a scám", "\uff53\uff43\uff41\uff4d!", "get FREE   money now"):
        reply = chat.post("bob", text)
        assert (reply.status, reply.code) == (422, "chat_filtered"), text
    ws = chat.ws_post("c-ada", "scam alert")
    assert ws["statusCode"] == 422 and ws["json"]["error"]["code"] == "chat_filtered"
    assert ws["json"]["error"]["details"][0]["word"] == "scam"
    assert chat.post("bob", "scampi for lunch, money is free").status == 201


def test_moderation_needs_an_admin_or_the_events_manager(chat: Chat, arena: Arena) -> None:
    """Given a trader and another event's manager When they try to mute Then 403; the event's own manager may."""
    body = {"user_id": "cy", "minutes": 5, "reason": "Too loud here"}
    assert chat.call("mute_chat_user", user_claims("ada"), body=body).code == "forbidden_role"
    assert chat.call("mute_chat_user", manager_claims("other-manager"), body=body).code == "not_event_manager"
    creator = arena.get_event(chat.event_id).body["created_by"]
    assert chat.call("mute_chat_user", manager_claims(creator), body=body).status == 200


def test_settings_decide_who_reads_and_writes(chat: Chat) -> None:
    """Given chat settings When read is limited to participants, writing to managers, or the chat is off
    Then outsiders cannot read, participants cannot post, nobody but moderators uses it."""
    outsider = chat.history("zed")
    assert outsider.status == 200  # signed_in by default
    assert chat.post("zed", "hi").code == "chat_participants_only"
    chat.moderate("put_chat_settings", {"enabled": True, "read": "participants", "write": "managers"})
    assert chat.moderate("get_chat_settings").body == {
        "event_id": chat.event_id,
        "enabled": True,
        "read": "participants",
        "write": "managers",
    }
    assert chat.history("zed").code == "chat_participants_only"
    assert chat.post("ada", "hi").code == "chat_read_only"
    assert chat.moderate("post_chat", {"text": "Organisers only for now"}).status == 201
    chat.moderate("put_chat_settings", {"enabled": False, "read": "signed_in", "write": "participants"})
    assert chat.history("ada").code == "chat_disabled"


# ------------------------------------------------------------------------------------------------ reports


def test_reports_queue_for_moderators_once_per_reporter_and_resolve_once(chat: Chat) -> None:
    """Given a message reported by two users (one of them twice) When the moderator lists and resolves them
    Then one report per reporter is queued (the reporter is not told the author's user id, the moderators are),
    resolving with `deleted` removes the message, the queue empties, resolving again is 409, and it is audited."""
    bad = chat.posted("cy", "dm me for guaranteed profit")
    first = chat.call("report_chat_message", user_claims("ada"), path={"messageId": bad["id"]}, body={"reason": "Scam"})
    again = chat.call("report_chat_message", user_claims("ada"), path={"messageId": bad["id"]}, body={"reason": "x!"})
    chat.call("report_chat_message", user_claims("bob"), path={"messageId": bad["id"]}, body={"reason": "Spam"})
    assert first.status == 201 and again.body["id"] == first.body["id"] and first.body["author"] is None

    queue = chat.moderate("list_chat_reports", query={"status": "open"})
    assert sorted(r["reporter"] for r in queue.body["items"]) == ["ada", "bob"]
    assert {(r["text"], r["author"]) for r in queue.body["items"]} == {("dm me for guaranteed profit", "cy")}
    path = {"reportId": first.body["id"]}
    resolved = chat.moderate("resolve_chat_report", {"outcome": "deleted", "note": "Scam removed"}, path=path)
    assert resolved.body["status"] == "resolved" and resolved.body["outcome"] == "deleted"
    assert bad["id"] not in chat.ids()
    twice = chat.moderate("resolve_chat_report", {"outcome": "dismissed"}, path=path)
    assert (twice.status, twice.code) == (409, "report_resolved")
    assert [r["reporter"] for r in chat.moderate("list_chat_reports", query={"status": "open"}).body["items"]] == [
        "bob"
    ]
    assert "chat_report_resolve" in [e["action"] for e in audit.history(audit.chat_subject(chat.event_id))]


# ------------------------------------------------------------------------------------------------ reactions, pins


def test_reactions_count_once_per_user_and_emoji(chat: Chat) -> None:
    """Given a message and a watcher When a user reacts twice with one emoji, another user reacts, one takes it
    back Then the count is one per user, repeats change nothing (no push), and chat_reaction pushes carry it."""
    chat.watcher("w", "hal")
    message = chat.posted("ada", "gm")

    def react(user: str, emoji: str, remove: bool = False) -> Reply:
        body = {"emoji": emoji, "remove": remove}
        return chat.call("react_to_chat_message", user_claims(user), path={"messageId": message["id"]}, body=body)

    assert react("bob", "\U0001f525").body["changed"] is True
    repeat = react("bob", "\U0001f525")
    assert repeat.body["changed"] is False and repeat.body["message"]["reactions"] == {"\U0001f525": 1}
    assert react("cy", "\U0001f525").body["message"]["reactions"] == {"\U0001f525": 2}
    assert react("bob", "\U0001f525", remove=True).body["message"]["reactions"] == {"\U0001f525": 1}
    assert react("bob", "\U0001f525", remove=True).body["changed"] is False
    assert react("bob", "fire").code == "invalid_chat_message"
    pushed = [m["data"]["reactions"] for m in chat.realtime.api.to("w", "chat_reaction")]
    assert pushed == [{"\U0001f525": 1}, {"\U0001f525": 2}, {"\U0001f525": 1}]


def test_pins_show_above_the_history_and_are_pushed(chat: Chat) -> None:
    """Given a message When a moderator pins it Then the history's first page lists it as pinned and watchers get
    chat_pinned; unpinned, it is gone from the pinned list."""
    chat.watcher("w", "ada")
    rules = chat.posted("ada", "Rules: be nice")
    assert chat.moderate("pin_chat_message", path={"messageId": rules["id"]}).body["pinned"] is True
    assert [m["id"] for m in chat.history().body["pinned"]] == [rules["id"]]
    assert chat.realtime.api.to("w", "chat_pinned")[0]["data"]["pinned"] is True
    chat.moderate("unpin_chat_message", path={"messageId": rules["id"]})
    assert chat.history().body["pinned"] == []


def test_replies_name_their_parent_and_a_missing_parent_is_404(chat: Chat, named: str) -> None:
    """Given a message When another replies to it (and to a message that does not exist)
    Then the reply carries the parent's id and its author's public handle (their user id only for an admin); the
    missing parent is 404."""
    from arena.domain import community

    parent = chat.posted("ada", "anyone long BTC?")
    reply = chat.post("bob", "me", reply_to=parent["id"])
    assert reply.status == 201 and (reply.body["reply_to"], reply.body["reply_to_author"]) == (
        parent["id"],
        community.handle(named, "ada"),
    )
    assert (reply.body["reply_to_user"], reply.body["user_id"], reply.body["mine"]) == (None, None, True)
    assert chat.history("ada", limit="1").body["items"][0]["user_id"] is None  # ada is a trader too: no ids
    moderated = chat.call("get_chat", ADMIN, query={"limit": "1"}).body["items"][0]
    assert (moderated["user_id"], moderated["reply_to_user"]) == ("bob", "ada")
    assert chat.post("bob", "me", reply_to="01jbnothere000000000000000").code == "chat_message_not_found"


# ------------------------------------------------------------------------------------------------ text, rate, flag


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("bell\x07", "text_character"),
        ("rtl \u202eoverride", "text_character"),
        ("\u200b", "text_character"),
        ("   ", "text_too_short"),
        ("x" * 1001, "text_too_long"),
    ],
)
def test_control_and_invisible_characters_and_bad_lengths_are_refused_on_both_paths(
    chat: Chat, text: str, kind: str
) -> None:
    """Given a message with a control or invisible character, nothing visible, or too long
    When posted over HTTP and WebSocket Then 422 on both, naming why."""
    reply = chat.post("ada", text)
    assert reply.status == 422 and reply.body["error"]["details"][0]["type"] == kind
    chat.realtime.user("c", "ada")
    ws = chat.ws_post("c", text)
    assert ws["statusCode"] == 422 and ws["json"]["error"]["details"][0]["type"] == kind


def test_text_is_stored_as_given_and_escaping_is_the_renderers_job(chat: Chat) -> None:
    """Given HTML-looking text and emoji When posted Then stored and answered exactly as sent (NFC, trimmed)."""
    sent = "  <b>gm</b> & <script>alert(1)</script> \U0001f468\u200d\U0001f469\u200d\U0001f467 e\u0301  "
    reply = chat.post("ada", sent)
    assert (
        reply.body["text"] == "<b>gm</b> & <script>alert(1)</script> \U0001f468\u200d\U0001f469\u200d\U0001f467 \u00e9"
    )
    assert chat.history().body["items"][0]["text"] == reply.body["text"]


def test_posting_too_fast_is_429_with_retry_after_on_both_paths(
    chat: Chat, tables: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a chat quota of 5 posts an hour When a trader posts 5 over HTTP and then one more on each path
    Then the 6th is 429 chat_rate_limited with Retry-After, on the WebSocket too; admins are not limited."""
    from arena.config import settings

    monkeypatch.setenv("RATE_LIMITS", json.dumps({"table": tables["RateLimitsTable"], "quotas": "chat=5/3600"}))
    settings.cache_clear()
    for n in range(5):
        assert chat.post("fay", f"line {n}").status == 201
    refused = chat.post("fay", "one more")
    assert (refused.status, refused.code) == (429, "chat_rate_limited")
    assert int(refused.raw["headers"]["Retry-After"]) >= 600
    chat.realtime.user("c-fay", "fay")
    ws = chat.ws_post("c-fay", "and here")
    assert ws["statusCode"] == 429 and ws["json"]["error"]["details"]["retry_after_seconds"] >= 600
    for n in range(7):
        assert chat.moderate("post_chat", {"text": f"admin {n}"}).status == 201


def test_with_the_flag_off_the_chat_does_not_exist(chat: Chat, stage_flags: dict[str, Any]) -> None:
    """Given the event_chat flag off When the chat is read or posted to, on either path Then 404 feature_disabled."""
    stage_flags["event_chat"] = {"default": False}
    assert (chat.history().status, chat.history().code) == (404, "feature_disabled")
    assert chat.post("ada", "hi").code == "feature_disabled"
    chat.realtime.user("c", "ada")
    assert chat.ws_post("c", "hi")["json"]["error"]["code"] == "feature_disabled"


# ------------------------------------------------------------------------------------------------ presence


def test_presence_counts_watchers_and_pushes_changes(chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given no coalescing window When two connections watch the chat and one leaves
    Then the history says how many watch, and chat_presence pushes follow each change."""
    monkeypatch.setenv("CHAT_PRESENCE_INTERVAL_SECONDS", "0")
    from arena.config import settings

    settings.cache_clear()
    chat.watcher("p1", "ada")
    chat.watcher("p2", "bob")
    assert chat.history().body["watching"] == 2
    assert [m["data"]["watching"] for m in chat.realtime.api.to("p1", "chat_presence")] == [1, 2]
    chat.realtime.send("p2", "unsubscribe", {"action": "unsubscribe", "topic": f"chat:{chat.event_id}"})
    assert chat.history().body["watching"] == 1
    assert [m["data"]["watching"] for m in chat.realtime.api.to("p1", "chat_presence")] == [1, 2, 1]


def test_the_moderation_audit_reads_newest_first_with_the_deleted_text_for_moderators_only(chat: Chat) -> None:
    """Given a moderator who mutes cy for 30 minutes, then deletes cy's message (reason "spam")
    When the sample audit request reads the chat's audit, whole and a page of 1 then the rest by its cursor, and a
    trader asks for it
    Then newest first: the deletion (who, whose message, the reason, the deleted text as sent) then the mute (whom,
    until when, why); the pages join to the whole, and the trader gets 403 forbidden_role."""
    chat.moderate("mute_chat_user", {"user_id": "cy", "minutes": 30, "reason": "Flooding the chat"})
    spam = chat.posted("dee", "<b>buy</b> my course")
    chat.moderate("delete_chat_message", path={"messageId": spam["id"]}, query={"reason": "spam"})

    whole = chat.moderate("get_chat_audit", query={"limit": "20"})
    first = chat.moderate("get_chat_audit", query={"limit": "1"})
    rest = chat.moderate("get_chat_audit", query={"limit": "20", "cursor": first.body["next_cursor"]})
    refused = chat.call("get_chat_audit", user_claims("ada"), query={"limit": "20"})

    assert whole.status == 200, whole.body
    deletion, mute = whole.body["items"]
    assert (deletion["actor"], deletion["action"], deletion["reason"]) == ("admin-1", "chat_delete", "spam")
    assert deletion["details"]["author"] == "dee" and deletion["details"]["text"] == "<b>buy</b> my course"
    assert (mute["action"], mute["user_id"], mute["reason"]) == ("chat_mute", "cy", "Flooding the chat")
    assert mute["details"]["until"] == "2026-12-01T12:30:00.000Z"
    assert whole.body["next_cursor"] is None
    assert first.body["items"] + rest.body["items"] == whole.body["items"]
    assert (refused.status, refused.code) == (403, "forbidden_role")
