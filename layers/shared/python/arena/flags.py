"""Feature flags: Powertools Feature Flags on AWS AppConfig, evaluated with the caller's context.

The flags document lives in one place: the `Content` of `FeatureFlagsVersion` in template.yaml (a freeform JSON
hosted configuration in Powertools' schema). AWS serves it through AppConfig's data API; the local stack serves
the same document through the same API (local/appconfig.py), so this module runs one code path everywhere.
A function keeps a fetched document for FEATURE_FLAGS_MAX_AGE_SECONDS (45 s in AWS, 1 s locally).

Every evaluation gets this context (a key is present only when known; a missing key never matches a condition):

    user_id         the principal's user id
    roles           the principal's roles, sorted: ["admin", "user"]
    kyc_level       the principal's KYC level (int)
    account_type    the principal's account type, when the token carries one
    event_id        the event the request is about
    stage           dev or prod
    rollout_bucket  0-99: sha256("<flag>:<user_id>") read as an integer, mod 100. Stable for a user and a flag, so
                    a user stays in or out of a rollout as it grows; salted by the flag, so a 10% rollout of one
                    flag does not pick the same users as a 10% rollout of another.

A flag is `{"default": false, "rules": {...}}`; a rule whose conditions all match (AND) answers its `when_match`,
the first matching rule wins (rules are OR-ed), no match answers `default`. The rule shapes Arena uses (the
builders below write them):

    admins only (any of the roles):   {"when_match": true, "conditions": [
                                         {"action": "ANY_IN_VALUE", "key": "roles", "value": ["admin"]}]}
    named events:                     {"when_match": true, "conditions": [
                                         {"action": "KEY_IN_VALUE", "key": "event_id", "value": ["evt-1"]}]}
    named users:                      {"when_match": true, "conditions": [
                                         {"action": "KEY_IN_VALUE", "key": "user_id", "value": ["alice"]}]}
    10% of users:                     {"when_match": true, "conditions": [
                                         {"action": "MODULO_RANGE", "key": "rollout_bucket",
                                          "value": {"BASE": 100, "START": 0, "END": 9}}]}

Growing a rollout means raising END (users in 0-9 stay in at 0-24). Conditions of one rule combine: 10% of the
users of one event is one rule with both conditions.

Use: `is_enabled(Flag.EVENT_CHAT, principal, event_id=...)`, or `require(...)`, which answers 404
`feature_disabled` when the flag is off for the caller. An unreachable store or a document that does not validate
answers the caller's default (off), never an error.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

import boto3
from aws_lambda_powertools.utilities.feature_flags import AppConfigStore, FeatureFlags, StoreProvider
from aws_lambda_powertools.utilities.feature_flags.exceptions import SchemaValidationError
from botocore.config import Config

from arena.auth import Principal
from arena.config import settings
from arena.errors import NotFound
from arena.factories import cached
from arena.observability import logger


class Flag(StrEnum):
    """Every flag the code evaluates; template.yaml's flags document has exactly these (a test checks both ways)."""

    NOTIFICATIONS_EMAIL = "notifications_email"
    NOTIFICATIONS_DISCORD = "notifications_discord"
    NOTIFICATIONS_TELEGRAM = "notifications_telegram"
    EVENT_CHAT = "event_chat"
    SHARE_CARDS = "share_cards"
    PUBLIC_PROFILES = "public_profiles"
    # On for a caller: the rate limits never refuse them (arena/services/rate_limiting.py); default on: for no one.
    RATE_LIMIT_EXEMPT = "rate_limit_exempt"


ROLLOUT_BUCKETS = 100
BUCKET_KEY = "rollout_bucket"
# An AppConfig outage must not hold a request: fail fast, then the flag answers its default.
_STORE_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"})


# ---------------------------------------------------------------------------------------------- context (pure)


