"""The notifications routes on moto (functions/notifications/notifications_api.py): a trader's inbox (paging,
unread count, read, read all), preferences (round trip, optimistic locking, time zones), Discord and Telegram
linking by code (over real HTTP to stand-ins of the providers), push devices (SNS platform endpoints in moto), the
unsubscribe link without sign-in, and admin announcements (preview, post, fencing, delivery counts)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import boto3
import pytest
from arena.domain.notifications import (
    Channel,
    DeliveryStatus,
    Notification,
    NotificationType,
    notification_id,
)
from arena.domain.unsubscribe import unsubscribe_token
from arena.store import notifications as store

from tests.conftest import _clear_caches, sample_event
from tests.integration.conftest import Arena, Reply, manager_claims, user_claims
from tests.integration.prizes import Bus

SECRET = "integration-signing-secret-0123456789abcdef"
MIA = user_claims("mia")
ADMIN = {**MIA, "sub": "admin-1", "cognito:groups": "[admin]"}


# ------------------------------------------------------------------------------------------------ providers


class Providers(ThreadingHTTPServer):
    """Discord's webhook and Telegram's sendMessage as they answer a message (paths, JSON shapes, 404 for an
    unknown webhook), recording each text received, so a test reads the code a user would have read."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProviderHandler)
        self.received: list[tuple[str, str]] = []  # (address, text)
        self.known_webhooks = {"1234567890/webhook-token"}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def last_code(self, address: str) -> str:
        texts = [text for to, text in self.received if to == address]
        found = re.search(r"\b([0-9]{6})\b", texts[-1])
        assert found, texts
        return found.group(1)


class _ProviderHandler(BaseHTTPRequestHandler):
    server: Providers

    def log_message(self, *_: Any) -> None:
        return

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        path = self.path.split("?", 1)[0]
        if path.startswith("/discord/api/webhooks/"):
            webhook = path.removeprefix("/discord/api/webhooks/")
            if webhook not in self.server.known_webhooks:
                self._answer(404, {"message": "Unknown Webhook", "code": 10015})
                return
            self.server.received.append((f"{self.server.base}/discord/api/webhooks/{webhook}", payload["content"]))
            self._answer(200, {"id": "1", "content": payload["content"]})
            return
        if re.fullmatch(r"/telegram/bot[^/]+/sendMessage", path):
            self.server.received.append((str(payload["chat_id"]), payload["text"]))
            self._answer(200, {"ok": True, "result": {"message_id": 1, "chat": {"id": payload["chat_id"]}}})
            return
        self._answer(404, {"ok": False, "description": "Not Found"})


@pytest.fixture
def providers() -> Iterator[Providers]:
    server = Providers()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# ------------------------------------------------------------------------------------------------ the API


