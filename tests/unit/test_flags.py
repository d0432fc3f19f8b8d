"""arena.flags without AppConfig: the evaluation context, the rollout bucket, the rule builders and the rules'
meaning, evaluated by Powertools' FeatureFlags over an in-memory store."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from arena import flags
from arena.auth import Principal, Role
from arena.errors import NotFound
from arena.flags import (
    ArenaFlags,
    Flag,
    evaluation_context,
    events_rule,
    percentage_rule,
    role_rule,
    rollout_bucket,
    users_rule,
)
from aws_lambda_powertools.utilities.feature_flags import SchemaValidator, StoreProvider
from aws_lambda_powertools.utilities.feature_flags.exceptions import ConfigurationStoreError

ADMIN = Principal("boss", frozenset({Role.ADMIN, Role.USER}), kyc_level=2, account_type="pro")
TRADER = Principal("trader-01", frozenset({Role.USER}))


class MemoryStore(StoreProvider):
    """A flags document held in memory (or a store that fails, like an unreachable AppConfig)."""

    def __init__(self, document: dict[str, Any] | None, fails: bool = False):
        self.document = document or {}
        self.fails = fails

    @property
    def get_raw_configuration(self) -> dict[str, Any]:
        if self.fails:
            raise ConfigurationStoreError("AppConfig is unreachable")
        return self.document

    def get_configuration(self) -> dict[str, Any]:
        return self.get_raw_configuration


def flags_with(**document: dict[str, Any]) -> ArenaFlags:
    return ArenaFlags(MemoryStore(document), stage="dev")


# ------------------------------------------------------------------------------------------- rollout bucket


def test_bucket_is_stable_and_in_range() -> None:
    """Given a flag and a user When the bucket is computed twice (and a known value) Then the same number, 0-99."""
    assert rollout_bucket("event_chat", "alice") == rollout_bucket("event_chat", "alice")
    # sha256("event_chat:alice")[:8] as a big-endian integer, mod 100: pinned so a change of hash moves no one.
    assert rollout_bucket("event_chat", "alice") == 89
    assert all(0 <= rollout_bucket("share_cards", f"user-{n}") < 100 for n in range(1_000))


def test_buckets_spread_evenly_over_users() -> None:
    """Given 10,000 users When bucketed for one flag Then every bucket holds about 1% of them."""
    counts = Counter(rollout_bucket("notifications_email", f"user-{n:05d}") for n in range(10_000))
    assert set(counts) == set(range(100))
    assert min(counts.values()) >= 60 and max(counts.values()) <= 140  # 100 expected, sd 10


def test_buckets_are_salted_by_flag() -> None:
    """Given the 10% of users in one flag's rollout When another flag rolls out to 10% Then mostly other users."""
    users = [f"user-{n:04d}" for n in range(1_000)]
    email = {user for user in users if rollout_bucket("notifications_email", user) < 10}
    chat = {user for user in users if rollout_bucket("event_chat", user) < 10}
    assert len(email & chat) < 30  # independent: about 10 expected; the same salt would give ~100


# ------------------------------------------------------------------------------------------- context


def test_context_from_principal_and_event() -> None:
    """Given an admin in an event When the context is built Then it carries who, roles, event, stage and bucket."""
    context = evaluation_context("event_chat", ADMIN, "evt-1", "prod")
    assert context == {
        "stage": "prod",
        "user_id": "boss",
        "roles": ["admin", "user"],
        "kyc_level": 2,
        "account_type": "pro",
        "rollout_bucket": rollout_bucket("event_chat", "boss"),
        "event_id": "evt-1",
    }


def test_anonymous_context_has_no_user_keys() -> None:
    """Given no principal and no event When the context is built Then no user keys at all (never a guessed bucket)."""
    assert evaluation_context("event_chat") == {}
    assert evaluation_context("event_chat", None, "evt-1", region="eu") == {"event_id": "evt-1", "region": "eu"}


# ------------------------------------------------------------------------------------------- rule builders


def test_rule_shapes() -> None:
    """Given the builders When rules are built Then the documented Powertools shapes, which its schema accepts."""
    assert role_rule("admin") == {
        "when_match": True,
        "conditions": [{"action": "ANY_IN_VALUE", "key": "roles", "value": ["admin"]}],
    }
    assert events_rule("evt-1", "evt-2") == {
        "when_match": True,
        "conditions": [{"action": "KEY_IN_VALUE", "key": "event_id", "value": ["evt-1", "evt-2"]}],
    }
    assert users_rule("alice")["conditions"] == [{"action": "KEY_IN_VALUE", "key": "user_id", "value": ["alice"]}]
    assert percentage_rule(10) == {
        "when_match": True,
        "conditions": [
            {"action": "MODULO_RANGE", "key": "rollout_bucket", "value": {"BASE": 100, "START": 0, "END": 9}}
        ],
    }
    rules = {"a": role_rule("admin"), "b": events_rule("e"), "c": users_rule("u"), "d": percentage_rule(100)}
    SchemaValidator({"x": {"default": False, "rules": rules}}).validate()


