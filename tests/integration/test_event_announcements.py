"""An event's announcements through the one announcement service: posted over HTTP or the WebSocket `announce`
action, stored, pinned in the event's chat, sent live on `event:<id>`, planned into every participant's inbox by
the notification planner; listed to anyone signed in; edited and withdrawn (audited).

Exactly once: a connected participant gets one live `announcement` and one inbox item (pushed once on `user:<id>`),
an offline one one inbox item, however often the AnnouncementPosted event is delivered to the planner.
"""

from __future__ import annotations

from typing import Any

from arena.domain.statuses import DomainEvent
from arena.store import audit

from tests.conftest import api_event
from tests.integration.conftest import Arena, Reply, manager_claims, user_claims
from tests.integration.prizes import Bus
from tests.integration.test_chat import stage_flags  # noqa: F401  (the fixture)
from tests.integration.test_notification_pipeline import Pipeline, envelope, inbox_of, pipeline  # noqa: F401
from tests.integration.test_realtime import Realtime, realtime  # noqa: F401  (the fixture)

MAX = manager_claims("max")
TRADERS = ("ivy", "jon", "kim")


def _call(arena: Arena, sample: str, claims: dict[str, Any], **kw: Any) -> Reply:
    return arena.call("notifications/notifications_api", api_event(f"notifications/{sample}.json", claims=claims, **kw))


def _event(arena: Arena) -> str:
    event_id = str(arena.new_event(MAX)["id"])
    for user in TRADERS:
        arena.joined(event_id, user)
    return event_id


def _plan(pipeline: Pipeline, bus: Bus, times: int = 1) -> None:  # noqa: F811
    """The planner gets every AnnouncementPosted on the bus (`times` over: EventBridge delivers at least once)."""
    posted = [detail for kind, detail in bus.drain() if kind == DomainEvent.ANNOUNCEMENT_POSTED.value]
    assert len(posted) == 1, posted
    for _ in range(times):
        pipeline.publish(envelope(DomainEvent.ANNOUNCEMENT_POSTED, posted[0], event_id="bus-delivery-1"))
        pipeline.plan_pages()
        pipeline.deliver_in_app()


def test_an_announcement_reaches_online_and_offline_participants_exactly_once(
    arena: Arena,
    realtime: Realtime,  # noqa: F811
    pipeline: Pipeline,  # noqa: F811
    stage_flags: dict[str, Any],  # noqa: F811
) -> None:
    """Given Max's event with Ivy online (watching event:<id> and her own user:<id>), Jon and Kim offline
    When Max posts an announcement over HTTP and its AnnouncementPosted reaches the planner twice
    Then Ivy's connection gets one live `announcement` and one `notification`; each of the three has exactly one
    inbox item; the announcement is pinned in the event's chat and listed for any signed-in user."""
    bus = Bus()
    event_id = _event(arena)
    realtime.user("c-ivy", "ivy", f"event:{event_id}", "user:ivy")
    posted = _call(
        arena,
        "post_event_announcement",
        MAX,
        path={"eventId": event_id},
        body={"title": "Final hour", "body": "One hour left."},
    )
    assert posted.status == 201, posted
    announcement_id = posted.body["announcement_id"]
    _plan(pipeline, bus, times=2)

    [live] = realtime.api.to("c-ivy", "announcement")
    assert live["data"]["announcement_id"] == announcement_id and live["data"]["text"] == "One hour left."
    [pushed] = realtime.api.to("c-ivy", "notification")
    assert pushed["data"]["title"]
    for user in TRADERS:
        items = inbox_of(user)
        assert len(items) == 1 and items[0].data["announcement_id"] == announcement_id, (user, items)

    chat = arena.call(
        "chat/chat_api", api_event("chat/get_chat.json", path={"eventId": event_id}, claims=user_claims("jon"))
    )
    assert chat.status == 200, chat
    assert [m["id"] for m in chat.body["pinned"]] == [posted.body["chat_message_id"]]
    assert chat.body["pinned"][0]["text"] == "Final hour\nOne hour left."

    listed = _call(arena, "list_event_announcements", user_claims("stranger"), path={"eventId": event_id})
    assert listed.status == 200 and [a["announcement_id"] for a in listed.body["items"]] == [announcement_id]


