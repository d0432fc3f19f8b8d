"""The notifications store (arena/store/notifications.py) on the template's NotificationsTable in moto: inbox
writes, pages, unread counts and read state; preferences with their version and opt-in lists; links, devices;
throttle, digest entries, holds; delivery records created once and moved forward only, with per-source counts."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from arena.domain.notifications import (
    Channel,
    DeliveryStatus,
    DigestSettings,
    LinkStatus,
    Notification,
    NotificationType,
    Preferences,
    QuietHours,
    notification_id,
)
from arena.errors import BadRequest, Conflict
from arena.store import notifications as store
from arena.store.notifications import ChannelLink, DeviceRecord, InboxItem

NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)


def note(
    user: str = "ann", source: str = "src-1", at: datetime = NOON, kind: NotificationType = NotificationType.RANK_CHANGE
) -> Notification:
    return Notification(
        notification_id(source, user, kind, at), user, kind, source, at, event_id="ev-1", data={"rank": 3}
    )


def inbox(user: str, n: int) -> list[InboxItem]:
    return [
        InboxItem(
            notification_id(f"src-{i}", user, NotificationType.MILESTONE, NOON + timedelta(minutes=i)),
            user,
            NotificationType.MILESTONE,
            "ev-1",
            f"title {i}",
            f"body {i}",
            {"i": i},
            NOON + timedelta(minutes=i),
        )
        for i in range(n)
    ]


def test_inbox_items_are_stored_once(tables: dict[str, str]) -> None:
    """Given five inbox items stored
    When the same five plus two more are stored again
    Then only the two new ones are reported new and the inbox holds seven."""
    items = inbox("ann", 7)
    assert store.put_inbox(items[:5]) == items[:5]
    assert store.put_inbox(items) == items[5:]
    page, cursor = store.inbox_page("ann", None, 50)
    assert len(page) == 7 and cursor is None


def test_inbox_pages_newest_first_with_a_cursor(tables: dict[str, str]) -> None:
    """Given 12 inbox items
    When they are read in pages of 5
    Then the pages come newest first, 5, 5 and 2, the last without a cursor, and a cursor of another user's inbox
    is refused."""
    items = inbox("ann", 12)
    store.put_inbox(items)
    seen: list[str] = []
    cursor: str | None = None
    sizes = []
    while True:
        page, cursor = store.inbox_page("ann", cursor, 5)
        sizes.append(len(page))
        seen += [i.notification_id for i in page]
        if cursor is None:
            break
        other_cursor = cursor
    assert sizes == [5, 5, 2]
    assert seen == [i.notification_id for i in reversed(items)]
    assert store.inbox_page("ann", None, 5)[0][0].data == {"i": 11}
    with pytest.raises(BadRequest):
        store.inbox_page("bob", other_cursor, 5)


def test_unread_counts_read_marks_and_read_all(tables: dict[str, str]) -> None:
    """Given 6 inbox items
    When one is read, then all are read, then two more arrive
    Then the unread count goes 6, 5, 0, 2; the read item keeps its first read time; unread-only pages show the
    unread ones; marking an unknown item answers False."""
    items = inbox("ann", 6)
    store.put_inbox(items)
    assert store.unread_count("ann") == 6
    assert store.mark_read("ann", items[2].notification_id, NOON)
    assert store.mark_read("ann", items[2].notification_id, NOON + timedelta(hours=1))
    assert not store.mark_read("ann", "01NOSUCHITEM", NOON)
    assert store.unread_count("ann") == 5
    unread, _ = store.inbox_page("ann", None, 10, unread_only=True)
    assert items[2].notification_id not in [i.notification_id for i in unread] and len(unread) == 5
    store.read_all("ann", NOON + timedelta(hours=2))
    assert store.unread_count("ann") == 0
    assert store.inbox_page("ann", None, 10, unread_only=True) == ([], None)
    page, _ = store.inbox_page("ann", None, 10)
    assert {i.read_at for i in page} == {NOON, NOON + timedelta(hours=2)}
    later = [
        InboxItem(
            notification_id(f"late-{i}", "ann", NotificationType.MILESTONE, NOON + timedelta(hours=3)),
            "ann",
            NotificationType.MILESTONE,
            None,
            "t",
            "b",
            {},
            NOON + timedelta(hours=3),
        )
        for i in range(2)
    ]
    store.put_inbox(later)
    assert store.unread_count("ann") == 2


def test_the_unread_count_stops_past_its_cap(tables: dict[str, str]) -> None:
    """Given 12 unread items
    When the count is asked with a cap of 10
    Then it answers 11, meaning "more than 10"."""
    store.put_inbox(inbox("ann", 12))
    assert store.unread_count("ann", cap=10) == 11


def test_deliver_in_app_stores_and_sends_once(tables: dict[str, str]) -> None:
    """Given 130 notifications the planner counted as queued in-app (no delivery records: the inbox item is one)
    When the in-app write runs twice for them, and then once more after one of them was read
    Then the first stores all (in parallel batches) and returns them, the later ones return nothing and leave
    the read item read, and the source counts 130 sent, 0 queued."""
    notes = [note(user=f"u{i:03}") for i in range(130)]
    store.count_in_app_queued({"src-1": 130})
    items = [InboxItem(n.notification_id, n.user_id, n.type, n.event_id, "t", "b", n.data, n.created_at) for n in notes]
    assert store.deliver_in_app([(i, "src-1") for i in items], NOON) == items
    assert store.deliver_in_app([(i, "src-1") for i in items], NOON) == []
    assert store.mark_read("u007", notes[7].notification_id, NOON)
    assert store.deliver_in_app([(i, "src-1") for i in items], NOON) == []
    assert all(len(store.inbox_page(n.user_id, None, 10, False)[0]) == 1 for n in notes)
    assert store.inbox_page("u007", None, 10, False)[0][0].read_at == NOON
    counts = store.source_counts("src-1")[Channel.IN_APP]
    assert counts[DeliveryStatus.SENT] == 130 and counts[DeliveryStatus.QUEUED] == 0


def test_preferences_are_versioned_and_keep_the_opt_in_lists(tables: dict[str, str]) -> None:
    """Given a user with no preferences
    When they save email for new events, then save again from a stale version, then turn it off
    Then the defaults come back at version 0, the stale save is a Conflict, and the NEW_EVENT opt-in list holds the
    user exactly while email is on."""
    assert store.get_preferences("ann").version == 0
    prefs = Preferences(
        quiet_hours=QuietHours(time(22), time(7), "Europe/Berlin"), digest=DigestSettings(True, 9)
    ).with_matrix({NotificationType.NEW_EVENT: {Channel.EMAIL: True}})
    saved = store.put_preferences("ann", prefs, 0, NOON)
    assert saved.version == 1 and store.get_preferences("ann").preferences == prefs
    assert store.opted_in_users(NotificationType.NEW_EVENT, None, 10) == (["ann"], None)
    with pytest.raises(Conflict):
        store.put_preferences("ann", Preferences(), 0, NOON)
    store.put_preferences("ann", Preferences(), 1, NOON)
    assert store.opted_in_users(NotificationType.NEW_EVENT, None, 10) == ([], None)
    assert store.preferences_of(["ann", "zed"]) == {"ann": Preferences(), "zed": Preferences()}


def test_opted_in_users_page(tables: dict[str, str]) -> None:
    """Given five users opted in to announcements by Telegram
    When the list is read two at a time
    Then all five come back once, in user order."""
    prefs = Preferences().with_matrix({NotificationType.ANNOUNCEMENT: {Channel.TELEGRAM: True}})
    for user in ("u1", "u2", "u3", "u4", "u5"):
        store.put_preferences(user, prefs, 0, NOON)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        users, cursor = store.opted_in_users(NotificationType.ANNOUNCEMENT, cursor, 2)
        seen += users
        if cursor is None:
            break
    assert seen == ["u1", "u2", "u3", "u4", "u5"]


def test_links_and_devices(tables: dict[str, str]) -> None:
    """Given a pending Telegram link and a registered device
    When the code is tried, the link verified, then marked broken, and the device removed
    Then attempts count up while pending, verification works once, the reachable channels follow, and deleting
    an unknown device answers False."""
    store.put_link(ChannelLink("ann", Channel.TELEGRAM, "12345", LinkStatus.PENDING, "hash", NOON, 0, None))
    assert store.count_link_attempt("ann", Channel.TELEGRAM) == 1
    assert store.verified_channels_of(["ann"]) == {"ann": frozenset()}
    assert store.verify_link("ann", Channel.TELEGRAM, NOON)
    assert not store.verify_link("ann", Channel.TELEGRAM, NOON)
    assert store.count_link_attempt("ann", Channel.TELEGRAM) is None
    link = store.get_link("ann", Channel.TELEGRAM)
    assert link is not None and link.status is LinkStatus.VERIFIED and link.code_hash is None
    store.put_device(DeviceRecord("ann", "dev1", "ios", "arn:aws:sns:us-east-1:1:endpoint/APNS/a/b", NOON))
    assert store.verified_channels_of(["ann"]) == {"ann": frozenset({Channel.TELEGRAM, Channel.PUSH})}
    assert [d.device_id for d in store.devices_of("ann")] == ["dev1"]
    assert store.mark_link_broken("ann", Channel.TELEGRAM, NOON)
    assert [lk.status for lk in store.links_of("ann")] == [LinkStatus.BROKEN]
    assert store.delete_device("ann", "dev1") and not store.delete_device("ann", "dev1")
    store.delete_link("ann", Channel.TELEGRAM)
    assert store.get_link("ann", Channel.TELEGRAM) is None


def test_the_throttle_claim(tables: dict[str, str]) -> None:
    """Given a 30-minute rank-change throttle
    When one notification takes it, the same one asks again, another asks within the window and after it
    Then the first and its repeat get it, the second within the window does not, after the window it does."""
    window = timedelta(minutes=30)
    claim = store.claim_throttle
    assert claim("ann", NotificationType.RANK_CHANGE, "ev-1", "n1", NOON, window)
    assert claim("ann", NotificationType.RANK_CHANGE, "ev-1", "n1", NOON, window)
    assert not claim("ann", NotificationType.RANK_CHANGE, "ev-1", "n2", NOON + timedelta(minutes=10), window)
    assert claim("ann", NotificationType.RANK_CHANGE, "ev-2", "n3", NOON + timedelta(minutes=10), window)
    assert claim("ann", NotificationType.RANK_CHANGE, "ev-1", "n4", NOON + timedelta(minutes=30), window)


def test_digest_entries_and_holds(tables: dict[str, str]) -> None:
    """Given two rank changes kept for a digest, a held email and a digest due
    When they are listed and cleared
    Then the entries and holds come back as stored and are gone after clearing."""
    a, b = note(source="s1"), note(source="s2")
    store.add_digest_entry(a, "2026-12-02", NOON)
    store.add_digest_entry(a, "2026-12-02", NOON)
    store.add_digest_entry(b, "2026-12-02", NOON)
    assert sorted(n.notification_id for n in store.digest_entries("ann", "2026-12-02")) == sorted(
        [a.notification_id, b.notification_id]
    )
    store.clear_digest("ann", "2026-12-02", [a.notification_id, b.notification_id])
    assert store.digest_entries("ann", "2026-12-02") == []
    holds = [
        store.held_delivery(a, Channel.EMAIL, NOON + timedelta(seconds=30)),
        store.digest_hold("ann", "2026-12-02", NOON + timedelta(minutes=1)),
    ]
    store.add_holds(holds, NOON)
    assert sorted(store.holds_at("2026-12-01T12:01"), key=lambda h: h.sort_key) == sorted(
        holds, key=lambda h: h.sort_key
    )
    store.remove_holds(holds)
    assert store.holds_at("2026-12-01T12:01") == []
    assert store.swept_until() is None
    store.set_swept_until("2026-12-01T12:01")
    store.set_swept_until("2026-12-01T12:00")
    assert store.swept_until() == "2026-12-01T12:01"


def test_deliveries_are_claimed_once_and_only_move_forward(tables: dict[str, str]) -> None:
    """Given a notification claimed for email (QUEUED) and for Telegram (HELD)
    When they are claimed again, email is SENT twice, Telegram FAILED then SENT
    Then the repeats change nothing and the source counts one sent and one failed email/telegram, none queued."""
    n = note()
    assert store.claim_deliveries(
        [(n, Channel.EMAIL, DeliveryStatus.QUEUED), (n, Channel.TELEGRAM, DeliveryStatus.HELD)], NOON
    ) == [True, True]
    assert not store.claim_delivery(n, Channel.EMAIL, DeliveryStatus.QUEUED, NOON)
    assert store.finish_delivery(n.notification_id, Channel.EMAIL, DeliveryStatus.SENT, NOON)
    assert not store.finish_delivery(n.notification_id, Channel.EMAIL, DeliveryStatus.SENT, NOON)
    assert store.finish_delivery(n.notification_id, Channel.TELEGRAM, DeliveryStatus.FAILED, NOON, detail="403 blocked")
    assert not store.finish_delivery(n.notification_id, Channel.TELEGRAM, DeliveryStatus.SENT, NOON)
    assert not store.finish_delivery("unknown", Channel.PUSH, DeliveryStatus.SENT, NOON)
    record = store.delivery(n.notification_id, Channel.TELEGRAM)
    assert record is not None and record.status is DeliveryStatus.FAILED and record.detail == "403 blocked"
    counts = store.source_counts("src-1")
    assert counts[Channel.EMAIL][DeliveryStatus.SENT] == 1 and counts[Channel.EMAIL][DeliveryStatus.QUEUED] == 0
    assert counts[Channel.TELEGRAM][DeliveryStatus.FAILED] == 1 and counts[Channel.TELEGRAM][DeliveryStatus.HELD] == 0
    with pytest.raises(ValueError):
        store.finish_delivery(n.notification_id, Channel.EMAIL, DeliveryStatus.QUEUED, NOON)


def test_bulk_claims_past_one_transaction(tables: dict[str, str]) -> None:
    """Given 150 notifications, 40 of them claimed already
    When all 150 are claimed in bulk
    Then exactly the 110 new ones are created and the source counts 150 queued."""
    notes = [note(user=f"u{i:03}") for i in range(150)]
    store.claim_deliveries([(n, Channel.IN_APP, DeliveryStatus.QUEUED) for n in notes[:40]], NOON)
    created = store.claim_deliveries([(n, Channel.IN_APP, DeliveryStatus.QUEUED) for n in notes], NOON)
    assert created == [False] * 40 + [True] * 110
    assert store.source_counts("src-1")[Channel.IN_APP][DeliveryStatus.QUEUED] == 150


def test_a_send_lease_creates_an_unrecorded_delivery_once_and_counts_gather(tables: dict[str, str]) -> None:
    """Given an email the planner queued without a record (counted QUEUED once) and a Telegram delivery held
    When the dispatcher leases the email twice, finishes it SENT with its count gathered, and leases both again
    Then the first lease creates the record QUEUED for the user and source, the second is refused while it runs,
    the held one is leased from HELD; after the gathered counts are bumped the source counts one sent email and
    none queued, and a finished delivery is never leased again."""
    n = note()
    store.count_queued({Channel.EMAIL.value: {n.source: 1}})
    until = NOON + timedelta(minutes=2)
    assert store.lease_delivery(n, Channel.EMAIL, NOON, until)
    record = store.delivery(n.notification_id, Channel.EMAIL)
    assert record is not None and (record.status, record.user_id, record.source) == (
        DeliveryStatus.QUEUED,
        n.user_id,
        n.source,
    )
    assert not store.lease_delivery(n, Channel.EMAIL, NOON + timedelta(minutes=1), until)
    assert store.claim_delivery(n, Channel.TELEGRAM, DeliveryStatus.HELD, NOON)
    assert store.lease_delivery(n, Channel.TELEGRAM, NOON, until)

    gathered: store.Counts = {}
    assert store.finish_delivery(n.notification_id, Channel.EMAIL, DeliveryStatus.SENT, NOON, "ses-1", gathered)
    assert gathered == {(n.source, Channel.EMAIL): {DeliveryStatus.SENT: 1, DeliveryStatus.QUEUED: -1}}
    assert store.source_counts(n.source)[Channel.EMAIL][DeliveryStatus.SENT] == 0  # not bumped yet
    store.bump_counts(gathered)
    counts = store.source_counts(n.source)[Channel.EMAIL]
    assert (counts[DeliveryStatus.SENT], counts[DeliveryStatus.QUEUED]) == (1, 0) and gathered == {}
    assert not store.lease_delivery(n, Channel.EMAIL, NOON + timedelta(hours=1), NOON + timedelta(hours=2))