def rollout_bucket(flag: str, user_id: str) -> int:
    """The user's bucket (0-99) for one flag: the same answer for the same (flag, user), on every machine."""
    digest = hashlib.sha256(f"{flag}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % ROLLOUT_BUCKETS


def evaluation_context(
    flag: str,
    principal: Principal | None = None,
    event_id: str | None = None,
    stage: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The context a flag is evaluated with (the keys are listed in the module docstring); `extra` adds keys."""
    context: dict[str, Any] = {}
    if stage:
        context["stage"] = stage
    if principal is not None:
        context["user_id"] = principal.user_id
        context["roles"] = sorted(str(role) for role in principal.roles)
        context["kyc_level"] = principal.kyc_level
        if principal.account_type:
            context["account_type"] = principal.account_type
        context[BUCKET_KEY] = rollout_bucket(flag, principal.user_id)
    if event_id:
        context["event_id"] = event_id
    context.update(extra)
    return context


# ---------------------------------------------------------------------------------------------- rule builders


def role_rule(*roles: str, when_match: bool = True) -> dict[str, Any]:
    """On for callers holding any of `roles` (admins only: `role_rule("admin")`)."""
    if not roles:
        raise ValueError("name at least one role")
    condition = {"action": "ANY_IN_VALUE", "key": "roles", "value": [str(role) for role in roles]}
    return {"when_match": when_match, "conditions": [condition]}


def events_rule(*event_ids: str, when_match: bool = True) -> dict[str, Any]:
    """On in the named events."""
    if not event_ids:
        raise ValueError("name at least one event")
    condition = {"action": "KEY_IN_VALUE", "key": "event_id", "value": list(event_ids)}
    return {"when_match": when_match, "conditions": [condition]}


def users_rule(*user_ids: str, when_match: bool = True) -> dict[str, Any]:
    """On for the named users."""
    if not user_ids:
        raise ValueError("name at least one user")
    condition = {"action": "KEY_IN_VALUE", "key": "user_id", "value": list(user_ids)}
    return {"when_match": when_match, "conditions": [condition]}


def percentage_rule(percent: int, when_match: bool = True) -> dict[str, Any]:
    """On for `percent`% of users (1-100): those whose rollout bucket is below it."""
    if not isinstance(percent, int) or isinstance(percent, bool) or not 1 <= percent <= ROLLOUT_BUCKETS:
        raise ValueError("percent must be an integer from 1 to 100")
    value = {"BASE": ROLLOUT_BUCKETS, "START": 0, "END": percent - 1}
    return {"when_match": when_match, "conditions": [{"action": "MODULO_RANGE", "key": BUCKET_KEY, "value": value}]}


# ---------------------------------------------------------------------------------------------- evaluation


class ArenaFlags:
    """Evaluates flags against one store (None: no store configured, every flag answers its default).

    Evaluations are serialised: the store's AppConfig session hands out one token per poll, and the local stack
    runs many invocations in one process (in Lambda one invocation at a time holds it anyway)."""

    def __init__(self, store: StoreProvider | None, stage: str | None = None):
        self.store = store
        self.stage = stage
        self._flags = None if store is None else FeatureFlags(store=store, logger=logger)
        self._lock = threading.Lock()

    def is_enabled(
        self,
        name: str,
        principal: Principal | None = None,
        event_id: str | None = None,
        default: bool = False,
        **context: Any,
    ) -> bool:
        if self._flags is None:
            return default
        evaluated = evaluation_context(str(name), principal, event_id, self.stage, **context)
        with self._lock:
            try:
                return bool(self._flags.evaluate(name=str(name), context=evaluated, default=default))
            except SchemaValidationError:
                logger.exception("the feature flags document does not validate; answering the default", flag=name)
                return default

    def enabled(
        self, principal: Principal | None = None, event_id: str | None = None, flags: Iterable[str] = tuple(Flag)
    ) -> list[str]:
        """The flags on for this caller (e.g. for a client deciding what to show)."""
        return [str(flag) for flag in flags if self.is_enabled(flag, principal, event_id)]

    def require(self, name: str, principal: Principal | None = None, event_id: str | None = None) -> None:
        """Raise NotFound (404 `feature_disabled`) unless the flag is on for this caller: a feature behind a flag
        does not exist for those it is off for."""
        if not self.is_enabled(name, principal, event_id):
            raise NotFound("This feature is not available.", code="feature_disabled", details={"feature": str(name)})


def store_from_settings(config: Mapping[str, Any] | None = None) -> AppConfigStore | None:
    """The AppConfig store the settings name, or None when no application is set."""
    values = dict(config) if config is not None else settings().model_dump()
    application = values.get("feature_flags_application")
    if not application:
        return None
    environment, profile = values.get("feature_flags_environment"), values.get("feature_flags_profile")
    if not environment or not profile:
        raise ValueError("with FEATURE_FLAGS_APPLICATION set, FEATURE_FLAGS_ENVIRONMENT and _PROFILE must be set too")
    return AppConfigStore(
        environment=environment,
        application=application,
        name=profile,
        max_age=int(values.get("feature_flags_max_age_seconds", 45)),
        # A client of our own: AppConfigStore hands a boto_config on through a parameter Powertools deprecated.
        boto3_client=boto3.client("appconfigdata", config=_STORE_CLIENT_CONFIG),
        logger=logger,
    )


@cached
def feature_flags() -> ArenaFlags:
    """The process's flags, built once from the settings (tests call `feature_flags.cache_clear()`)."""
    return ArenaFlags(store_from_settings(), stage=settings().stage)


def is_enabled(
    name: str, principal: Principal | None = None, event_id: str | None = None, default: bool = False
) -> bool:
    """Whether flag `name` is on for this caller (in this event); `default` when the store cannot say."""
    return feature_flags().is_enabled(name, principal, event_id, default)


def require(name: str, principal: Principal | None = None, event_id: str | None = None) -> None:
    feature_flags().require(name, principal, event_id)
