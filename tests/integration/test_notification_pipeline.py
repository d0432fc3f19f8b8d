"""The notification pipeline on moto: the planner (each audience kind, preferences, quiet hours, throttle, digest),
its plan pages and walks on the PlanQueue, the channel queues, the in-app dispatcher (inbox + live push on
`user:<id>`) and the minute sweep (holds, digests); and what redelivery does: nothing twice.

The queues are the template's (stacks/notifications.yaml) made in moto; the tests play SQS's event source by
receiving each queue's messages and handing them to the function's handler.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any

import boto3
import pytest
from arena.domain.notifications import (
    Channel,
    DeliveryStatus,
    DigestSettings,
    NotificationType,
    Preferences,
    QuietHours,
    from_wire,
)
from arena.domain.ranking import Totals
from arena.domain.statuses import DomainEvent, PrizeStatus
from arena.store import dynamo
from arena.store import notifications as store
from arena.store import participants as participant_store

from tests.conftest import sample_event
from tests.integration.conftest import Arena

NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)
QUEUES = {
    "PlanQueue": "NOTIFICATIONS_PLAN_QUEUE_URL",
    "InAppQueue": "NOTIFICATIONS_IN_APP_QUEUE_URL",
    "EmailQueue": "NOTIFICATIONS_EMAIL_QUEUE_URL",
    "DiscordQueue": "NOTIFICATIONS_DISCORD_QUEUE_URL",
    "TelegramQueue": "NOTIFICATIONS_TELEGRAM_QUEUE_URL",
    "PushQueue": "NOTIFICATIONS_PUSH_QUEUE_URL",
}


class Pipeline:
    """The queues in moto and the three functions, driven by hand."""

    def __init__(self, urls: dict[str, str], load: Callable[..., ModuleType], context: Any) -> None:
        self.urls = urls
        self.sqs = boto3.client("sqs")
        self.planner = load("notifications", "plan_notifications")
        self.in_app = load("notifications", "dispatch_in_app")
        self.sweeper = load("notifications", "sweep_notifications")
        self.context = context
        self.kept: dict[str, list[dict[str, Any]]] = {name: [] for name in urls}

    def receive(self, queue: str) -> list[dict[str, Any]]:
        """Every message waiting on the queue, deleted from it and kept (`kept`) for redelivery tests."""
        found: list[dict[str, Any]] = []
        while True:
            answer = self.sqs.receive_message(QueueUrl=self.urls[queue], MaxNumberOfMessages=10, VisibilityTimeout=0)
            messages = answer.get("Messages") or []
            if not messages:
                break
            for message in messages:
                self.sqs.delete_message(QueueUrl=self.urls[queue], ReceiptHandle=message["ReceiptHandle"])
            found.extend(messages)
        self.kept[queue].extend(found)
        return found

    @staticmethod
    def records(messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": {},
                    "eventSource": "aws:sqs",
                }
                for m in messages
            ]
        }

    def publish(self, envelope: dict[str, Any]) -> dict[str, Any]:
        return self.planner.lambda_handler(envelope, self.context)

    def plan_pages(self) -> int:
        """Run the PlanQueue dry (pages and walks); returns how many messages it handled."""
        handled = 0
        while messages := self.receive("PlanQueue"):
            for message in messages:
                answer = self.planner.lambda_handler(self.records([message]), self.context)
                assert answer == {"batchItemFailures": []}, answer
            handled += len(messages)
        return handled

    def deliver_in_app(self, messages: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        messages = self.receive("InAppQueue") if messages is None else messages
        for start in range(0, len(messages), 10):
            answer = self.in_app.lambda_handler(self.records(messages[start : start + 10]), self.context)
            assert answer == {"batchItemFailures": []}, answer
        return messages

    def sweep(self) -> dict[str, Any]:
        return self.sweeper.lambda_handler({"id": "sweep", "detail-type": "Scheduled Event"}, self.context)

    def bodies(self, queue: str) -> list[Any]:
        return [from_wire(m["Body"]) for m in self.receive(queue)]


@pytest.fixture
def pipeline(
    arena: Arena, tables: dict[str, str], monkeypatch: pytest.MonkeyPatch, load_handler: Callable[..., ModuleType]
) -> Pipeline:
    """Given the notification queues of stacks/notifications.yaml in moto (pages of 10 recipients, 2 pages per
    walk step), the connections table, and the three functions of the notifications stack."""
    from arena import factories
    from arena.services.notifications import inbox

    sqs = boto3.client("sqs")
    urls = {}
    for logical_id, env in QUEUES.items():
        urls[logical_id] = sqs.create_queue(QueueName=f"{logical_id}-test")["QueueUrl"]
        monkeypatch.setenv(env, urls[logical_id])
    monkeypatch.setenv("CONNECTIONS_TABLE", tables["ConnectionsTable"])
    monkeypatch.setenv("NOTIFICATIONS_PAGE_SIZE", "10")
    monkeypatch.setenv("NOTIFICATIONS_PAGES_PER_WALK", "2")
    monkeypatch.setenv("NOTIFICATIONS_PRESENCE_SECONDS", "0")
    factories.reset()
    inbox.forget_presence()
    return Pipeline(urls, load_handler, arena.context)


def envelope(
    name: DomainEvent, detail: dict[str, Any], *, event_id: str = "evt-1", at: datetime = NOON
) -> dict[str, Any]:
    """An EventBridge envelope as the planner's rule delivers it (events/notifications/plan_notifications.json)."""
    sample = sample_event("notifications/plan_notifications.json")
    return {
        **sample,
        "id": event_id,
        "detail-type": name.value,
        "time": at.isoformat().replace("+00:00", "Z"),
        "detail": detail,
    }


