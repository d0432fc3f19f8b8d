"""A user's notification preferences: read (every type x channel switch with the defaults filled in) and changed
with optimistic locking on `version` (409 when someone else changed them first); `switch_off` for the
unsubscribe link, which has no version to send and so reads, changes and retries itself."""

from __future__ import annotations

from datetime import time

from arena import clock
from arena.auth import Principal
from arena.domain.notifications import Channel, NotificationType, Preferences
from arena.domain.notifications import DigestSettings as DigestRule
from arena.domain.notifications import QuietHours as QuietRule
from arena.errors import Conflict
from arena.models.notifications import (
    DigestSettings,
    NotificationPreferences,
    PreferencesUpdate,
    QuietHours,
)
from arena.store import notifications as store
from arena.store.notifications import PreferencesRecord

# The unsubscribe link retries a lost race this many times (a user changing their settings in the same second).
SWITCH_ATTEMPTS = 5


def _view(record: PreferencesRecord) -> NotificationPreferences:
    prefs = record.preferences
    quiet = prefs.quiet_hours
    return NotificationPreferences(
        channels=prefs.matrix(),
        quiet_hours=QuietHours(start=quiet.start, end=quiet.end, timezone=quiet.timezone) if quiet else None,
        digest=DigestSettings(enabled=prefs.digest.enabled, hour=prefs.digest.hour),
        locale=prefs.locale,
        version=record.version,
        updated_at=record.updated_at,
    )


def _minute(value: time) -> time:
    # Stored as HH:MM: seconds would be dropped on the way back, so they are dropped here for the answer to match.
    return value.replace(second=0, microsecond=0, tzinfo=None)


def read(user_id: str) -> NotificationPreferences:
    return _view(store.get_preferences(user_id))


def change(who: Principal, update: PreferencesUpdate) -> NotificationPreferences:
    """Save the user's preferences. The opt-in lists they maintain keep the caller's KYC level and account type
    (from the token's claims, as the join route reads them): the new-event audience is filtered by each event's
    eligibility rules with them, as of the user's last change of preferences."""
    user_id = who.user_id
    current = store.get_preferences(user_id).preferences
    quiet = update.quiet_hours
    wanted = Preferences(
        channels=current.with_matrix(update.channels).channels,
        quiet_hours=QuietRule(_minute(quiet.start), _minute(quiet.end), quiet.timezone) if quiet else None,
        digest=DigestRule(enabled=update.digest.enabled, hour=update.digest.hour),
        locale=update.locale,
    )
    return _view(
        store.put_preferences(
            user_id,
            wanted,
            update.version,
            clock.now(),
            kyc_level=who.kyc_level,
            account_type=who.account_type,
        )
    )


def switch_off(user_id: str, kind: NotificationType, channel: Channel) -> None:
    """Turn one type's channel off; nothing is written when it is off already (unsubscribing twice is one)."""
    for _ in range(SWITCH_ATTEMPTS):
        record = store.get_preferences(user_id)
        if not record.preferences.enabled(kind, channel):
            return
        wanted = record.preferences.with_matrix({kind: {channel: False}})
        try:
            store.put_preferences(user_id, wanted, record.version, clock.now())
            return
        except Conflict:
            continue
    raise Conflict("The preferences keep changing; open the link again.", code="version_conflict")