def test_the_websocket_announce_action_posts_through_the_same_service(
    arena: Arena,
    realtime: Realtime,  # noqa: F811
    pipeline: Pipeline,  # noqa: F811
    stage_flags: dict[str, Any],  # noqa: F811
) -> None:
    """Given Max's event, Max connected and Jon offline
    When Max announces over the WebSocket
    Then the announcement is stored (listed over HTTP with its title), pinned in the chat, and Jon's inbox holds it
    once."""
    bus = Bus()
    event_id = _event(arena)
    realtime.user("c-max", "max", groups=("event-manager",))
    reply = realtime.send(
        "c-max", "announce", {"action": "announce", "event_id": event_id, "title": "Rules", "text": "SOL x2"}
    )
    assert reply["statusCode"] == 200, reply
    _plan(pipeline, bus)
    listed = _call(arena, "list_event_announcements", user_claims("jon"), path={"eventId": event_id}).body["items"]
    assert [(a["announcement_id"], a["title"], a["body"]) for a in listed] == [
        (reply["json"]["announcement_id"], "Rules", "SOL x2")
    ]
    assert listed[0]["chat_message_id"]
    [item] = inbox_of("jon")
    assert item.data["announcement_id"] == reply["json"]["announcement_id"]


def test_editing_and_withdrawing_are_audited_and_withdrawing_twice_changes_nothing(
    arena: Arena,
    realtime: Realtime,  # noqa: F811
    stage_flags: dict[str, Any],  # noqa: F811
) -> None:
    """Given an announcement Max posted to his event, and a fan watching event:<id>
    When a trader tries to edit it, Max edits it, then withdraws it twice
    Then the trader gets 403; the edit is sent live and audited with the old text; the withdrawal unpins it, takes
    it off the list, is sent live and audited once."""
    event_id = _event(arena)
    realtime.user("c-fan", "fan", f"event:{event_id}")
    posted = _call(
        arena, "post_event_announcement", MAX, path={"eventId": event_id}, body={"title": "Hi", "body": "First text."}
    ).body
    path = {"eventId": event_id, "announcementId": posted["announcement_id"]}
    change = {"title": "Hi", "body": "Second text.", "reason": "typo"}
    refused = _call(arena, "edit_event_announcement", user_claims("ivy"), path=path, body=change)
    assert refused.status == 403, refused
    edited = _call(arena, "edit_event_announcement", MAX, path=path, body=change)
    assert edited.status == 200 and edited.body["body"] == "Second text." and edited.body["edited_at"], edited
    assert [m["data"]["text"] for m in realtime.api.to("c-fan", "announcement")] == ["First text.", "Second text."]

    for _ in range(2):
        withdrawn = _call(arena, "withdraw_event_announcement", MAX, path=path, query={"reason": "wrong event"})
        assert withdrawn.status == 200 and withdrawn.body["withdrawn_at"], withdrawn
    assert len(realtime.api.to("c-fan", "announcement_withdrawn")) == 1
    listed = _call(arena, "list_event_announcements", user_claims("jon"), path={"eventId": event_id})
    assert listed.body["items"] == []
    chat = arena.call(
        "chat/chat_api", api_event("chat/get_chat.json", path={"eventId": event_id}, claims=user_claims("jon"))
    )
    assert chat.body["pinned"] == []

    history = audit.history(audit.event_subject(event_id))
    actions = [(r["action"], r.get("reason")) for r in history if "announce" in r["action"]]
    assert actions == [("announcement_edited", "typo"), ("announcement_withdrawn", "wrong event")]
    edit_record = next(r for r in audit.history(audit.event_subject(event_id)) if r["action"] == "announcement_edited")
    assert edit_record["old_body"] == "First text."


def test_an_announcement_still_goes_out_when_the_event_chat_is_off(
    arena: Arena,
    realtime: Realtime,  # noqa: F811
) -> None:
    """Given the event_chat flag off (its default) and a fan watching the event
    When Max announces over HTTP
    Then it is stored and sent live, without a chat line."""
    event_id = _event(arena)
    realtime.user("c-fan", "fan", f"event:{event_id}")
    posted = _call(
        arena, "post_event_announcement", MAX, path={"eventId": event_id}, body={"title": "Hi", "body": "Text."}
    )
    assert posted.status == 201 and posted.body["chat_message_id"] is None, posted
    assert len(realtime.api.to("c-fan", "announcement")) == 1