class Api:
    """The notifications function, called with its samples from events/notifications/ as API Gateway would."""

    def __init__(self, module: ModuleType, context: Any) -> None:
        self.module, self.context = module, context

    def call(
        self,
        sample: str,
        *,
        claims: dict[str, Any] | None = MIA,
        body: Any = None,
        path: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        event = sample_event(f"notifications/{sample}.json")
        if claims is None:
            event["requestContext"].pop("authorizer", None)
        else:
            event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        if body is not None:
            event["body"] = json.dumps(body)
        if path is not None:
            event["pathParameters"] = path
            raw = event["routeKey"].split(" ", 1)[1]
            for name, value in path.items():
                raw = raw.replace("{" + name + "}", value)
            event["rawPath"] = event["requestContext"]["http"]["path"] = raw
        if query is not None:
            event["queryStringParameters"] = query
            event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
        if headers is not None:
            event["headers"] = {**event["headers"], **headers}
        return Reply(self.module.lambda_handler(event, self.context))


@pytest.fixture
def api(
    tables: dict[str, str],
    frozen_clock: Any,
    lambda_context: Any,
    load_handler: Callable[..., ModuleType],
    providers: Providers,
    monkeypatch: pytest.MonkeyPatch,
) -> Api:
    """Given the template's tables in moto, the clock at 2026-12-01T12:00:00.000Z, a signing secret, and Discord and
    Telegram served by the stand-ins."""
    monkeypatch.setenv("NOTIFICATIONS_TABLE", tables["NotificationsTable"])
    # An event's announcement is sent live on event:<id> (the function's CONNECTIONS_TABLE in template.yaml).
    monkeypatch.setenv("CONNECTIONS_TABLE", tables["ConnectionsTable"])
    monkeypatch.setenv("NOTIFICATIONS_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("DISCORD_API_BASE", f"{providers.base}/discord/api")
    monkeypatch.setenv("TELEGRAM_API_BASE", f"{providers.base}/telegram")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:bot-token")
    _clear_caches()
    return Api(load_handler("notifications", "notifications_api"), lambda_context)


def stored_inbox(user_id: str, count: int, clock: Any) -> list[str]:
    """`count` in-app notifications for the user, one a minute before the clock; their ids, oldest first."""
    items = []
    for n in range(count):
        at = clock.now() - timedelta(minutes=count - n)
        nid = notification_id(f"source-{n}", user_id, NotificationType.MILESTONE, at)
        items.append(
            store.InboxItem(
                notification_id=nid,
                user_id=user_id,
                type=NotificationType.MILESTONE,
                event_id="ev-1",
                title=f"Milestone {n}",
                body="You made your first trade.",
                data={"milestone": "first_trade"},
                created_at=at,
                read_at=None,
            )
        )
    store.put_inbox(items)
    return [item.notification_id for item in items]


# ------------------------------------------------------------------------------------------------ inbox


def test_the_inbox_pages_newest_first_with_a_cursor(api: Api, frozen_clock: Any) -> None:
    """Given 5 notifications in Mia's inbox and 1 in Bob's
    When Mia pages it 2 at a time
    Then she reads her 5, newest first, each once, then no cursor; a cursor not ours is a 400."""
    ids = stored_inbox("mia", 5, frozen_clock)
    stored_inbox("bob", 1, frozen_clock)
    seen, cursor = [], None
    for _ in range(5):
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.call("list_notifications", query=query)
        assert page.status == 200, page
        seen += [item["notification_id"] for item in page.body["items"]]
        cursor = page.body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    assert all(item["read"] is False for item in page.body["items"])
    assert api.call("list_notifications", query={"cursor": "not-a-cursor"}).status == 400


def test_unread_count_read_one_and_read_all(api: Api, frozen_clock: Any) -> None:
    """Given 3 unread notifications
    When Mia reads one, then all, and asks for an id she does not have
    Then the unread count goes 3, 2, 0; the unread-only page follows it; the unknown id is a 404."""
    ids = stored_inbox("mia", 3, frozen_clock)
    assert api.call("get_unread_count").body == {"count": 3, "capped": False, "cap": 99}
    read = api.call("mark_notification_read", path={"notificationId": ids[0]})
    assert read.status == 200 and read.body == {"notification_id": ids[0], "read": True}, read
    assert api.call("get_unread_count").body["count"] == 2
    unread = api.call("list_notifications", query={"unread": "true"}).body["items"]
    assert [item["notification_id"] for item in unread] == [ids[2], ids[1]]
    assert api.call("mark_notification_read", path={"notificationId": "01JBNOSUCHNOTIFICATION0000"}).status == 404
    everything = api.call("read_all_notifications")
    assert everything.status == 204, everything
    assert api.call("get_unread_count").body["count"] == 0
    assert all(item["read"] for item in api.call("list_notifications").body["items"])


# ------------------------------------------------------------------------------------------------ preferences


def test_preferences_round_trip_with_optimistic_locking(api: Api) -> None:
    """Given a user who never chose anything
    When she reads her preferences, changes them with the version read, then sends that stale version again
    Then she first reads the defaults (in-app on, prize email on, Telegram off) at version 0, then exactly what
    she sent at version 1; the stale write is a 409 and changed nothing."""
    first = api.call("get_notification_preferences")
    assert first.status == 200, first
    assert first.body["version"] == 0
    assert first.body["channels"]["rank_change"]["in_app"] is True
    assert first.body["channels"]["prize_won"]["email"] is True
    assert first.body["channels"]["rank_change"]["telegram"] is False
    sent = json.loads(sample_event("notifications/put_notification_preferences.json")["body"])
    changed = api.call("put_notification_preferences", body=sent)
    assert changed.status == 200, changed
    assert changed.body["version"] == 1
    assert changed.body["channels"]["rank_change"]["telegram"] is True
    assert changed.body["channels"]["rank_change"]["email"] is False
    assert changed.body["channels"]["prize_won"]["discord"] is True
    assert changed.body["quiet_hours"] == {"start": "22:00:00", "end": "07:00:00", "timezone": "Europe/Paris"}
    assert changed.body["digest"] == {"enabled": True, "hour": 8}
    again = api.call("get_notification_preferences")
    assert again.body == changed.body
    stale = api.call("put_notification_preferences", body={**sent, "quiet_hours": None})
    assert stale.status == 409 and stale.code == "version_conflict", stale
    assert api.call("get_notification_preferences").body == changed.body


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "Europe/Paris\u202e", "UTC+25"])
def test_an_unknown_time_zone_is_refused(api: Api, zone: str) -> None:
    """Given quiet hours in a time zone that is not an IANA name
    When they are sent
    Then the answer is a 422 naming quiet_hours.timezone, and nothing was stored."""
    body = {"version": 0, "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": zone}}
    refused = api.call("put_notification_preferences", body=body)
    assert refused.status == 422, refused
    assert any(d["field"].endswith("quiet_hours.timezone") for d in refused.body["error"]["details"]), refused
    assert api.call("get_notification_preferences").body["version"] == 0


