"""Settings read once from the environment and validated.

Nothing here runs at import time: `settings()` is a cached factory, so tests set the environment first and
call `settings.cache_clear()` when they change it.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from arena.domain.rate_limits import DEFAULT_QUOTAS, Quota, QuotaName, format_quotas, parse_quotas
from arena.factories import cached


class RateLimitSettings(BaseModel):
    """Per-caller, per-route rate limits (arena/services/rate_limiting.py), from one JSON environment variable,
    RATE_LIMITS: {"table": ..., "quotas": "read=300/60 write=60/60 ...", "enabled": true}. `quotas` names only
    what differs from the defaults (arena/domain/rate_limits.py DEFAULT_QUOTAS); the template passes the stage's
    RateLimitQuotas parameter."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    table: str = Field(default="arena-rate-limits", min_length=3)
    quotas: str = Field(default=format_quotas(DEFAULT_QUOTAS), max_length=1_000)
    enabled: bool = True

    @field_validator("quotas")
    @classmethod
    def _quotas_parse(cls, value: str) -> str:
        parse_quotas(value)  # a typo in a stage's quotas fails at start, not on a request
        return value

    def quota(self, name: QuotaName) -> Quota:
        return _parsed_quotas(self.quotas)[name]


@functools.cache
def _parsed_quotas(text: str) -> dict[QuotaName, Quota]:
    return parse_quotas(text)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    events_table: str = Field(min_length=3)
    participants_table: str = Field(min_length=3)
    trades_table: str = Field(min_length=3)
    leaderboard_table: str = Field(min_length=3)
    audit_table: str = Field(min_length=3)
    ledger_table: str = Field(min_length=3)
    # Frozen final rankings (one item per ranked participant); optional so tools that never freeze need not set it.
    results_table: str = Field(default="arena-results", min_length=3)
    # Prize distribution runs, their batches and the user prizes they wrote; optional like the results table.
    distribution_table: str = Field(default="arena-distribution", min_length=3)
    stage: str = Field(default="dev", alias="ARENA_STAGE")
    # Lifecycle: the domain-event bus, the Scheduler group of the per-event one-shot schedules, the function those
    # schedules invoke and the role Scheduler assumes to invoke it. The defaults name the local stack's resources.
    event_bus_name: str = Field(default="arena-dev", min_length=1)
    # The bus's ARN: the target of the per-event reminder schedules (Scheduler's EventBridge target names an ARN).
    event_bus_arn: str = Field(default="arn:aws:events:us-east-1:123456789012:event-bus/arena-dev", min_length=20)
    schedule_group: str = Field(default="arena-dev", min_length=1)
    lifecycle_function_arn: str = Field(
        default="arn:aws:lambda:us-east-1:123456789012:function:RunTransitionFunction", min_length=20
    )
    scheduler_role_arn: str = Field(default="arn:aws:iam::123456789012:role/SchedulerRole", min_length=20)
    # Where a one-shot schedule sends what it still cannot deliver after its retries (DeliveryDLQ, alarmed).
    schedule_dead_letter_arn: str | None = Field(default=None, min_length=20)
    # The prize-distribution workflow (statemachine/distribution.asl.json). Unset: a distribution runs its steps in
    # the request that starts it (tests, tools).
    distribution_state_machine_arn: str | None = Field(default=None, min_length=20)
    # How long the per-trade dedupe records outlive their event (DynamoDB TTL).
    trade_retention_days: int = Field(default=30, ge=1, le=3650)
    # Analytics (arena/store/analytics.py): rollup buckets, user days and export jobs; optional like the results
    # table so tools that never touch analytics need not name it.
    analytics_table: str = Field(default="arena-analytics", min_length=3)
    # Notifications: inboxes, preferences, channel links, devices, delivery records (arena/domain/notifications.py).
    notifications_table: str = Field(default="arena-notifications", min_length=3)
    # The notification pipeline's queues (stacks/notifications.yaml): the planner's own page queue and one queue per
    # channel. Unset: that step cannot run (a function gets only the URLs it sends to).
    notifications_plan_queue_url: str | None = Field(default=None, min_length=8)
    notifications_in_app_queue_url: str | None = Field(default=None, min_length=8)
    notifications_email_queue_url: str | None = Field(default=None, min_length=8)
    notifications_discord_queue_url: str | None = Field(default=None, min_length=8)
    notifications_telegram_queue_url: str | None = Field(default=None, min_length=8)
    notifications_push_queue_url: str | None = Field(default=None, min_length=8)
    # Rank changes: at most one per user per event per this many minutes (the rest are dropped, not queued).
    rank_change_throttle_minutes: int = Field(default=30, ge=0, le=1_440)
    # How many recipients one planner step plans (one "plan page" message of the PlanQueue), and how many plan pages
    # one invocation lists before it hands the rest of the audience on as a "walk" message.
    notifications_page_size: int = Field(default=1_000, ge=1, le=1_000)
    notifications_pages_per_walk: int = Field(default=100, ge=1, le=10_000)
    # The in-app dispatcher learns who is connected (to push live) at most this often per warm container.
    notifications_presence_seconds: float = Field(default=2.0, ge=0, le=60)
    # External notification channels (arena/adapters/email.py, discord.py, telegram.py, push.py). The provider
    # bases default to the real APIs; the local stack points them at its fakes (local/chat_providers.py).
    discord_api_base: str = Field(default="https://discord.com/api", min_length=8)
    telegram_api_base: str = Field(default="https://api.telegram.org", min_length=8)
    # The Telegram bot's token (from @BotFather; a NoEcho template parameter). Unset: Telegram is not configured.
    telegram_bot_token: str = Field(default="", max_length=200)
    # The SES identity notifications are sent from (verified in SES; the local stack verifies it in moto).
    notifications_email_sender: str = Field(default="Arena <notifications@arena.local>", min_length=3)
    # Where people reach Arena: the unsubscribe links in emails point at <public_base_url>/api/notifications/...
    public_base_url: str = Field(default="http://127.0.0.1:3000", min_length=8)
    # The HMAC key of unsubscribe tokens (arena/domain/unsubscribe.py); the functions that sign and the one that
    # verifies must share it. Unset: no unsubscribe token can be made or read.
    notifications_signing_secret: str = Field(default="", max_length=512)
    # SNS platform applications of mobile push (APNs, FCM); unset: that platform is not configured.
    push_ios_application_arn: str = Field(default="", max_length=256)
    push_android_application_arn: str = Field(default="", max_length=256)
    # Provider calls: a connect/read timeout, and Telegram's pacing (about 30 messages a second per bot, one a
    # second per chat): each dispatcher invocation sends at most this many a second; the SQS event source's
    # MaximumConcurrency bounds how many invocations run at once.
    provider_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    telegram_messages_per_second: float = Field(default=15.0, gt=0, le=30)
    telegram_chat_interval_seconds: float = Field(default=1.0, ge=0, le=60)
    # Event chat (arena/store/chat.py): messages, reactions, pins, settings, word filters, mutes, bans, reports.
    chat_table: str = Field(default="arena-chat", min_length=3)
    # Community (arena/store/community.py): profiles, handles, follows, referrals.
    community_table: str = Field(default="arena-community", min_length=3)
    # The HMAC key of anonymised names, handles and referral codes (arena/domain/community.py). Unset: the
    # community routes and share cards refuse (404 `feature_disabled`: the feature is not set up here).
    community_secret: str = Field(default="", max_length=512)
    # Messages, their reactions and reports expire this many days after they were posted (DynamoDB TTL).
    chat_retention_days: int = Field(default=90, ge=1, le=3650)
    # `chat_presence` pushes of one event: at most one per this many seconds (coalesced).
    chat_presence_interval_seconds: float = Field(default=2.0, ge=0, le=60)
    # How long the per-trade feed records (one per valid trade, the rollups' input) stay (DynamoDB TTL), counted
    # from executed_at: longer than the stream's 24 hours and the exchange's redelivery horizon.
    feed_record_retention_days: int = Field(default=8, ge=1, le=365)
    # Minute buckets are for live charts and recent performance; hours, days and totals are kept.
    analytics_minute_retention_days: int = Field(default=35, ge=1, le=3650)
    # Trades executed before end_at are still accepted for this long after it (the exchange's feed lags).
    ingest_grace_seconds: int = Field(default=300, ge=0, le=86_400)
    # A trade stamped further than this in the future is refused: the exchange's clock is wrong.
    max_clock_skew_seconds: int = Field(default=300, ge=0, le=3_600)
    max_trades_per_call: int = Field(default=500, ge=1, le=5_000)
    # Leaderboard reads: how long a Lambda keeps the current snapshot head and the event before re-reading.
    leaderboard_cache_seconds: float = Field(default=1.0, ge=0, le=60)
    # Superseded snapshot items (old buckets, old index copies) expire this long after they stop being current.
    snapshot_retention_seconds: int = Field(default=3_600, ge=60, le=86_400)
    # Prize claims (services/claims/): claim history, account flags, the review queue and velocity counters;
    # and the Powertools idempotency records of POST /api/events/prizes/{prizeId}/claim.
    claims_table: str = Field(default="arena-claims", min_length=3)
    claim_idempotency_table: str = Field(default="arena-claim-idempotency", min_length=3)
    # Velocity: at most this many claim attempts per user per window (fixed windows, counted atomically).
    claim_velocity_limit: int = Field(default=10, ge=1, le=100_000)
    claim_velocity_window_seconds: int = Field(default=60, ge=1, le=86_400)
    # Arena's own fraud checks send a claim to review when one counterparty holds at least this share of the
    # user's volume in the event, or when at least this share of it (and this many trades) came in the last
    # `claim_burst_window_seconds` before the end.
    claim_counterparty_share: Decimal = Field(default=Decimal("0.5"), gt=0, le=1)
    claim_burst_window_seconds: int = Field(default=600, ge=1, le=86_400)
    claim_burst_share: Decimal = Field(default=Decimal("0.5"), gt=0, le=1)
    claim_burst_min_trades: int = Field(default=5, ge=1, le=100_000)
    # Real-time (WebSocket API): connections and subscriptions, the @connections endpoint of the API's stage
    # (https://<api>.execute-api.<region>.amazonaws.com/<stage>; the local stack's management port locally),
    # and the token check $connect makes itself (issuer, comma-separated audiences; JWKS at issuer + path).
    connections_table: str = Field(default="arena-connections", min_length=3)
    connections_endpoint: str = Field(default="http://127.0.0.1:3002", min_length=8)
    jwt_issuer: str = Field(default="http://127.0.0.1:3000/local", min_length=8)
    jwt_audiences: str = Field(default="arena-local-web,arena-local-trade-feed")
    # The Cognito user pool whose groups are the roles (adapters/identity.py: role management). Unset: no
    # function may change roles; the local stack sets it to its moto pool.
    user_pool_id: str = Field(default="", max_length=55)
    # Leaderboard pushes: at most one per event per this many seconds, the top rows they cover.
    realtime_push_interval_seconds: float = Field(default=1.0, ge=0, le=60)
    realtime_top_n: int = Field(default=20, ge=1, le=100)
    # Trade activity: at most this many anonymised trades per event per stream batch.
    realtime_trade_sample: int = Field(default=5, ge=0, le=50)
    # Parallel @connections posts per invocation.
    realtime_post_workers: int = Field(default=32, ge=1, le=256)
    # A broadcast to more connections than this is split into shards of this size, queued on FANOUT_QUEUE_URL and
    # posted by parallel sender invocations (no queue configured: the pushing function posts them all itself).
    realtime_shard_size: int = Field(default=2_000, ge=1, le=5_000)
    fanout_queue_url: str = Field(default="")
    # Feature flags (arena/flags.py): the AppConfig application, environment and configuration profile (ids or
    # names) holding the Powertools flags document, and how long a function keeps a fetched document before asking
    # AppConfig again. Unset application: no store, every flag answers its caller's default.
    feature_flags_application: str = Field(default="")
    feature_flags_environment: str = Field(default="")
    feature_flags_profile: str = Field(default="")
    feature_flags_max_age_seconds: int = Field(default=45, ge=0, le=3_600)
    # Analytics archive and exports: the Firehose delivery stream that archives trades for Athena
    # (adapters/archive.py) and the S3 bucket it fills, which also holds export files under exports/.
    archive_stream: str = Field(default="arena-archive", min_length=1, max_length=64)
    archive_bucket: str = Field(default="arena-archive", min_length=3, max_length=63)
    # The export worker (RunExportFunction's live alias in AWS) POST /api/events/analytics/export invokes
    # asynchronously, and how long an export's download links work.
    run_export_function: str = Field(default="RunExportFunction", min_length=1, max_length=200)
    export_link_seconds: int = Field(default=3_600, ge=60, le=7 * 86_400)
    # At most this many events in one export job.
    export_max_events: int = Field(default=20, ge=1, le=200)
    # Rate limits: the table, the quotas, on or off (RateLimitSettings above).
    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)


@cached
def settings() -> Settings:
    return Settings()  # type: ignore[call-arg]