def join(event_id: str, users: list[str]) -> None:
    records = [
        participant_store.record_values(
            participant_store.ParticipantRecord(event_id, user, NOON, Totals(), Decimal(0), None, 1)
        )
        | {"event_id": event_id}
        for user in users
    ]
    dynamo.batch_write(participant_store._table(), records)


def inbox_of(user: str) -> list[store.InboxItem]:
    return store.inbox_page(user, None, 100)[0]


# ------------------------------------------------------------------------------------------------ participants


def test_a_reminder_reaches_every_participant_once_through_pages_and_walks(pipeline: Pipeline, arena: Arena) -> None:
    """Given an event with 45 participants, pages of 10 and 2 pages per walk step
    When its 1-hour start reminder is planned, the PlanQueue run dry and the in-app queue delivered
    Then every participant has one inbox item and one email queued (defaults: in-app and email), the in-app
    messages carry up to 100 notifications, and the source counts 45 sent in-app and 45 queued emails."""
    event_id = arena.new_event()["id"]
    users = [f"u{i:03}" for i in range(45)]
    join(event_id, users)
    answer = pipeline.publish(envelope(DomainEvent.EVENT_REMINDER_DUE, {"event_id": event_id, "reminder": "start_1h"}))
    # The first step lists two full pages (and the short rest of what it read), then hands the walk on.
    assert 2 <= answer["pages"] <= 3
    assert pipeline.plan_pages() > 5  # pages and walk steps until the 16 shards are read
    in_app = pipeline.deliver_in_app()
    assert all(len(from_wire(m["Body"]).notifications) <= 100 for m in in_app)
    for user in users:
        [item] = inbox_of(user)
        assert item.type is NotificationType.EVENT_REMINDER and item.event_id == event_id
        assert item.data["reminder"] == "start_1h" and item.data["event_name"] == "December Volume Cup"
        assert "starts in an hour" in item.title
    emails = pipeline.bodies("EmailQueue")
    assert sorted(n.user_id for m in emails for n in m.notifications) == users
    source = f"reminder:{event_id}:start_1h"
    counts = store.source_counts(source)
    assert counts[Channel.IN_APP][DeliveryStatus.SENT] == 45 and counts[Channel.EMAIL][DeliveryStatus.QUEUED] == 45
    assert pipeline.bodies("DiscordQueue") == [] and pipeline.bodies("PushQueue") == []