# ------------------------------------------------------------------------------------------------ linking


def test_telegram_is_linked_with_the_code_it_received(api: Api, providers: Providers) -> None:
    """Given a Telegram chat
    When Mia links it, sends a wrong code, then the code the chat received
    Then the link is PENDING, the wrong code is a 400 with 4 attempts left, the right one VERIFIES it, and the
    channel list shows it; unlinking removes it (a second unlink is a 404)."""
    started = api.call("link_notification_channel", body={"address": "987654321"})
    assert started.status == 201, started
    assert started.body["status"] == "PENDING" and started.body["code_expires_at"] == "2026-12-01T12:15:00.000Z"
    code = providers.last_code("987654321")
    wrong = api.call("verify_notification_channel", body={"code": f"{(int(code) + 1) % 1_000_000:06d}"})
    assert wrong.status == 400 and wrong.code == "wrong_code" and wrong.body["error"]["details"]["attempts_left"] == 4
    verified = api.call("verify_notification_channel", body={"code": code})
    assert verified.status == 200, verified
    assert verified.body == {
        "channel": "telegram",
        "status": "VERIFIED",
        "address": "987654321",
        "linked_at": "2026-12-01T12:00:00.000Z",
    }
    listed = api.call("list_notification_channels").body
    assert [(link["channel"], link["status"]) for link in listed["links"]] == [("telegram", "VERIFIED")]
    assert api.call("unlink_notification_channel").status == 204
    assert api.call("unlink_notification_channel").status == 404
    assert api.call("list_notification_channels").body["links"] == []


def test_a_discord_webhook_is_checked_and_its_token_never_shown(api: Api, providers: Providers) -> None:
    """Given Discord's webhook base
    When Mia links a URL elsewhere, an unknown webhook, then a real one
    Then the foreign URL is a 422 before any call, the unknown webhook a 422 (Discord said 404), and the real one
    PENDING with its token hidden; its code verifies it."""
    elsewhere = api.call(
        "link_notification_channel", path={"channel": "discord"}, body={"address": "https://evil.example/webhooks/1/x"}
    )
    assert elsewhere.status == 422 and elsewhere.code == "invalid_address", elsewhere
    base = f"{providers.base}/discord/api/webhooks/"
    unknown = api.call("link_notification_channel", path={"channel": "discord"}, body={"address": base + "1/nope"})
    assert unknown.status == 422 and unknown.code == "channel_refused", unknown
    webhook = base + "1234567890/webhook-token"
    started = api.call("link_notification_channel", path={"channel": "discord"}, body={"address": webhook})
    assert started.status == 201, started
    assert "webhook-token" not in json.dumps(started.body)
    code = providers.last_code(webhook)
    verified = api.call("verify_notification_channel", path={"channel": "discord"}, body={"code": code})
    assert verified.status == 200 and verified.body["status"] == "VERIFIED", verified
    assert "webhook-token" not in json.dumps(api.call("list_notification_channels").body)