@pytest.mark.parametrize("percent", [0, 101, -5, True, 12.5])
def test_percentage_out_of_range_is_refused(percent: Any) -> None:
    """Given a percentage outside 1-100 (or not a whole number) When a rule is built Then ValueError."""
    with pytest.raises(ValueError):
        percentage_rule(percent)


def test_builders_need_something_to_match() -> None:
    """Given no roles, events or users When a rule is built Then ValueError (it could never match)."""
    for builder in (role_rule, events_rule, users_rule):
        with pytest.raises(ValueError):
            builder()


# ------------------------------------------------------------------------------------------- evaluation


def test_off_by_default_and_unknown_flags_answer_the_callers_default() -> None:
    """Given a flag off by default When anyone asks Then off; a flag absent from the document answers `default`."""
    store = flags_with(event_chat={"default": False})
    assert store.is_enabled(Flag.EVENT_CHAT, ADMIN, "evt-1") is False
    assert store.is_enabled("not_in_document", TRADER) is False
    assert store.is_enabled("not_in_document", TRADER, default=True) is True


def test_admins_only() -> None:
    """Given an admins rule When an admin, a trader and an anonymous caller ask Then on for the admin alone."""
    store = flags_with(event_chat={"default": False, "rules": {"admins": role_rule("admin")}})
    assert store.is_enabled(Flag.EVENT_CHAT, ADMIN) is True
    assert store.is_enabled(Flag.EVENT_CHAT, TRADER) is False
    assert store.is_enabled(Flag.EVENT_CHAT) is False


def test_named_events() -> None:
    """Given an events rule When asked in and out of the named event Then on only inside it."""
    store = flags_with(share_cards={"default": False, "rules": {"launch": events_rule("evt-launch")}})
    assert store.is_enabled(Flag.SHARE_CARDS, TRADER, event_id="evt-launch") is True
    assert store.is_enabled(Flag.SHARE_CARDS, TRADER, event_id="evt-other") is False
    assert store.is_enabled(Flag.SHARE_CARDS, TRADER) is False


def test_percentage_of_users_matches_the_bucket() -> None:
    """Given a 25% rule When 1,000 users ask Then exactly those with a bucket below 25, and no anonymous caller."""
    store = flags_with(notifications_email={"default": False, "rules": {"rollout": percentage_rule(25)}})
    users = [Principal(f"user-{n:04d}", frozenset({Role.USER})) for n in range(1_000)]
    enabled = {user.user_id for user in users if store.is_enabled(Flag.NOTIFICATIONS_EMAIL, user)}
    expected = {user.user_id for user in users if rollout_bucket("notifications_email", user.user_id) < 25}
    assert enabled == expected
    assert 200 <= len(enabled) <= 300
    assert store.is_enabled(Flag.NOTIFICATIONS_EMAIL) is False


def test_conditions_of_one_rule_combine() -> None:
    """Given one rule 'admins in evt-1' When an admin asks in evt-1 and in evt-2 Then on only in evt-1."""
    rule = {"when_match": True, "conditions": role_rule("admin")["conditions"] + events_rule("evt-1")["conditions"]}
    store = flags_with(event_chat={"default": False, "rules": {"admins in evt-1": rule}})
    assert store.is_enabled(Flag.EVENT_CHAT, ADMIN, "evt-1") is True
    assert store.is_enabled(Flag.EVENT_CHAT, ADMIN, "evt-2") is False
    assert store.is_enabled(Flag.EVENT_CHAT, TRADER, "evt-1") is False


def test_unreachable_store_and_invalid_document_answer_the_default() -> None:
    """Given a store that fails, or a document Powertools refuses When asked Then the caller's default, no error."""
    failing = ArenaFlags(MemoryStore(None, fails=True))
    assert failing.is_enabled(Flag.EVENT_CHAT, ADMIN) is False
    assert failing.is_enabled(Flag.EVENT_CHAT, ADMIN, default=True) is True
    invalid = flags_with(event_chat={"default": "yes"})
    assert invalid.is_enabled(Flag.EVENT_CHAT, ADMIN) is False


def test_no_store_configured_answers_the_default() -> None:
    """Given no AppConfig application in the settings When asked Then the caller's default."""
    assert flags.store_from_settings({"feature_flags_application": ""}) is None
    assert ArenaFlags(None).is_enabled(Flag.EVENT_CHAT, ADMIN) is False
    with pytest.raises(ValueError):
        flags.store_from_settings({"feature_flags_application": "app", "feature_flags_environment": "dev"})


def test_enabled_and_require() -> None:
    """Given chat on for admins When listing and requiring Then the admin sees chat; the trader gets 404."""
    store = flags_with(
        event_chat={"default": False, "rules": {"admins": role_rule("admin")}}, share_cards={"default": True}
    )
    assert store.enabled(ADMIN) == ["event_chat", "share_cards"]
    assert store.enabled(TRADER) == ["share_cards"]
    store.require(Flag.EVENT_CHAT, ADMIN)
    with pytest.raises(NotFound) as refused:
        store.require(Flag.EVENT_CHAT, TRADER)
    assert refused.value.code == "feature_disabled"
    assert refused.value.details == {"feature": "event_chat"}