def test_a_walk_step_that_fails_after_sending_some_pages_is_retried_and_tells_everyone_once(
    pipeline: Pipeline, arena: Arena, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given an event with 45 participants, pages of 10, walk steps of 5 pages, and a walk that sends its pages
    one at a time as it cuts them
    When the first walk step's third send fails (SQS down), so that EventBridge delivers the reminder again, and
    the PlanQueue is then run dry and the in-app queue delivered
    Then the failed step had already sent its first two pages, and every participant still has exactly one inbox
    item and one queued email: the pages sent twice are planned once."""
    from arena import factories
    from arena.adapters import queues
    from arena.services.notifications import planner

    monkeypatch.setenv("NOTIFICATIONS_PAGES_PER_WALK", "5")
    monkeypatch.setattr(planner, "PAGES_PER_SEND", 1)
    factories.reset()
    event_id = arena.new_event()["id"]
    users = [f"u{i:03}" for i in range(45)]
    join(event_id, users)
    send_all, sends = queues.send_all, []

    def failing_third(queue_url: str, bodies: Any, **kwargs: Any) -> int:
        sends.append(len(bodies))
        if len(sends) == 3:
            raise ConnectionError("SQS unreachable")
        return send_all(queue_url, bodies, **kwargs)

    monkeypatch.setattr(queues, "send_all", failing_third)
    cause = envelope(DomainEvent.EVENT_REMINDER_DUE, {"event_id": event_id, "reminder": "start_1h"})
    with pytest.raises(ConnectionError):
        pipeline.publish(cause)
    assert sends == [1, 1, 1]
    first_pages = pipeline.receive("PlanQueue")
    assert [json.loads(m["Body"])["kind"] for m in first_pages] == ["page", "page"]
    monkeypatch.setattr(queues, "send_all", send_all)

    pipeline.publish(cause)
    pipeline.sqs.send_message_batch(
        QueueUrl=pipeline.urls["PlanQueue"],
        Entries=[{"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(first_pages)],
    )
    pipeline.plan_pages()
    pipeline.deliver_in_app()

    assert all(len(inbox_of(user)) == 1 for user in users)
    emails = pipeline.bodies("EmailQueue")
    assert sorted(n.user_id for m in emails for n in m.notifications) == users
    counts = store.source_counts(f"reminder:{event_id}:start_1h")
    assert counts[Channel.IN_APP][DeliveryStatus.SENT] == 45 and counts[Channel.EMAIL][DeliveryStatus.QUEUED] == 45


def test_a_redelivered_planner_batch_and_in_app_message_store_and_queue_nothing_twice(
    pipeline: Pipeline, arena: Arena
) -> None:
    """Given a started event's 25 participants planned and delivered once
    When the domain event, every plan page and every in-app message are delivered again
    Then nothing more is queued on any channel, every inbox still holds one item, and the counts do not move."""
    event_id = arena.new_event()["id"]
    users = [f"p{i:02}" for i in range(25)]
    join(event_id, users)
    started = envelope(DomainEvent.EVENT_STARTED, {"event_id": event_id, "status": "ACTIVE"})
    pipeline.publish(started)
    pipeline.plan_pages()
    pages = list(pipeline.kept["PlanQueue"])
    in_app = pipeline.deliver_in_app()
    emails = pipeline.receive("EmailQueue")
    assert sorted(n.user_id for m in emails for n in from_wire(m["Body"]).notifications) == users
    assert all(len(from_wire(m["Body"]).notifications) <= 10 for m in emails)
    counts = store.source_counts(f"started:{event_id}")

    pipeline.publish(started)
    pipeline.plan_pages()
    for page in pages:
        assert pipeline.planner.lambda_handler(pipeline.records([page]), pipeline.context) == {"batchItemFailures": []}
    pipeline.deliver_in_app(in_app)
    assert pipeline.receive("InAppQueue") == [] and pipeline.receive("EmailQueue") == []
    assert all(len(inbox_of(u)) == 1 for u in users)
    assert store.source_counts(f"started:{event_id}") == counts


def test_a_page_that_failed_after_recording_queues_what_it_recorded(
    pipeline: Pipeline, arena: Arena, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given an event's 8 participants and SQS refusing the planner's first in-app send
    When the domain event is planned (it fails after recording the deliveries) and then delivered again
    Then the second attempt queues the 8 in-app notifications once: a crash between record and queue loses nothing."""
    from arena.services.notifications import planner

    event_id = arena.new_event()["id"]
    join(event_id, [f"c{i}" for i in range(8)])
    real = planner.queues.send_all
    failures = iter([True])

    def flaky(url: str, bodies: Any, **kwargs: Any) -> int:
        if url == pipeline.urls["InAppQueue"] and next(failures, False):
            raise RuntimeError("SQS is down")
        return real(url, bodies, **kwargs)

    monkeypatch.setattr(planner.queues, "send_all", flaky)
    ended = envelope(DomainEvent.EVENT_ENDED, {"event_id": event_id})
    pipeline.publish(ended)
    [page] = pipeline.receive("PlanQueue")
    failed = pipeline.planner.lambda_handler(pipeline.records([page]), pipeline.context)
    assert failed == {"batchItemFailures": [{"itemIdentifier": page["MessageId"]}]}
    assert pipeline.receive("InAppQueue") == []
    assert pipeline.planner.lambda_handler(pipeline.records([page]), pipeline.context) == {"batchItemFailures": []}
    notes = [n for m in pipeline.bodies("InAppQueue") for n in m.notifications]
    assert sorted(n.user_id for n in notes) == [f"c{i}" for i in range(8)]
    emails = [n for m in pipeline.receive("EmailQueue") for n in from_wire(m["Body"]).notifications]
    assert sorted(n.user_id for n in emails) == [f"c{i}" for i in range(8)]  # once: the first attempt sent none


# ------------------------------------------------------------------------------------------------ named users


def test_rank_changes_are_throttled_or_kept_for_the_digest(pipeline: Pipeline, frozen_clock: Any) -> None:
    """Given three users moving in an event: Ann with defaults, Bob told of a rank change 10 minutes ago, Cid with
    the daily digest at 08:00 UTC
    When the moves are planned and, the next morning, the sweep runs
    Then Ann gets one in-app rank change (naming the rival she passed by no user id), Bob nothing (throttled), Cid
    nothing now and one digest at 08:00 listing the move."""
    store.put_preferences("cid", Preferences(digest=DigestSettings(True, 8)), 0, NOON)
    earlier = envelope(
        DomainEvent.RANKS_CHANGED,
        {"event_id": "ev-9", "generation": 3, "moves": [{"user_id": "bob", "changes": ["passed_rival"], "rank": 7}]},
        event_id="e-early",
        at=NOON - timedelta(minutes=10),
    )
    pipeline.publish(earlier)
    pipeline.deliver_in_app()
    moves = [
        {
            "user_id": "ann",
            "changes": ["entered_prize_zone", "passed_rival"],
            "rank": 3,
            "previous_rank": 12,
            "rival_user_id": "rival-7f3e9c2a41",
        },
        {"user_id": "bob", "changes": ["entered_top_10"], "rank": 6, "previous_rank": 7},
        {"user_id": "cid", "changes": ["left_top_10"], "rank": 11, "previous_rank": 9},
    ]
    answer = pipeline.publish(
        envelope(DomainEvent.RANKS_CHANGED, {"event_id": "ev-9", "generation": 4, "moves": moves})
    )
    assert (answer["throttled"], answer["digested"]) == (1, 1)
    pipeline.deliver_in_app()
    [ann] = inbox_of("ann")
    assert (
        ann.type is NotificationType.RANK_CHANGE and ann.data["move"] == "entered_prize_zone" and ann.data["rank"] == 3
    )
    assert "rival-7f3e9c2a41" not in repr(ann.data)
    assert len(inbox_of("bob")) == 1 and inbox_of("cid") == []
    assert pipeline.bodies("EmailQueue") == []  # rank changes are in-app only by default

    frozen_clock.set(datetime(2026, 12, 2, 7, 59, tzinfo=UTC))
    pipeline.sweep()
    assert pipeline.receive("InAppQueue") == []
    frozen_clock.set(datetime(2026, 12, 2, 8, 0, 30, tzinfo=UTC))
    assert pipeline.sweep()["digests"] == 1
    pipeline.deliver_in_app()
    [digest] = inbox_of("cid")
    assert digest.type is NotificationType.DIGEST and digest.data["date"] == "2026-12-02"
    assert [m["move"] for m in digest.data["moves"]] == ["left_top_10"]
    assert store.digest_entries("cid", "2026-12-02") == []
    assert pipeline.sweep()["digests"] == 0


def test_quiet_hours_hold_email_until_they_end(pipeline: Pipeline, frozen_clock: Any) -> None:
    """Given Dee with quiet hours 22:00-07:00 in New York (it is 07:00 there... minus five hours: 02:00 at noon UTC)
    When her prize is paid
    Then the in-app notice is queued now, the email is held and queued by the sweep at 07:00 New York time (12:00
    UTC) with that not-before time, once."""
    frozen_clock.set(datetime(2026, 12, 1, 7, 30, tzinfo=UTC))  # 02:30 in New York
    store.put_preferences("dee", Preferences(quiet_hours=QuietHours(time(22), time(7), "America/New_York")), 0, NOON)
    detail = {"event_id": "ev-3", "user_id": "dee", "prize_id": "prz-1", "amount": "250", "token": "USDT"}
    answer = pipeline.publish(envelope(DomainEvent.PRIZE_PAID, detail))
    assert answer["held"] == 1 and answer["queued"] == {"in_app": 1}
    assert [n.type for m in pipeline.bodies("InAppQueue") for n in m.notifications] == [NotificationType.PRIZE_PAID]
    frozen_clock.set(datetime(2026, 12, 1, 11, 59, tzinfo=UTC))
    pipeline.sweep()
    assert pipeline.receive("EmailQueue") == []
    frozen_clock.set(datetime(2026, 12, 1, 12, 0, 5, tzinfo=UTC))
    assert pipeline.sweep()["released"] == 1
    [email] = pipeline.bodies("EmailQueue")
    assert email.not_before == datetime(2026, 12, 1, 12, tzinfo=UTC) and email.notifications[0].data["amount"] == "250"
    assert pipeline.sweep()["released"] == 0
    [record] = [store.delivery(email.notifications[0].notification_id, Channel.EMAIL)]
    assert record is not None and record.status is DeliveryStatus.HELD  # the email dispatcher moves it on


def test_milestones_and_claim_deadlines_tell_the_detail_user(pipeline: Pipeline) -> None:
    """Given a milestone and a claim deadline for Eve
    When they are planned
    Then Eve gets both in-app, and the claim deadline by email too (prize news is emailed by default)."""
    pipeline.publish(
        envelope(DomainEvent.MILESTONE_REACHED, {"event_id": "ev-1", "user_id": "eve", "milestone": "qualified"})
    )
    deadline = {"event_id": "ev-1", "user_id": "eve", "prize_id": "prz-9", "claim_deadline": "2026-12-02T12:00:00.000Z"}
    pipeline.publish(envelope(DomainEvent.CLAIM_DEADLINE_APPROACHING, deadline, event_id="e2"))
    pipeline.deliver_in_app()
    assert sorted(i.type for i in inbox_of("eve")) == sorted(
        [NotificationType.MILESTONE, NotificationType.CLAIM_DEADLINE]
    )
    [email] = pipeline.bodies("EmailQueue")
    assert email.notifications[0].type is NotificationType.CLAIM_DEADLINE


def test_winners_learn_their_prize_and_what_to_claim(pipeline: Pipeline, arena: Arena) -> None:
    """Given a distribution that credited Fay's prize, made Gus's claimable and rolled Hal's back
    When PrizesDistributed is planned
    Then Fay gets PRIZE_WON, Gus PRIZE_WON and PRIZE_CLAIMABLE with the deadline and prize id, Hal nothing."""
    from arena.domain.distribution import PrizeRecord
    from arena.store import distribution

    event_id = arena.new_event()["id"]
    deadline = NOON + timedelta(days=14)

    def prize(user: str, rank: int, status: PrizeStatus) -> PrizeRecord:
        return PrizeRecord(
            user_id=user, rule_index=0, prize_rank=rank, type="token", token="USDT", description=None,
            amount=Decimal("1500"), key=f"k-{user}", event_id=event_id, status=status,
            claim_deadline=deadline if status is PrizeStatus.CLAIMABLE else None,
        )  # fmt: skip

    distribution.put_prizes(
        [
            prize("fay", 1, PrizeStatus.CREDITED),
            prize("gus", 2, PrizeStatus.CLAIMABLE),
            prize("hal", 3, PrizeStatus.ROLLED_BACK),
        ]
    )
    pipeline.publish(envelope(DomainEvent.PRIZES_DISTRIBUTED, {"event_id": event_id}))
    pipeline.deliver_in_app()
    assert [i.type for i in inbox_of("fay")] == [NotificationType.PRIZE_WON]
    gus = {i.type: i for i in inbox_of("gus")}
    assert set(gus) == {NotificationType.PRIZE_WON, NotificationType.PRIZE_CLAIMABLE}
    claimable = gus[NotificationType.PRIZE_CLAIMABLE].data
    assert (
        claimable["claim_deadline"] == "2026-12-15T12:00:00.000Z"
        and claimable["prize_id"]
        and claimable["amount"] == "1500"
    )
    assert inbox_of("hal") == []
    emailed = [n.type for m in pipeline.bodies("EmailQueue") for n in m.notifications]
    assert len(emailed) == 3  # both are emailed by default


# ------------------------------------------------------------------------------------------------ opt-in lists


def test_a_new_event_reaches_the_eligible_users_who_opted_in(pipeline: Pipeline, arena: Arena) -> None:
    """Given an event needing KYC level 1 and excluding market makers, and four users opted in to new events by
    email: KYC 2 retail, KYC 0, KYC 2 market maker, and one who never opted in
    When EventPublished is planned
    Then only the eligible KYC 2 retail user is told, in-app and by email."""
    event_id = arena.new_event()["id"]
    wants = Preferences().with_matrix({NotificationType.NEW_EVENT: {Channel.EMAIL: True}})
    store.put_preferences("ok", wants, 0, NOON, kyc_level=2, account_type="retail")
    store.put_preferences("low", wants, 0, NOON, kyc_level=0, account_type="retail")
    store.put_preferences("mm", wants, 0, NOON, kyc_level=2, account_type="market_maker")
    store.put_preferences("quiet", Preferences(), 0, NOON, kyc_level=2, account_type="retail")
    pipeline.publish(envelope(DomainEvent.EVENT_PUBLISHED, {"event_id": event_id}))
    pipeline.plan_pages()
    pipeline.deliver_in_app()
    assert [i.type for i in inbox_of("ok")] == [NotificationType.NEW_EVENT]
    assert inbox_of("low") == inbox_of("mm") == inbox_of("quiet") == []
    assert [n.user_id for m in pipeline.bodies("EmailQueue") for n in m.notifications] == ["ok"]


def test_announcements_go_to_participants_or_opted_in_users_on_the_chosen_channels(
    pipeline: Pipeline, arena: Arena
) -> None:
    """Given an event with 3 participants (one of whom turned announcement emails on) and, apart, 2 users opted in
    to announcements by Telegram (one linked)
    When an event announcement over in-app and email, and a global one over Telegram, are planned
    Then the event's participants get it in-app, the email goes to the one who wanted it, the others' emails count
    as suppressed; the global one reaches the linked Telegram user and counts the others on the announcement list
    (the unlinked one, the email one) suppressed."""
    from arena.domain.notifications import LinkStatus
    from arena.store.notifications import ChannelLink

    event_id = arena.new_event()["id"]
    join(event_id, ["a1", "a2", "a3"])
    store.put_preferences(
        "a1", Preferences().with_matrix({NotificationType.ANNOUNCEMENT: {Channel.EMAIL: True}}), 0, NOON
    )
    telegram = Preferences().with_matrix({NotificationType.ANNOUNCEMENT: {Channel.TELEGRAM: True}})
    store.put_preferences("t1", telegram, 0, NOON)
    store.put_preferences("t2", telegram, 0, NOON)
    store.put_link(ChannelLink("t1", Channel.TELEGRAM, "4242", LinkStatus.VERIFIED, linked_at=NOON))

    detail = {
        "announcement_id": "ann-1",
        "event_id": event_id,
        "channels": ["in_app", "email"],
        "title": "Maintenance",
        "body": "At 14:00",
    }
    pipeline.publish(envelope(DomainEvent.ANNOUNCEMENT_POSTED, detail))
    pipeline.plan_pages()
    pipeline.deliver_in_app()
    assert [i.title for u in ("a1", "a2", "a3") for i in inbox_of(u)] == ["Maintenance"] * 3
    assert [n.user_id for m in pipeline.bodies("EmailQueue") for n in m.notifications] == ["a1"]
    counts = store.source_counts("ann-1")
    assert counts[Channel.IN_APP][DeliveryStatus.SENT] == 3
    assert (counts[Channel.EMAIL][DeliveryStatus.QUEUED], counts[Channel.EMAIL][DeliveryStatus.SUPPRESSED]) == (1, 2)
    assert counts[Channel.TELEGRAM][DeliveryStatus.QUEUED] == 0  # not a channel of this announcement

    glob = {
        "announcement_id": "ann-2",
        "event_id": None,
        "channels": ["telegram"],
        "title": "New season",
        "body": "Soon",
    }
    pipeline.publish(envelope(DomainEvent.ANNOUNCEMENT_POSTED, glob, event_id="e-glob"))
    pipeline.plan_pages()
    assert [n.user_id for m in pipeline.bodies("TelegramQueue") for n in m.notifications] == ["t1"]
    assert pipeline.receive("InAppQueue") == []
    counts = store.source_counts("ann-2")
    # Suppressed: t2 (no Telegram linked) and a1 (on the announcement list for email, not Telegram)
    telegram_counts = counts[Channel.TELEGRAM]
    assert (telegram_counts[DeliveryStatus.QUEUED], telegram_counts[DeliveryStatus.SUPPRESSED]) == (1, 2)


# ------------------------------------------------------------------------------------------------ in-app live


class Recorder:
    """@connections as the in-app push sees it: records posts."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []

    def post_to_connection(self, ConnectionId: str, Data: bytes) -> dict[str, Any]:
        self.posts.append((ConnectionId, json.loads(Data)))
        return {}


def test_new_inbox_items_are_pushed_live_once_to_connected_users(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given Ivy connected with her private channel open and Jon not connected
    When a milestone for each is planned and its in-app message delivered twice
    Then Ivy's connection gets one `notification` message with the stored item, Jon's item waits in his inbox."""
    from arena.adapters import connections as poster
    from arena.store import connections

    recorder = Recorder()
    monkeypatch.setattr(poster, "client", lambda: recorder)
    connections.put_connection("conn-ivy", "ivy", ["user"], NOON.timestamp())
    assert connections.add_subscription("conn-ivy", "ivy", "user:ivy", NOON.timestamp())
    for user in ("ivy", "jon"):
        pipeline.publish(
            envelope(
                DomainEvent.MILESTONE_REACHED,
                {"event_id": "ev-1", "user_id": user, "milestone": "first_trade"},
                event_id=f"m-{user}",
            )
        )
    messages = pipeline.deliver_in_app()
    pipeline.deliver_in_app(messages)
    [(connection, message)] = recorder.posts
    assert connection == "conn-ivy" and message["type"] == "notification" and message["topic"] == "user:ivy"
    [item] = inbox_of("ivy")
    assert message["data"]["notification_id"] == item.notification_id and message["data"]["title"] == item.title
    assert len(inbox_of("jon")) == 1


def test_the_inbox_reads_the_routes_use(pipeline: Pipeline) -> None:
    """Given two milestones delivered to Kim
    When she counts, reads one, and reads all
    Then the unread count goes 2, 1, 0; an unknown id is NotFound."""
    from arena.errors import NotFound
    from arena.services.notifications import inbox

    for milestone in ("first_trade", "qualified"):
        pipeline.publish(
            envelope(
                DomainEvent.MILESTONE_REACHED,
                {"event_id": "ev-1", "user_id": "kim", "milestone": milestone},
                event_id=milestone,
            )
        )
    pipeline.deliver_in_app()
    items, cursor = inbox.page("kim", None, 10)
    assert len(items) == 2 and cursor is None and inbox.unread_count("kim") == 2
    inbox.mark_read("kim", items[0].notification_id)
    assert inbox.unread_count("kim") == 1
    with pytest.raises(NotFound):
        inbox.mark_read("kim", "01JBNOSUCHNOTIFICATION0000")
    inbox.read_all("kim")
    assert inbox.unread_count("kim") == 0 and inbox.page("kim", None, 10, unread_only=True) == ([], None)


def test_reminders_of_a_cancelled_event_tell_nobody(pipeline: Pipeline, arena: Arena) -> None:
    """Given an event with three participants that was cancelled after its reminders were scheduled
    When its 1-hour reminder and its "started" event arrive anyway
    Then nothing is planned: no page, no inbox item, no email, no count."""
    event_id = arena.new_event()["id"]
    users = ["c1", "c2", "c3"]
    join(event_id, users)
    assert arena.cancel_event(event_id, reason="venue closed").status == 200
    for name, detail in (
        (DomainEvent.EVENT_REMINDER_DUE, {"event_id": event_id, "reminder": "start_1h"}),
        (DomainEvent.EVENT_STARTED, {"event_id": event_id, "status": "ACTIVE"}),
    ):
        assert pipeline.publish(envelope(name, detail))["pages"] == 0
    assert pipeline.plan_pages() == 0
    assert pipeline.deliver_in_app() == [] and pipeline.receive("EmailQueue") == []
    assert all(inbox_of(u) == [] for u in users)
    assert store.source_counts(f"reminder:{event_id}:start_1h")[Channel.IN_APP][DeliveryStatus.QUEUED] == 0