def test_a_code_expires_after_15_minutes(api: Api, providers: Providers, frozen_clock: Any) -> None:
    """Given a code sent at noon
    When it is sent back 15 minutes later
    Then it is a 409 code_expired, and the link stays PENDING."""
    api.call("link_notification_channel", body={"address": "555"})
    code = providers.last_code("555")
    frozen_clock.set(frozen_clock.now() + timedelta(minutes=15))
    expired = api.call("verify_notification_channel", body={"code": code})
    assert expired.status == 409 and expired.code == "code_expired", expired
    assert api.call("list_notification_channels").body["links"][0]["status"] == "PENDING"


def test_five_wrong_codes_lock_the_link_until_a_new_code(api: Api, providers: Providers) -> None:
    """Given a pending Telegram link
    When 5 wrong codes are sent, then the right one, then a new code is asked for and sent back
    Then the 5 are 400 wrong_code, the right one after them a 409 too_many_attempts, and the new code verifies."""
    api.call("link_notification_channel", body={"address": "777"})
    code = providers.last_code("777")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    answers = [api.call("verify_notification_channel", body={"code": wrong}) for _ in range(5)]
    assert [(a.status, a.code) for a in answers] == [(400, "wrong_code")] * 5
    locked = api.call("verify_notification_channel", body={"code": code})
    assert locked.status == 409 and locked.code == "too_many_attempts", locked
    api.call("link_notification_channel", body={"address": "777"})
    fresh = api.call("verify_notification_channel", body={"code": providers.last_code("777")})
    assert fresh.status == 200 and fresh.body["status"] == "VERIFIED", fresh


def test_verifying_without_a_link_is_a_404(api: Api) -> None:
    """Given no Telegram link
    When a code is sent
    Then the answer is 404 no_pending_link; a channel that is not linkable (email) is a 422."""
    missing = api.call("verify_notification_channel")
    assert missing.status == 404 and missing.code == "no_pending_link", missing
    assert api.call("verify_notification_channel", path={"channel": "email"}).status == 422


# ------------------------------------------------------------------------------------------------ devices


def test_devices_register_as_sns_endpoints_and_unregister(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given an FCM platform application in SNS (moto)
    When Mia registers her Android token twice, then removes the device
    Then it is one device with one SNS endpoint; removing deletes the endpoint; removing again is a 404."""
    sns = boto3.client("sns")
    app_arn = sns.create_platform_application(
        Name="arena-fcm", Platform="GCM", Attributes={"PlatformCredential": "fcm-key"}
    )["PlatformApplicationArn"]
    monkeypatch.setenv("PUSH_ANDROID_APPLICATION_ARN", app_arn)
    _clear_caches()
    first = api.call("register_device")
    assert first.status == 201, first
    again = api.call("register_device")
    assert again.body["device_id"] == first.body["device_id"]
    endpoints = sns.list_endpoints_by_platform_application(PlatformApplicationArn=app_arn)["Endpoints"]
    assert len(endpoints) == 1
    devices = api.call("list_notification_channels").body["devices"]
    assert [d["device_id"] for d in devices] == [first.body["device_id"]]
    gone = api.call("remove_device", path={"deviceId": first.body["device_id"]})
    assert gone.status == 204, gone
    assert sns.list_endpoints_by_platform_application(PlatformApplicationArn=app_arn)["Endpoints"] == []
    assert api.call("remove_device", path={"deviceId": first.body["device_id"]}).status == 404


# ------------------------------------------------------------------------------------------------ unsubscribe


def test_the_unsubscribe_link_works_without_signing_in(api: Api) -> None:
    """Given Mia's unsubscribe link for prize-won emails
    When it is opened with no token (HTML), then posted one-click (JSON asked for)
    Then a page says so, prize-won email is off in her preferences (the rest as they were), and the second
    answer is the same: unsubscribing twice changes nothing more."""
    token = unsubscribe_token("mia", NotificationType.PRIZE_WON, SECRET)
    page = api.call("unsubscribe_link", claims=None, query={"token": token}, headers={"accept": "text/html"})
    assert page.status == 200, page
    assert page.raw["headers"]["Content-Type"].startswith("text/html")
    assert "prize won" in page.body
    preferences = api.call("get_notification_preferences").body
    assert preferences["channels"]["prize_won"]["email"] is False
    assert preferences["channels"]["prize_paid"]["email"] is True
    version = preferences["version"]
    clicked = api.call("unsubscribe_one_click", claims=None, query={"token": token})
    assert clicked.status == 200 and clicked.body == {"type": "prize_won", "channel": "email", "enabled": False}
    assert api.call("get_notification_preferences").body["version"] == version


@pytest.mark.parametrize(
    "change",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature
        lambda token: token.replace(".prize_won.", ".prize_paid."),  # another type
        lambda token: "Ym9i" + token[token.index(".") :],  # another user (bob)
        lambda token: "garbage",
    ],
    ids=["signature", "type", "user", "garbage"],
)
def test_a_tampered_unsubscribe_token_is_a_400(api: Api, change: Callable[[str], str]) -> None:
    """Given Mia's genuine token changed in one part
    When it is opened
    Then the answer is 400 invalid_token and no preference changed."""
    token = change(unsubscribe_token("mia", NotificationType.PRIZE_WON, SECRET))
    refused = api.call("unsubscribe_link", claims=None, query={"token": token})
    assert refused.status == 400 and refused.code == "invalid_token", refused
    assert api.call("get_notification_preferences").body["version"] == 0
    assert api.call("get_notification_preferences", claims=user_claims("bob")).body["version"] == 0


# ------------------------------------------------------------------------------------------------ announcements


@pytest.fixture
def event_of_manager(arena: Arena) -> str:
    """An event created by the event manager Max, with Mia and Ann joined."""
    event = arena.new_event(manager_claims("max"))
    for user in ("mia", "ann"):
        assert arena.join(event["id"], user_claims(user)).status in (200, 201)
    return str(event["id"])


def test_an_announcement_is_previewed_posted_and_published(api: Api, event_of_manager: str) -> None:
    """Given Max's event with 2 participants, and the bus watched
    When Max previews, then posts, an announcement to it on in-app and Telegram
    Then the preview renders both channels and counts 2; the post is stored (201, listed, read back) and
    AnnouncementPosted is on the bus once with its id, event, channels, title and body."""
    bus = Bus()
    max_ = manager_claims("max")
    draft = {
        "event_id": event_of_manager,
        "title": "Final hour",
        "body": "One hour left.",
        "channels": ["in_app", "telegram"],
    }
    preview = api.call("preview_announcement", claims=max_, body=draft)
    assert preview.status == 200, preview
    assert [r["channel"] for r in preview.body["rendered"]] == ["in_app", "telegram"]
    assert all("One hour left." in r["body"] for r in preview.body["rendered"])
    assert preview.body["audience"] == 2 and preview.body["audience_capped"] is False
    posted = api.call("post_announcement", claims=max_, body=draft)
    assert posted.status == 201, posted
    announcement_id = posted.body["announcement_id"]
    published = [detail for kind, detail in bus.drain() if kind == "AnnouncementPosted"]
    assert published == [
        {
            "announcement_id": announcement_id,
            "event_id": event_of_manager,
            "channels": ["in_app", "telegram"],
            "title": "Final hour",
            "body": "One hour left.",
        }
    ]
    listed = api.call("list_announcements", claims=max_).body["items"]
    assert [a["announcement_id"] for a in listed] == [announcement_id]
    read = api.call("get_announcement", claims=max_, path={"announcementId": announcement_id})
    assert read.status == 200 and read.body["title"] == "Final hour", read


def test_an_event_manager_announces_only_to_their_own_events(api: Api, arena: Arena, event_of_manager: str) -> None:
    """Given Max's event and another manager, Zoe, with her own
    When Zoe previews or posts to Max's event, posts to everyone, or reads Max's announcement
    Then each is a 403 (the read a 404: she learns nothing of it), and an admin may do all of it."""
    zoe = manager_claims("zoe")
    arena.new_event(zoe)
    draft = {"event_id": event_of_manager, "title": "Hi", "body": "Hello.", "channels": ["in_app"]}
    for sample in ("preview_announcement", "post_announcement"):
        refused = api.call(sample, claims=zoe, body=draft)
        assert refused.status == 403 and refused.code == "not_event_manager", refused
    everyone = {**draft, "event_id": None}
    assert api.call("post_announcement", claims=zoe, body=everyone).status == 403
    maxs = api.call("post_announcement", claims=manager_claims("max"), body=draft).body["announcement_id"]
    assert api.call("get_announcement", claims=zoe, path={"announcementId": maxs}).status == 404
    assert api.call("list_announcements", claims=zoe).body["items"] == []
    assert api.call("post_announcement", claims=ADMIN, body=everyone).status == 201
    assert api.call("get_announcement", claims=ADMIN, path={"announcementId": maxs}).status == 200
    assert len(api.call("list_announcements", claims=ADMIN).body["items"]) == 2


def test_an_announcement_shows_its_delivery_counts(api: Api, frozen_clock: Any) -> None:
    """Given an admin's announcement on in-app and email, and the dispatchers' outcomes for three recipients
    (in-app sent to all three; email sent to one, suppressed for one, failed for one)
    When the admin reads it
    Then its counts per channel are exactly those."""
    draft = {"title": "Maintenance", "body": "Tonight 02:00 UTC.", "channels": ["in_app", "email"]}
    announcement_id = api.call("post_announcement", claims=ADMIN, body=draft).body["announcement_id"]
    now = frozen_clock.now()
    outcomes = {"u1": DeliveryStatus.SENT, "u2": DeliveryStatus.SUPPRESSED, "u3": DeliveryStatus.FAILED}
    for user, email_outcome in outcomes.items():
        notification = Notification(
            notification_id=notification_id(announcement_id, user, NotificationType.ANNOUNCEMENT, now),
            user_id=user,
            type=NotificationType.ANNOUNCEMENT,
            source=announcement_id,
            created_at=now,
        )
        for channel, outcome in ((Channel.IN_APP, DeliveryStatus.SENT), (Channel.EMAIL, email_outcome)):
            assert store.claim_delivery(notification, channel, DeliveryStatus.QUEUED, now)
            assert store.finish_delivery(notification.notification_id, channel, outcome, now)
    read = api.call("get_announcement", claims=ADMIN, path={"announcementId": announcement_id})
    assert read.status == 200, read
    deliveries = read.body["deliveries"]
    assert deliveries["in_app"] == {"queued": 0, "held": 0, "sent": 3, "failed": 0, "suppressed": 0}
    assert deliveries["email"] == {"queued": 0, "held": 0, "sent": 1, "failed": 1, "suppressed": 1}


def test_a_trader_may_not_announce(api: Api) -> None:
    """Given a user (no role)
    When she previews an announcement
    Then it is a 403 before the body is read."""
    refused = api.call("preview_announcement", claims=MIA, body={"nonsense": True})
    assert refused.status == 403, refused


def test_preferences_keep_the_callers_kyc_level_and_account_type_for_new_event_audiences(api: Api) -> None:
    """Given Mia (KYC level 2, retail account per her token's claims)
    When she opts in to new-event email through the preferences route
    Then the NEW_EVENT opt-in list holds her with level 2 and account type retail (what the planner's
    eligibility check of a new event reads)."""
    current = api.call("get_notification_preferences").body
    channels = current["channels"] | {"new_event": {**current["channels"]["new_event"], "email": True}}
    changed = api.call(
        "put_notification_preferences",
        body={"channels": channels, "digest": current["digest"], "locale": "en", "version": current["version"]},
    )
    assert changed.status == 200, changed
    found, _ = store.opted_in_page(NotificationType.NEW_EVENT, None, 100)
    assert [(o.user_id, o.kyc_level, o.account_type) for o in found] == [("mia", 2, "retail")]
